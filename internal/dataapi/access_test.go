package dataapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/dataapi"
)

// TestAuthorization: owners do everything; members need view_data to
// read and change_data to write; no credential is 401.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	nobody := tt.user(t, "nobody", false)
	viewer := tt.user(t, "viewer", false, taruvi.PermViewData)
	writer := tt.user(t, "writer", false, taruvi.PermViewData, taruvi.PermChangeData)
	const cust = "/api/apps/shop/datatables/customers/data/"
	for _, tc := range []struct {
		name, method, path, auth, body string
		status                         int
	}{
		{"no credential lists", "GET", cust, "", "", 401},
		{"no credential creates", "POST", cust, "", `{"name":"x"}`, 401},
		{"a member without permissions lists", "GET", cust, nobody, "", 403},
		{"a member without permissions reads a row", "GET", cust + "1", nobody, "", 403},
		{"a viewer lists", "GET", cust + "?_count=true", viewer, "", 200},
		{"a viewer aggregates", "GET", cust + "?_aggregate=count(*)", viewer, "", 200},
		{"a viewer creates", "POST", cust, viewer, `{"name":"x"}`, 403},
		{"a viewer patches", "PATCH", cust + "1", viewer, `{"name":"x"}`, 403},
		{"a viewer upserts", "POST", cust + "upsert", viewer, `{"name":"x"}`, 403},
		{"a viewer deletes", "DELETE", cust + "?ids=1", viewer, "", 403},
		{"a writer creates", "POST", cust, writer, `{"name":"w"}`, 201},
		{"a writer bulk-deletes", "DELETE", cust + "?filter=" + `%7B%22name%22%3A%22w%22%7D`, writer, "", 200},
		{"the owner lists", "GET", cust, tt.owner, "", 200},
	} {
		if status, body := tt.do(t, tc.method, tc.path, tc.auth, tc.body); status != tc.status {
			t.Errorf("%s: %d %.300s, want %d", tc.name, status, body, tc.status)
		}
	}
}

// TestCrossTenant: tenant B, with tables of the same names and its own
// rows, sees, counts, reads, changes and deletes nothing of tenant A's,
// through any endpoint; A's credential is refused on B's host.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	a.shop(t)
	seedOrders(t, a)
	const cust, ord = "/api/apps/shop/datatables/customers/data/", "/api/apps/shop/datatables/orders/data/"
	// Ids count per tenant: A's customer 777 is one B has none with.
	const aCust = "777"
	if status, body := a.do(t, "POST", cust, a.owner, `{"id":777,"name":"Ann Seven"}`); status != 201 {
		t.Fatalf("A's customer 777: %d %s", status, body)
	}

	// B has no datatables yet: A's are not B's.
	if status, body := b.do(t, "GET", ord, b.owner, ""); status != 404 {
		t.Errorf("B lists A's table before defining its own: %d %s", status, body)
	}
	b.shop(t)
	if status, body := b.do(t, "POST", cust, b.owner, `{"name":"Bea","email":"ann@x.test"}`); status != 201 {
		t.Fatalf("B creates a row with A's unique email: %d %s", status, body)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"B lists", "GET", cust, "", 200, `"total":1`},
		{"B counts", "GET", cust + "?_count=true", "", 200, `"total":1`},
		{"B aggregates", "GET", ord + "?_aggregate=count(*)", "", 200, `"count":0`},
		{"B searches", "GET", ord + "?search=apple", "", 200, `"total":0`},
		{"B filters by A's email", "GET", cust + "?email=bob@x.test", "", 200, `"total":0`},
		{"B reads A's row by its id", "GET", cust + aCust + "/", "", 404, `"NOT_FOUND"`},
		{"B patches A's row", "PATCH", cust + aCust + "/", `{"name":"x"}`, 404, `"NOT_FOUND"`},
		{"B bulk-patches A's row", "PATCH", cust, `[{"id":` + aCust + `,"name":"x"}]`, 404, `"NOT_FOUND"`},
		{"B deletes A's row", "DELETE", cust + aCust + "/", "", 404, `"NOT_FOUND"`},
		{"B deletes A's rows by filter", "DELETE", ord + "?filter=%7B%22qty__gte%22%3A0%7D", "", 200, `"deleted_count":0`},
	} {
		status, body := b.do(t, tc.method, tc.path, b.owner, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) || strings.Contains(body, "Ann") || strings.Contains(body, "apple") {
			t.Errorf("%s: %d %.300s, want %d with %s and nothing of A's", tc.name, status, body, tc.status, tc.want)
		}
	}
	// A's credential on B's host names no one there.
	if status, body := b.do(t, "GET", cust, a.owner, ""); status != 401 || strings.Contains(body, "Bea") {
		t.Errorf("A's key on B's host: %d %s", status, body)
	}
	// A's rows are all there.
	if _, body := a.do(t, "GET", ord+"?_count=true", a.owner, ""); !strings.Contains(body, `"total":5`) {
		t.Errorf("A's orders after B's attempts: %s", body)
	}
	if _, body := a.do(t, "GET", cust+aCust, a.owner, ""); !strings.Contains(body, `"name":"Ann Seven"`) {
		t.Errorf("A's customer after B's attempts: %s", body)
	}
	// A definition naming another tenant's table reaches nothing: the
	// statement runs as B's role, in B's schema.
	b.s.tables.add(b.tenant.Schema, "evil", &taruvi.Datatable{Name: "orders", Table: "dt_orders",
		Schema: taruvi.TableSchema{Fields: []taruvi.TableField{{Name: "qty", Type: "integer"}}}})
	if _, body := b.do(t, "GET", "/api/apps/evil/datatables/orders/data/?_count=true", b.owner, ""); !strings.Contains(body, `"total":0`) {
		t.Errorf("B's own dt_orders: %s", body)
	}
}

