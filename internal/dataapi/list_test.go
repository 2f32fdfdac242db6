package dataapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// seedOrders fills the shop with two customers and five orders whose qty
// (1 to 5) names them, and returns the customers' ids.
func seedOrders(t testing.TB, tt *tenant) (c1, c2 string) {
	t.Helper()
	status, body := tt.do(t, "POST", "/api/apps/shop/datatables/customers/data/", tt.owner,
		`[{"name":"Ann","email":"ann@x.test","tier":"gold"},{"name":"Bob","email":"bob@x.test","tier":"silver"}]`)
	var cs []map[string]any
	if status != 201 {
		t.Fatalf("customers: %d %s", status, body)
	}
	data(t, body, &cs)
	c1, c2 = fmt.Sprint(cs[0]["id"]), fmt.Sprint(cs[1]["id"])
	orders := `[
	{"qty":1,"note":"red apples fresh","total":10.50,"paid":true,"placed":"2024-01-01","at":"2024-01-01T10:00:00Z","tm":"09:00",
	 "ref":"aaaaaaaa-0000-4000-8000-000000000001","meta":{"color":"red","size":1},"tags":["a","b"],"customer_id":` + c1 + `},
	{"qty":2,"note":"Green pears","total":20,"paid":false,"placed":"2024-02-01","at":"2024-02-01T10:00:00Z","tm":"12:30:00",
	 "meta":{"color":"green"},"tags":["b","c"],"customer_id":` + c1 + `},
	{"qty":3,"note":"100% juice_box","total":"30","paid":true,"placed":"2024-03-01","at":"2024-03-01T10:00:00+02:00","tm":"18:00",
	 "tags":[1,2],"customer_id":` + c2 + `},
	{"qty":4,"note":null,"total":null,"paid":null,"tags":[],"customer_id":` + c2 + `},
	{"qty":5,"note":"apple pie","total":50,"paid":false,"placed":"2024-05-01","tags":["a"]}]`
	if status, body := tt.do(t, "POST", "/api/apps/shop/datatables/orders/data/", tt.owner, orders); status != 201 {
		t.Fatalf("orders: %d %s", status, body)
	}
	return c1, c2
}

// qtys lists the qty of each row of a list answer, comma-separated.
func qtys(t testing.TB, body string) string {
	t.Helper()
	var env struct{ Data []map[string]any }
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, r := range env.Data {
		out = append(out, fmt.Sprint(r["qty"]))
	}
	return strings.Join(out, ",")
}

