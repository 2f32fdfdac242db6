package dataapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestSDKFlow calls the data API the way the public SDKs do (the JS live
// test's database steps): bulk create, a filtered, ordered page with its
// total, the count, an or tree, a PATCH, an upsert on a unique email, a
// bulk PATCH, a duplicate's 409 and a deleted row's 404.
func TestSDKFlow(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	const rows = "/api/apps/shop/datatables/customers/data/"

	status, body := tt.do(t, "POST", rows, tt.owner,
		`[{"name":"Ann","email":"ann@x.test"},{"name":"Anna","email":"anna@x.test"},{"name":"Anita","email":"anita@x.test"}]`)
	var created []map[string]any
	if status != 201 {
		t.Fatalf("bulk create: %d %s", status, body)
	}
	data(t, body, &created)
	if len(created) != 3 || created[0]["name"] != "Ann" || created[2]["email"] != "anita@x.test" {
		t.Fatalf("bulk create: %s", body)
	}

	status, body = tt.do(t, "GET", rows+"?name__startswith=An&ordering=id&page=2&page_size=2", tt.owner, "")
	var page struct {
		Status     string
		Message    string
		Data       []map[string]any
		Total      int
		Pagination map[string]any
	}
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("page 2: %d %s", status, body)
	}
	if page.Status != "success" || len(page.Data) != 1 || page.Total != 3 || page.Data[0]["name"] != "Anita" {
		t.Errorf("page 2 of size 2: %s", body)
	}
	for k, want := range map[string]any{"offset": 2.0, "limit": 2.0, "count": 1.0, "current_page": 2.0, "total_pages": 2.0,
		"has_next": false, "has_previous": true} {
		if page.Pagination[k] != want {
			t.Errorf("pagination %s: %v, want %v (%s)", k, page.Pagination[k], want, body)
		}
	}

	status, body = tt.do(t, "GET", rows+"?_count=true&page_size=1", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"total":3`) {
		t.Errorf("count: %d %s", status, body)
	}

	tree := url.QueryEscape(`[{"operator":"or","value":[{"field":"name","operator":"eq","value":"Ann"},{"field":"email","operator":"eq","value":"anita@x.test"}]}]`)
	status, body = tt.do(t, "GET", rows+"?filters="+tree+"&ordering=-id", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"total":2`) || strings.Contains(body, `"Anna"`) {
		t.Errorf("or tree: %d %s", status, body)
	}

	id := fmt.Sprint(created[0]["id"])
	status, body = tt.do(t, "PATCH", rows+id+"/", tt.owner, `{"tier":"gold"}`)
	if status != 200 || !strings.Contains(body, `"tier":"gold"`) || !strings.Contains(body, `"name":"Ann"`) {
		t.Errorf("patch: %d %s", status, body)
	}

	status, body = tt.do(t, "POST", rows+"upsert/?unique_fields=email", tt.owner, `{"email":"anna@x.test","name":"Anna B"}`)
	var up struct {
		Count   int
		Records []map[string]any
	}
	if status != 200 {
		t.Fatalf("upsert: %d %s", status, body)
	}
	data(t, body, &up)
	if up.Count != 1 || len(up.Records) != 1 || up.Records[0]["name"] != "Anna B" || fmt.Sprint(up.Records[0]["id"]) != fmt.Sprint(created[1]["id"]) {
		t.Errorf("upsert on email: %s", body)
	}

	status, body = tt.do(t, "PATCH", rows, tt.owner,
		fmt.Sprintf(`[{"id":%v,"tier":"silver"},{"id":%v,"tier":"bronze","name":"Anita C"}]`, created[1]["id"], created[2]["id"]))
	if status != 200 {
		t.Fatalf("bulk patch: %d %s", status, body)
	}
	data(t, body, &up)
	if up.Count != 2 || up.Records[0]["tier"] != "silver" || up.Records[1]["name"] != "Anita C" {
		t.Errorf("bulk patch: %s", body)
	}

	status, body = tt.do(t, "POST", rows, tt.owner, `{"name":"Dup","email":"ann@x.test"}`)
	if status != 409 || !strings.Contains(body, `"code":"CONFLICT"`) || !strings.Contains(body, `"email"`) {
		t.Errorf("duplicate email: %d %s", status, body)
	}

	if status, body = tt.do(t, "DELETE", rows+id+"/", tt.owner, ""); status != 200 {
		t.Errorf("delete: %d %s", status, body)
	}
	if status, body = tt.do(t, "GET", rows+id+"/", tt.owner, ""); status != 404 || !strings.Contains(body, `"code":"NOT_FOUND"`) {
		t.Errorf("deleted row: %d %s", status, body)
	}
}