// TestRowPolicy: the row-visibility hook's condition applies to list,
// count, aggregates, get, populate, update and delete.
func TestRowPolicy(t *testing.T) {
	t.Parallel()
	// Members see customers of tier gold only, and orders of such
	// customers; they change and delete gold customers only.
	policy := func(ctx context.Context, def *taruvi.Datatable, action string, b dataapi.Binder) (string, error) {
		if p := taruvi.PrincipalFromContext(ctx); p != nil && p.IsOwner {
			return "", nil
		}
		switch def.Name {
		case "customers":
			return "t." + pgx.Identifier{"tier"}.Sanitize() + " = " + b.Bind("gold") + "::text", nil
		case "orders":
			if action != dataapi.ActionRead {
				return "FALSE", nil
			}
			return "t." + pgx.Identifier{"qty"}.Sanitize() + " <= " + b.Bind("2") + "::text::bigint", nil
		}
		return "", nil
	}
	s := newStack(t, dataapi.WithRowPolicy(policy))
	tt := s.newTenant(t)
	tt.shop(t)
	c1, c2 := seedOrders(t, tt) // Ann is gold, Bob silver
	member := tt.user(t, "member", false, taruvi.PermViewData, taruvi.PermChangeData)
	const cust, ord = "/api/apps/shop/datatables/customers/data/", "/api/apps/shop/datatables/orders/data/"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want, never              string
	}{
		{"list", "GET", cust, "", 200, `"total":1`, "Bob"},
		{"count", "GET", cust + "?_count=true", "", 200, `"total":1`, ""},
		{"aggregate", "GET", ord + "?_aggregate=sum(qty)", "", 200, `"sum_qty":3`, ""},
		{"get a hidden row", "GET", cust + c2, "", 404, `"NOT_FOUND"`, "Bob"},
		{"get a visible row", "GET", cust + c1, "", 200, `"Ann"`, ""},
		{"populate a hidden row", "GET", ord + "?qty=3&populate=customer_id", "", 200, `"total":0`, "Bob"},
		{"update a hidden row", "PATCH", cust + c2, `{"name":"x"}`, 404, `"NOT_FOUND"`, ""},
		{"bulk update a hidden row", "PATCH", cust, `[{"id":` + c2 + `,"name":"x"}]`, 404, `"NOT_FOUND"`, ""},
		{"upsert over a hidden row", "POST", cust + "upsert?unique_fields=email", `{"name":"x","email":"bob@x.test"}`, 404, `"NOT_FOUND"`, ""},
		{"delete a hidden row", "DELETE", cust + c2, "", 404, `"NOT_FOUND"`, ""},
		{"bulk delete hidden rows", "DELETE", ord + "?ids=" + "00000000-0000-4000-8000-000000000000&filter=%7B%22qty__gte%22%3A0%7D", "", 200, `"deleted_count":0`, ""},
		{"update a visible row", "PATCH", cust + c1, `{"name":"Ann M"}`, 200, `"Ann M"`, ""},
	} {
		status, body := tt.do(t, tc.method, tc.path, member, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) || (tc.never != "" && strings.Contains(body, tc.never)) {
			t.Errorf("%s: %d %.300s, want %d with %s", tc.name, status, body, tc.status, tc.want)
		}
	}
	// Populate hides what the policy hides: order 1's customer is Ann
	// (visible); order 2's too. The owner sees every row.
	if _, body := tt.do(t, "GET", ord+"?_count=true", tt.owner, ""); !strings.Contains(body, `"total":5`) {
		t.Errorf("the owner's count: %s", body)
	}
	_, body := tt.do(t, "GET", cust+c2, tt.owner, "")
	if !strings.Contains(body, `"name":"Bob"`) {
		t.Errorf("Bob after the member's attempts: %s", body)
	}
}

// TestDocumented: the routes make an OpenAPI document, with the data
// endpoints once, generically.
func TestDocumented(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	doc, err := api.OpenAPI(s.server.Routes(), dataModule{s.svc})
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Paths map[string]map[string]any }
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for path, methods := range map[string][]string{
		"/api/apps/{app}/datatables/{name}/data/":        {"get", "post", "patch", "delete"},
		"/api/apps/{app}/datatables/{name}/data/upsert/": {"post"},
		"/api/apps/{app}/datatables/{name}/data/{id}/":   {"get", "patch", "delete"},
	} {
		for _, m := range methods {
			if d.Paths[path][m] == nil {
				t.Errorf("%s %s is not documented: %v", m, path, d.Paths[path])
			}
		}
	}
}
