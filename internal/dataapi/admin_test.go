package dataapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"taruvi"
)

// member is the tenant's context as a new member holding perms.
func (tt *tenant) member(t *testing.T, name string, perms ...string) context.Context {
	t.Helper()
	u, err := tt.s.users.CreateUser(tt.operator(), taruvi.UserCreate{Email: name + "@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, perm := range perms {
		tt.exec(t, `INSERT INTO permissions (codename, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, perm)
		if _, err := tt.s.users.GrantPermission(tt.operator(), taruvi.ObjectGrant{UserID: &u.ID, Permission: perm}); err != nil {
			t.Fatal(err)
		}
	}
	return taruvi.NewContextWithPrincipal(tt.ctx, &taruvi.Principal{UserID: u.ID, Audience: tt.tenant.Schema})
}

// wantCode fails the test unless err has code and, for each of fields, a
// message for that field.
func wantCode(t *testing.T, what string, err error, code string, fields ...string) {
	t.Helper()
	if taruvi.ErrorCode(err) != code {
		t.Errorf("%s: %v; want %s", what, err, code)
		return
	}
	te, _ := err.(*taruvi.Error)
	for _, f := range fields {
		if te == nil || te.Fields[f] == "" {
			t.Errorf("%s: %v names no %s", what, err, f)
		}
	}
}

// TestAdminMethods runs the data API's Go methods, as the admin's row
// browser calls them, against the shop: rows typed as a form types them,
// lists in the API's query syntax, edits, deletes, permissions, and
// tenant B reaching nothing of A's.
func TestAdminMethods(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	a.shop(t)
	b.shop(t)
	svc, ctx := s.svc, a.operator()

	cols, err := svc.Columns(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 12 || cols[0].Name != "id" || !cols[0].Key || !cols[0].Default || cols[10].Ordered || !cols[1].Ordered {
		t.Errorf("columns of orders: %+v", cols)
	}

	cust, err := svc.CreateRow(ctx, "shop", "customers", map[string]string{"name": "Ada", "email": "ada@example.test", "id": ""})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cust), `"id": 1,`) {
		t.Errorf("created %s", cust)
	}
	order, err := svc.CreateRow(ctx, "shop", "orders", map[string]string{"customer_id": "1", "total": "12.50", "qty": "3", "paid": "yes",
		"placed": "2024-05-01", "at": "2024-05-01T10:00:00Z", "tm": "10:30", "ref": "6F9619FF-8B86-D011-B42D-00CF4FC964FF",
		"meta": `{"a": 1}`, "tags": `["x"]`, "note": "first order", "id": ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"total": 12.50`, `"qty": 3`, `"paid": true`, `"placed": "2024-05-01"`, `"tm": "10:30:00"`,
		`"ref": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"`, `"meta": {"a": 1}`, `"tags": ["x"]`, `"note": "first order"`} {
		if !strings.Contains(string(order), want) {
			t.Errorf("created order %s; want %s", order, want)
		}
	}
	_, err = svc.CreateRow(ctx, "shop", "orders", map[string]string{"qty": "three", "total": "1.", "meta": "[1]", "tags": "not json", "paid": "maybe", "colour": "red"})
	wantCode(t, "bad values", err, taruvi.EINVALID, "qty", "total", "tags", "paid", "colour")
	_, err = svc.CreateRow(ctx, "shop", "orders", map[string]string{"meta": "[1]"})
	wantCode(t, "an array for an object", err, taruvi.EINVALID, "meta")
	_, err = svc.CreateRow(ctx, "shop", "customers", map[string]string{"name": "", "email": "x@example.test"})
	wantCode(t, "a required field left empty", err, taruvi.EINVALID, "name")
	_, err = svc.CreateRow(ctx, "shop", "customers", map[string]string{"name": "Twin", "email": "ada@example.test"})
	wantCode(t, "a duplicate", err, taruvi.ECONFLICT, "email")
	for i := 2; i <= 5; i++ {
		if _, err := svc.CreateRow(ctx, "shop", "customers", map[string]string{"name": "C" + string(rune('0'+i)), "tier": "gold"}); err != nil {
			t.Fatal(err)
		}
	}

	q, _ := url.ParseQuery("tier=gold&ordering=-name&page_size=3&page=2")
	p, err := svc.ListRows(ctx, "shop", "customers", q)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 4 || p.Pages != 2 || p.Page != 2 || len(p.Rows) != 1 || string(p.Rows[0].Values["name"]) != `"C2"` || string(p.Rows[0].Values["id"]) != p.Rows[0].Key {
		t.Fatalf("page 2 of gold customers by -name: %+v", p)
	}
	c2 := p.Rows[0].Key
	p, err = svc.ListRows(ctx, "shop", "customers", url.Values{"name": {"C5"}})
	if err != nil || len(p.Rows) != 1 {
		t.Fatalf("C5: %+v %v", p, err)
	}
	c5 := p.Rows[0].Key
	q, _ = url.ParseQuery(`search=first&filters=[{"field":"qty","operator":"between","value":[1,5]}]`)
	if p, err := svc.ListRows(ctx, "shop", "orders", q); err != nil || p.Total != 1 || !p.Search {
		t.Errorf("search and a filter tree: %+v %v", p, err)
	}
	for _, bad := range []string{"_aggregate=count(*)", "fields=name", "populate=user_id", "_count=true", "colour=red", "name__near=x", "id__gte=x", "page=0"} {
		q, _ := url.ParseQuery(bad)
		_, err := svc.ListRows(ctx, "shop", "customers", q)
		wantCode(t, bad, err, taruvi.EINVALID)
	}

	row, err := svc.UpdateRow(ctx, "shop", "customers", c2, map[string]string{"name": "Bea", "tier": ""})
	if err != nil || !strings.Contains(string(row), `"name": "Bea"`) || !strings.Contains(string(row), `"tier": null`) {
		t.Errorf("update: %s %v", row, err)
	}
	_, err = svc.UpdateRow(ctx, "shop", "customers", c2, map[string]string{"id": "1"})
	wantCode(t, "a changed key", err, taruvi.EINVALID, "id")
	_, err = svc.UpdateRow(ctx, "shop", "customers", c2, map[string]string{"tier": "platinum"})
	wantCode(t, "a value not in the enum", err, taruvi.EINVALID, "tier")
	_, err = svc.UpdateRow(ctx, "shop", "customers", "99", map[string]string{"name": "X"})
	wantCode(t, "no such row", err, taruvi.ENOTFOUND)
	_, err = svc.UpdateRow(ctx, "shop", "customers", "abc", map[string]string{"name": "X"})
	wantCode(t, "a key of the wrong type", err, taruvi.ENOTFOUND)

	wantCode(t, "a referenced row", svc.DeleteRow(ctx, "shop", "customers", "1"), taruvi.ECONFLICT)
	if err := svc.DeleteRow(ctx, "shop", "customers", c5); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a deleted row", svc.DeleteRow(ctx, "shop", "customers", c5), taruvi.ENOTFOUND)
	wantCode(t, "an unknown table", svc.DeleteRow(ctx, "shop", "nope", "1"), taruvi.ENOTFOUND)

	// Permissions: reading needs apps.view_data, writing apps.change_data.
	nobody, reader := a.member(t, "nobody"), a.member(t, "reader", taruvi.PermViewData)
	_, err = svc.Columns(nobody, "shop", "customers")
	wantCode(t, "columns without apps.view_data", err, taruvi.EFORBIDDEN)
	_, err = svc.ListRows(nobody, "shop", "customers", url.Values{})
	wantCode(t, "a list without apps.view_data", err, taruvi.EFORBIDDEN)
	if p, err := svc.ListRows(reader, "shop", "customers", url.Values{}); err != nil || p.Total != 4 {
		t.Errorf("a reader lists %+v %v", p, err)
	}
	_, err = svc.CreateRow(reader, "shop", "customers", map[string]string{"name": "R"})
	wantCode(t, "a reader creates", err, taruvi.EFORBIDDEN)
	_, err = svc.UpdateRow(reader, "shop", "customers", c2, map[string]string{"name": "R"})
	wantCode(t, "a reader updates", err, taruvi.EFORBIDDEN)
	wantCode(t, "a reader deletes", svc.DeleteRow(reader, "shop", "customers", c2), taruvi.EFORBIDDEN)

	// Tenant B has a shop of its own, empty, and reaches none of A's rows.
	bctx := b.operator()
	if p, err := svc.ListRows(bctx, "shop", "customers", url.Values{}); err != nil || p.Total != 0 {
		t.Errorf("B lists %+v %v", p, err)
	}
	_, err = svc.UpdateRow(bctx, "shop", "customers", c2, map[string]string{"name": "Mine"})
	wantCode(t, "B updates A's row", err, taruvi.ENOTFOUND)
	wantCode(t, "B deletes A's row", svc.DeleteRow(bctx, "shop", "customers", c2), taruvi.ENOTFOUND)
	b.exec(t, `DROP TABLE dt_lines, dt_orders, dt_customers, dt_docs`)
	s.tables.mu.Lock()
	for k := range s.tables.defs {
		if strings.HasPrefix(k, b.tenant.Schema+"/") {
			delete(s.tables.defs, k)
		}
	}
	s.tables.mu.Unlock()
	_, err = svc.ListRows(bctx, "shop", "customers", url.Values{})
	wantCode(t, "B without the table", err, taruvi.ENOTFOUND)
	if p, err := svc.ListRows(ctx, "shop", "customers", url.Values{}); err != nil || p.Total != 4 {
		t.Errorf("A after B's attempts: %+v %v", p, err)
	}
}