// TestFilters runs every operator family of the contract, the filter
// trees in both forms, repeated keys and comma lists over the orders, and
// the 400 of each kind of bad filter.
func TestFilters(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	c1, _ := seedOrders(t, tt)
	q := url.QueryEscape
	for _, tc := range []struct{ query, want string }{
		{"qty=2", "2"}, {"qty__eq=2", "2"}, {"qty__ne=2", "1,3,4,5"},
		{"total__gt=20", "3,5"}, {"total__gte=20", "2,3,5"}, {"total__lt=20", "1"}, {"total__lte=20.0", "1,2"},
		{"qty__in=1,3", "1,3"}, {"qty__in=" + q("1,3"), "1,3"}, {"qty__nin=1,3", "2,4,5"},
		{"note__ina=" + q("GREEN PEARS,apple pie"), "2,5"}, {"note__nina=" + q("green pears"), "1,3,4,5"},
		{"note__contains=APPLE", "1,5"}, {"note__ncontains=apple", "2,3,4"},
		{"note__containss=green", ""}, {"note__containss=Green", "2"}, {"note__ncontainss=Green", "1,3,4,5"},
		{"note__icontains=PEARS", "2"}, {"note__nicontains=pears", "1,3,4,5"},
		{"note__startswith=RED", "1"}, {"note__nstartswith=red", "2,3,4,5"},
		{"note__startswiths=RED", ""}, {"note__startswiths=red", "1"}, {"note__nstartswiths=red", "2,3,4,5"},
		{"note__endswith=PIE", "5"}, {"note__nendswith=pie", "1,2,3,4"},
		{"note__endswiths=PIE", ""}, {"note__endswiths=pie", "5"}, {"note__nendswiths=pie", "1,2,3,4"},
		{"note__contains=" + q("100%"), "3"}, {"note__contains=_", "3"},
		{"note__like=" + q("%apple%"), "1,5"}, {"note__ilike=" + q("%APPLE%"), "1,5"}, {"note__like=" + q("%APPLE%"), ""},
		{"note__search=apple", "1,5"},
		{"total__between=10,30", "1,2,3"}, {"total__nbetween=10,30", "4,5"},
		{"note__null=true", "4"}, {"note__isnull=true", "4"}, {"note__null=false", "1,2,3,5"}, {"note__nnull=true", "1,2,3,5"},
		{"note__isnull=True", "4"},
		{"paid=true", "1,3"}, {"paid=True", "1,3"}, {"paid=false", "2,5"}, {"paid__ne=true", "2,4,5"},
		{"placed__gte=2024-02-01", "2,3,5"}, {"at__lt=" + q("2024-01-15T00:00:00Z"), "1"}, {"at__gte=2024-03-01", "3"},
		{"tm__gt=12:00", "2,3"}, {"ref=AAAAAAAA-0000-4000-8000-000000000001", "1"},
		{"customer_id=" + c1, "1,2"},
		{"tags__acontains=a", "1,5"}, {"tags__acontains=a,b", "1"}, {"tags__nacontains=a", "2,3,4"},
		{"tags__acontainedby=a,b", "1,4,5"}, {"tags__nacontainedby=a,b", "2,3"},
		{"tags__aoverlap=a,c", "1,2,5"}, {"tags__naoverlap=a,c", "3,4"},
		{"tags__aelement=b", "1,2"}, {"tags__naelement=b", "3,4,5"}, {"tags__acontains=1", "3"},
		{"tags__acontains=" + q(`["a","b"]`), "1"},
		{"meta__acontains=" + q(`{"color":"red"}`), "1"}, {"meta=" + q(`{"color":"green"}`), "2"},
		{"qty__ne=1&qty__ne=2", "3,4,5"}, {"qty__gte=2&qty__lte=3", "2,3"},
		{"filters=" + q(`{"or":[{"qty":1},{"qty__gte":5}]}`), "1,5"},
		{"filters=" + q(`{"and":[{"paid":true},{"or":[{"qty":1},{"qty":3}]}]}`), "1,3"},
		{"filters=" + q(`{"not":{"paid":true}}`), "2,4,5"},
		{"filters=" + q(`{"not":[{"paid":true},{"qty":1}]}`), "2,3,4,5"},
		{"filters=" + q(`{"or":[{"qty":1},{"qty":2}]}`) + "&paid=true", "1"},
		{"filters=" + q(`[{"operator":"and","value":[{"field":"qty","operator":"gte","value":2},`+
			`{"operator":"or","value":[{"field":"note","operator":"contains","value":"pear"},{"field":"qty","operator":"eq","value":5}]}]}]`), "2,5"},
		{"filters=" + q(`[{"operator":"or","value":[{"field":"note","operator":"in","value":["a,b","apple pie"]}]}]`), "5"},
		{"filters=" + q(`[{"operator":"or","value":[{"field":"qty","operator":"in","value":[1,2]},{"field":"paid","operator":"eq","value":true}]}]`), "1,2,3"},
		{"filters=" + q(`{"note":null}`), "4"}, {"filters=" + q(`{"tags__acontains":["a","b"]}`), "1"},
		{"filters=" + q(`[{"operator":"or","value":[{"field":"qty","operator":"eq","value":1}]}]`) +
			"&filters=" + q(`{"qty__lte":2}`), "1"},
		{"filters=", "1,2,3,4,5"},
	} {
		status, body := tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?"+tc.query+"&ordering=qty", tt.owner, "")
		if status != 200 {
			t.Errorf("%s: %d %.300s", tc.query, status, body)
			continue
		}
		if got := qtys(t, body); got != tc.want {
			t.Errorf("%s: qty %q, want %q", tc.query, got, tc.want)
		}
	}

	for _, tc := range []struct{ query, want string }{
		{"nope=1", `"nope"`}, {"qty__foo=1", `foo`}, {"qty=abc", `"qty"`}, {"total__gt=abc", `"total__gt"`},
		{"placed=2024-13-01", `"placed"`}, {"ref=xyz", `"ref"`}, {"paid=maybe", `"paid"`}, {"at=yesterday", `"at"`},
		{"tm=25:00", `"tm"`}, {"meta=" + q(`[1]`), `"meta"`}, {"qty=1.5", `"qty"`},
		{"qty__contains=1", `string fields`}, {"note__acontains=a", `array and object`}, {"meta__gt=1", `"meta__gt"`},
		{"qty__rcontains=1", `range`}, {"note__descendants=1", `hierarchy`}, {"total__between=1", `two values`},
		{"note__null=maybe", `"note__null"`}, {"page=0", `"page"`}, {"page_size=5000", `"page_size"`}, {"page=x", `"page"`},
		{"ordering=nope", `"ordering"`}, {"ordering=-nope", `"ordering"`}, {"fields=qty,nope", `"fields"`},
		{"filters=" + q(`{"or":`), `"filters"`}, {"filters=" + q(`{"or":1}`), `"filters"`}, {"filters=" + q(`[{"operator":"xor","value":[]}]`), `xor`},
		{"filters=" + q(`[{"field":"nope","operator":"eq","value":1}]`), `"nope"`},
		{"filters=" + q(`[{"field":"qty","operator":"eq","value":"x"}]`), `"qty"`},
		{"filters=" + q(strings.Repeat(`{"or":[`, 20)+`{"qty":1}`+strings.Repeat(`]}`, 20)), `deeper`},
		{"filters=7", `"filters"`}, {"_count=maybe", `"_count"`}, {"populate=note", `"populate"`}, {"populate=a.b.c.d", `"populate"`},
	} {
		status, body := tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?"+tc.query, tt.owner, "")
		if status != 400 || !strings.Contains(body, `"code":"VALIDATION_ERROR"`) || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %.300s, want 400 VALIDATION_ERROR naming %s", tc.query, status, body, tc.want)
		}
	}
}

