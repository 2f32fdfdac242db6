package dataapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWrites runs the writes and their refusals as scenario rows: each
// a method, a path under the shop, a body, the wanted status and the
// fragments the answer must and must not hold.
func TestWrites(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	c1, c2 := seedOrders(t, tt)
	const cust, ord, docs = "/api/apps/shop/datatables/customers/data/", "/api/apps/shop/datatables/orders/data/", "/api/apps/shop/datatables/docs/data/"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want, never              string
	}{
		{"create one", "POST", cust, `{"name":"Cy","email":"cy@x.test"}`, 201, `"data":{"id":`, ""},
		{"create with every type", "POST", ord, `{"qty":7,"total":"1.25","paid":false,"placed":"2025-01-02","at":"2025-01-02T03:04:05.5Z",` +
			`"tm":"01:02:03","ref":"AAAAAAAA-0000-4000-8000-0000000000FF","meta":{},"tags":[null,1,"x"],"note":"n"}`, 201,
			`"ref":"aaaaaaaa-0000-4000-8000-0000000000ff"`, ""},
		{"create an empty row", "POST", ord, `{}`, 201, `"qty":null`, ""},
		{"create many of mixed fields", "POST", cust, `[{"name":"D1"},{"name":"D2","tier":"gold"},{"name":"D3"}]`, 201, `"name":"D3"`, ""},
		{"an unknown field", "POST", cust, `{"name":"X","nope":1}`, 400, `"nope":"Unknown field."`, ""},
		{"a required field missing", "POST", cust, `{"email":"x@x.test"}`, 400, `"name":"This field is required."`, ""},
		{"a required field null", "POST", cust, `{"name":null}`, 400, `"name":"This field is required."`, ""},
		{"a string too long", "POST", cust, `{"name":"` + strings.Repeat("x", 41) + `"}`, 400, `"name":"Write at most 40 characters."`, ""},
		{"not in the enum", "POST", cust, `{"name":"X","tier":"platinum"}`, 400, `"tier"`, ""},
		{"below the minimum", "POST", ord, `{"total":-1}`, 400, `"total":"Must be at least 0."`, ""},
		{"a string for an integer", "POST", ord, `{"qty":"7"}`, 400, `"qty":"Want an integer."`, ""},
		{"a fraction for an integer", "POST", ord, `{"qty":7.5}`, 400, `"qty"`, ""},
		{"a number for a string", "POST", cust, `{"name":5}`, 400, `"name":"Want a string."`, ""},
		{"a bad date", "POST", ord, `{"placed":"2024-02-30"}`, 400, `"placed"`, ""},
		{"a bad timestamp", "POST", ord, `{"at":"soon"}`, 400, `"at"`, ""},
		{"a bad uuid", "POST", ord, `{"ref":"nope"}`, 400, `"ref"`, ""},
		{"a string for a boolean", "POST", ord, `{"paid":"yes"}`, 400, `"paid"`, ""},
		{"an array for an object", "POST", ord, `{"meta":[]}`, 400, `"meta"`, ""},
		{"an object for an array", "POST", ord, `{"tags":{}}`, 400, `"tags"`, ""},
		{"a bad row of many, named by index", "POST", cust, `[{"name":"ok"},{"name":7}]`, 400, `"1.name"`, ""},
		{"a missing referenced row", "POST", ord, `{"customer_id":99999999}`, 400, `"customer_id"`, ""},
		{"a check of the table", "POST", cust, `{"name":"Z","tier":null}`, 201, `"tier":null`, ""},
		{"a duplicate in one batch", "POST", cust, `[{"name":"E","email":"e@x.test"},{"name":"F","email":"e@x.test"}]`, 409, `"CONFLICT"`, ""},
		{"a duplicate of a row", "POST", cust, `{"name":"G","email":"bob@x.test"}`, 409, `"email":"Exists already."`, ""},
		{"not JSON", "POST", cust, `{"name":`, 400, `"BAD_REQUEST"`, ""},
		{"a JSON scalar", "POST", cust, `7`, 400, `"VALIDATION_ERROR"`, ""},
		{"an empty array", "POST", cust, `[]`, 400, `"VALIDATION_ERROR"`, ""},
		{"an unknown parameter", "POST", cust + "?x=1", `{"name":"H"}`, 400, `"x"`, ""},

		{"patch one", "PATCH", cust + c2, `{"tier":"bronze"}`, 200, `"tier":"bronze"`, ""},
		{"patch to a duplicate", "PATCH", cust + c2, `{"email":"ann@x.test"}`, 409, `"CONFLICT"`, ""},
		{"patch a wrong type", "PATCH", cust + c2, `{"name":false}`, 400, `"name"`, ""},
		{"patch a required field to null", "PATCH", cust + c2, `{"name":null}`, 400, `"name"`, ""},
		{"patch the key", "PATCH", cust + c2, `{"id":12345}`, 400, `"id"`, ""},
		{"patch a missing row", "PATCH", cust + "99999999", `{"tier":"gold"}`, 404, `"NOT_FOUND"`, ""},
		{"patch an id of the wrong type", "PATCH", cust + "abc", `{"tier":"gold"}`, 404, `"NOT_FOUND"`, ""},
		{"patch with an array", "PATCH", cust + c2, `[{"tier":"gold"}]`, 400, `"BAD_REQUEST"`, ""},
		{"patch nothing", "PATCH", cust + c2, `{}`, 200, `"name":"Bob"`, ""},
		{"bulk patch with a missing row changes nothing", "PATCH", cust, `[{"id":` + c1 + `,"tier":"silver"},{"id":99999999,"tier":"gold"}]`, 404, `99999999`, ""},
		{"bulk patch without the key", "PATCH", cust, `[{"tier":"gold"}]`, 400, `"0.id"`, ""},
		{"bulk patch of one row twice", "PATCH", cust, `[{"id":` + c1 + `},{"id":` + c1 + `}]`, 400, `"1.id"`, ""},
		{"bulk patch with an object", "PATCH", cust, `{"id":` + c1 + `}`, 400, `"BAD_REQUEST"`, ""},

		{"upsert inserts", "POST", cust + "upsert/?unique_fields=email", `[{"name":"U","email":"u@x.test"}]`, 200, `"count":1`, ""},
		{"upsert without unique_fields is on the key", "POST", cust + "upsert/", `{"id":` + c1 + `,"name":"Ann K"}`, 200, `"name":"Ann K"`, ""},
		{"upsert on fields of no unique constraint", "POST", cust + "upsert/?unique_fields=name", `{"name":"Ann"}`, 400, `"unique_fields"`, ""},
		{"upsert on an unknown field", "POST", cust + "upsert/?unique_fields=nope", `{"name":"Ann"}`, 400, `"unique_fields"`, ""},
		{"upsert a row without its unique field", "POST", cust + "upsert/?unique_fields=email", `{"name":"V"}`, 400, `"0.email"`, ""},
		{"upsert one row twice", "POST", cust + "upsert/?unique_fields=email", `[{"name":"W","email":"w@x.test"},{"name":"W2","email":"w@x.test"}]`, 400, `twice`, ""},

		{"delete a referenced row", "DELETE", cust + c1, ``, 409, `"CONFLICT"`, ""},
		{"delete a missing row", "DELETE", cust + "99999999", ``, 404, `"NOT_FOUND"`, ""},
		{"bulk delete without a filter", "DELETE", ord, ``, 400, `"VALIDATION_ERROR"`, ""},
		{"bulk delete with an empty filter", "DELETE", ord + "?filter=%7B%7D", ``, 400, `"VALIDATION_ERROR"`, ""},
		{"bulk delete by bad ids", "DELETE", cust + "?ids=1,x", ``, 400, `"ids"`, ""},
		{"bulk delete by a bad filter", "DELETE", ord + "?filter=" + url.QueryEscape(`{"nope":1}`), ``, 400, `"nope"`, ""},
		{"bulk delete by filter", "DELETE", ord + "?filter=" + url.QueryEscape(`{"qty__gte":7}`), ``, 200, `"deleted_count":1`, ""},
		{"bulk delete by a tree in filter", "DELETE", ord + "?filter=" + url.QueryEscape(`{"filters":"{\"or\":[{\"qty\":5},{\"qty\":4}]}","paid__null":false}`),
			``, 200, `"deleted_count":1`, ""},
		{"bulk delete by ids", "DELETE", cust + "?ids=99999998,99999999", ``, 200, `"deleted_count":0`, ""},

		{"a text key with a slash, %2F-encoded", "POST", docs, `{"path":"a/b c?#","body":"x"}`, 201, `"path":"a/b c?#"`, ""},
		{"read it %2F-encoded", "GET", docs + url.PathEscape("a/b c?#"), ``, 200, `"body":"x"`, ""},
		{"read it %2F-encoded with a trailing slash", "GET", docs + url.PathEscape("a/b c?#") + "/", ``, 200, `"body":"x"`, ""},
		{"patch it", "PATCH", docs + url.PathEscape("a/b c?#") + "/", `{"body":"y"}`, 200, `"body":"y"`, ""},
		{"delete it", "DELETE", docs + url.PathEscape("a/b c?#"), ``, 200, `"success"`, ""},
		{"then it is gone", "GET", docs + url.PathEscape("a/b c?#"), ``, 404, `"NOT_FOUND"`, ""},
		{"a text key with a raw slash", "POST", docs, `{"path":"x/y","body":"raw"}`, 201, `"path":"x/y"`, ""},
		{"read it with the raw slash", "GET", docs + "x/y/", ``, 200, `"body":"raw"`, ""},
		{"delete it with the raw slash", "DELETE", docs + "x/y", ``, 200, `"success"`, ""},
		{"an unknown table", "GET", "/api/apps/shop/datatables/nope/data/", ``, 404, `"NOT_FOUND"`, ""},
		{"an unknown app", "GET", "/api/apps/nope/datatables/orders/data/", ``, 404, `"NOT_FOUND"`, ""},
		{"a method the data has not", "PUT", cust, `{}`, 405, `"BAD_REQUEST"`, ""},
	} {
		status, body := tt.do(t, tc.method, tc.path, tt.owner, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) || (tc.never != "" && strings.Contains(body, tc.never)) {
			t.Errorf("%s: %s %s: %d %.400s, want %d with %s", tc.name, tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
	// The failed bulk patch changed nothing; the customer of orders 1 and 2
	// is still there.
	if _, body := tt.do(t, "GET", cust+c1, tt.owner, ""); !strings.Contains(body, `"tier":"gold"`) {
		t.Errorf("after a failed bulk patch: %s", body)
	}
	// Deleted by filter: qty 7, and 5 (by the tree with paid not null); 4
	// stays (paid null), and so does the empty row (qty null).
	if _, body := tt.do(t, "GET", ord+"?ordering=qty", tt.owner, ""); qtys(t, body) != "<nil>,1,2,3,4" && qtys(t, body) != "1,2,3,4,<nil>" {
		t.Errorf("orders left: %s", qtys(t, body))
	}
}

// TestBulkInsert creates a thousand rows in one request, in one
// statement, and reads them back in order.
func TestBulkInsert(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	var b strings.Builder
	b.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"qty":%d,"note":"row %d","total":%d.5,"tags":["t%d"],"meta":{"i":%d},"placed":"2024-01-01"}`, i, i, i, i%7, i)
	}
	b.WriteString("]")
	// The second request is the one measured: the first prepares.
	tt.do(t, "POST", "/api/apps/shop/datatables/orders/data/", tt.owner, `[{"qty":1,"note":"x","total":1,"tags":[],"meta":{},"placed":"2024-01-01"}]`)
	start := time.Now()
	status, body := tt.do(t, "POST", "/api/apps/shop/datatables/orders/data/", tt.owner, b.String())
	took := time.Since(start)
	var rows []map[string]any
	if status != 201 {
		t.Fatalf("bulk insert: %d %.300s", status, body)
	}
	data(t, body, &rows)
	if len(rows) != 1000 || rows[999]["note"] != "row 999" || rows[0]["qty"] != 0.0 {
		t.Fatalf("bulk insert returned %d rows", len(rows))
	}
	if took > 3*time.Second {
		t.Errorf("a thousand rows took %v", took)
	}
	t.Logf("a thousand rows in %v", took)
	_, body = tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?_count=true&tags__acontains=t3", tt.owner, "")
	var env struct{ Total int }
	_ = json.Unmarshal([]byte(body), &env)
	if env.Total != 143 {
		t.Errorf("count of t3: %s", body)
	}
}

// TestBulkCreateFollowsArrayOrder: rows of one bulk create that set
// different fields get their generated keys in the order of the array, and
// the answer lists them in that order; a field a row leaves out takes its
// default, an explicit null is NULL.
func TestBulkCreateFollowsArrayOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	status, body := tt.do(t, "POST", "/api/apps/shop/datatables/customers/data/", tt.owner,
		`[{"name":"a1"},{"name":"a2","tier":"gold"},{"name":"a3"},{"name":"a4"},{"name":"a5","tier":null},{"name":"a6","tier":"silver"}]`)
	if status != 201 {
		t.Fatalf("bulk create: %d %.300s", status, body)
	}
	var rows []map[string]any
	data(t, body, &rows)
	var names []string
	prev := 0.0
	for i, r := range rows {
		names = append(names, fmt.Sprint(r["name"]))
		id, _ := r["id"].(float64)
		if i > 0 && id <= prev {
			t.Errorf("row %d has id %v after %v", i, id, prev)
		}
		prev = id
	}
	if strings.Join(names, ",") != "a1,a2,a3,a4,a5,a6" {
		t.Errorf("answered rows: %v", names)
	}
	_, body = tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/?ordering=id", tt.owner, "")
	rows = nil
	data(t, body, &rows)
	names = nil
	for _, r := range rows {
		names = append(names, fmt.Sprint(r["name"])+":"+fmt.Sprint(r["tier"]))
	}
	if strings.Join(names, ",") != "a1:<nil>,a2:gold,a3:<nil>,a4:<nil>,a5:<nil>,a6:silver" {
		t.Errorf("rows by id: %v", names)
	}
}

// TestNumberBoundsAreExact: a number past its field's bound by less than
// a float's precision is refused naming the field, and a refusal of the
// database by a constraint the DDL named after a field
// (<table>_<field>_<kind>) names that field too.
func TestNumberBoundsAreExact(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.define(t, "m", "dt_bounds", `CREATE TABLE dt_bounds (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		n numeric CONSTRAINT dt_bounds_n_min CHECK (n >= -1.5) CONSTRAINT dt_bounds_n_max CHECK (n <= 1.5),
		w numeric CONSTRAINT dt_bounds_w_max CHECK (w <= 1))`,
		`{"name":"bounds","schema":{"fields":[{"name":"id","type":"integer"},
		{"name":"n","type":"number","constraints":{"minimum":-1.5,"maximum":1.5}},{"name":"w","type":"number"}],"primaryKey":"id"}}`)
	const rows = "/api/apps/m/datatables/bounds/data/"
	for _, tc := range []struct {
		body, want string
		status     int
	}{
		{`{"n":1.50000000000000000001}`, `"n":"Must be at most 1.5."`, 400},
		{`{"n":-1.50000000000000000001}`, `"n":"Must be at least -1.5."`, 400},
		{`{"n":"15000000000000000000001e-22"}`, `"n":"Must be at most 1.5."`, 400},
		{`{"n":1.5}`, `"n":1.5`, 201},
		{`{"n":-1.500000000000000000000}`, `"n":-1.5`, 201},
		// No bound in the definition: the database refuses, by name.
		{`{"w":1.00000000000000000001}`, `"w":"Breaks a rule of the table."`, 400},
	} {
		if status, body := tt.do(t, "POST", rows, tt.owner, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s: %d %.300s, want %d with %s", tc.body, status, body, tc.status, tc.want)
		}
	}
}

// TestTableChangedUnderItsDefinition: a statement that meets the table
// unlike the definition read for it (dropped, or a field's column gone) is
// a 404 or a 409, never a 500; and the connection serves the next request.
func TestTableChangedUnderItsDefinition(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.define(t, "m", "dt_gone", `CREATE TABLE dt_gone (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, a text, b text)`,
		`{"name":"gone","schema":{"fields":[{"name":"id","type":"integer"},{"name":"a","type":"string"},{"name":"b","type":"string"}],"primaryKey":"id"}}`)
	tt.define(t, "m", "dt_changed", `CREATE TABLE dt_changed (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, a text, b text)`,
		`{"name":"changed","schema":{"fields":[{"name":"id","type":"integer"},{"name":"a","type":"string"},{"name":"b","type":"string"}],"primaryKey":"id"}}`)
	const gone, changed = "/api/apps/m/datatables/gone/data/", "/api/apps/m/datatables/changed/data/"
	for _, path := range []string{gone, changed} {
		// Warm the statements the requests below run again.
		if status, body := tt.do(t, "POST", path, tt.owner, `{"a":"x","b":"y"}`); status != 201 {
			t.Fatalf("POST %s: %d %.300s", path, status, body)
		}
		tt.do(t, "GET", path+"?b=y", tt.owner, "")
		tt.do(t, "GET", path+"1/", tt.owner, "")
	}
	tt.exec(t, `DROP TABLE dt_gone`)
	tt.exec(t, `ALTER TABLE dt_changed DROP COLUMN b`)
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", gone + "?b=y", "", 404, `"The datatable no longer exists."`},
		{"GET", gone + "1/", "", 404, `"NOT_FOUND"`},
		{"POST", gone, `{"a":"x","b":"y"}`, 404, `"NOT_FOUND"`},
		{"POST", gone, `[{"a":"x"},{"b":"y"}]`, 404, `"NOT_FOUND"`},
		{"PATCH", gone + "1/", `{"a":"z"}`, 404, `"NOT_FOUND"`},
		{"DELETE", gone + "1/", "", 404, `"NOT_FOUND"`},
		{"GET", changed + "?b=y", "", 409, `"The datatable changed while the request ran; try again."`},
		{"POST", changed, `{"a":"x","b":"y"}`, 409, `"CONFLICT"`},
		{"PATCH", changed + "1/", `{"b":"z"}`, 409, `"CONFLICT"`},
		{"GET", changed + "?a=x", "", 200, `"a":"x"`},
		{"POST", changed, `{"a":"x"}`, 201, `"a":"x"`},
	} {
		if status, body := tt.do(t, tc.method, tc.path, tt.owner, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %.300s, want %d with %s", tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
}