// TestListShape covers ordering, paging past the end, projection,
// counting with filters, search and tables without search fields.
func TestListShape(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	const orders = "/api/apps/shop/datatables/orders/data/"
	for _, tc := range []struct{ query, want string }{
		{"ordering=-qty", "5,4,3,2,1"}, {"ordering=paid,-qty", "5,2,3,1,4"}, {"ordering=%2Bqty", "1,2,3,4,5"},
		{"ordering=qty&page=2&page_size=2", "3,4"}, {"ordering=qty&page=3&page_size=2", "5"}, {"ordering=qty&page=9&page_size=2", ""},
		{"search=apple&ordering=qty", "1,5"}, {"search=" + url.QueryEscape("apple pie") + "&ordering=qty", "5"},
		{"search=banana", ""}, {"search=apple&qty__gt=1", "5"},
	} {
		status, body := tt.do(t, "GET", orders+"?"+tc.query, tt.owner, "")
		if got := qtys(t, body); status != 200 || got != tc.want {
			t.Errorf("%s: %d qty %q, want %q", tc.query, status, got, tc.want)
		}
	}
	if _, body := tt.do(t, "GET", orders+"?ordering=qty&page=9&page_size=2", tt.owner, ""); !strings.Contains(body, `"total":5`) ||
		!strings.Contains(body, `"has_next":false`) || !strings.Contains(body, `"data":[]`) {
		t.Errorf("a page past the end: %s", body)
	}
	// Search ranks: the row that says apple most comes first.
	tt.do(t, "POST", orders, tt.owner, `{"qty":9,"note":"apple apple apple"}`)
	if _, body := tt.do(t, "GET", orders+"?search=apple", tt.owner, ""); !strings.HasPrefix(qtys(t, body), "9,") {
		t.Errorf("search ranks: %s", qtys(t, body))
	}
	// Customers have no search fields: search= is ignored.
	if status, body := tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/?search=zzz", tt.owner, ""); status != 200 || !strings.Contains(body, `"total":2`) {
		t.Errorf("search on a table without search fields: %d %s", status, body)
	}
	status, body := tt.do(t, "GET", orders+"?fields=qty,note&qty=1", tt.owner, "")
	var env struct{ Data []map[string]any }
	if err := json.Unmarshal([]byte(body), &env); status != 200 || err != nil || len(env.Data) != 1 || len(env.Data[0]) != 2 ||
		env.Data[0]["note"] != "red apples fresh" {
		t.Errorf("fields: %d %s", status, body)
	}
	if strings.Contains(body, "search_vector") {
		t.Errorf("the search vector shows: %s", body)
	}
	status, body = tt.do(t, "GET", orders+"?_count=true&paid=true", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"total":2`) || !strings.Contains(body, `"data":[]`) {
		t.Errorf("count: %d %s", status, body)
	}
	// Every type comes back as JSON of its kind.
	_, body = tt.do(t, "GET", orders+"?qty=1", tt.owner, "")
	for _, want := range []string{`"total":10.50`, `"paid":true`, `"placed":"2024-01-01"`, `"tm":"09:00:00"`, `"meta":{"size":1,"color":"red"}`,
		`"tags":["a","b"]`, `"ref":"aaaaaaaa-0000-4000-8000-000000000001"`, `"at":"2024-01-01T10:00:00+00:00"`} {
		if !strings.Contains(body, want) {
			t.Errorf("row without %s: %s", want, body)
		}
	}
}
