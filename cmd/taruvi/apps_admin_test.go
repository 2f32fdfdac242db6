package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// TestAppsAdminPages walks the apps module's admin pages as a browser
// posts them, on the full server: an owner creates an app, saves its
// settings, creates a datatable, and adds, removes and renames fields,
// each change shown as its plan before it is applied; another tenant's
// owner sees none of it.
func TestAppsAdminPages(t *testing.T) {
	t.Parallel()
	base, a, b := startAppsAdminServer(t)
	host := func(tn *taruvi.Tenant) string { return tn.Schema + ".localhost" }
	cookieA := adminSignIn(t, base, host(a), "owner@"+a.Schema+".test", "tenant password")
	cookieB := adminSignIn(t, base, host(b), "owner@"+b.Schema+".test", "tenant password")

	send := func(tn *taruvi.Tenant, cookie, method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		req.Host = host(tn)
		req.Header.Set("Cookie", cookie)
		if form != nil {
			req.Header.Set("Origin", "http://"+host(tn))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := (&http.Transport{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(page)
	}
	get := func(path string) string {
		t.Helper()
		status, _, page := send(a, cookieA, "GET", path, nil)
		if status != 200 {
			t.Fatalf("GET %s: %d %.1000s", path, status, page)
		}
		return page
	}
	between := func(page, from, to string) string {
		_, rest, _ := strings.Cut(page, from)
		v, _, _ := strings.Cut(rest, to)
		return v
	}
	csrf := between(get("/admin/apps/"), `name="csrf" value="`, `"`)
	post := func(path string, want int, to string, fields ...string) string {
		t.Helper()
		form := url.Values{"csrf": {csrf}}
		for i := 0; i < len(fields); i += 2 {
			form.Set(fields[i], fields[i+1])
		}
		status, location, page := send(a, cookieA, "POST", path, form)
		if status != want || (to != "" && location != to) {
			t.Fatalf("POST %s %v: %d to %q %.2000s, want %d to %q", path, fields, status, location, page, want, to)
		}
		return page
	}

	if page := get("/admin/apps/"); !strings.Contains(page, `<a href="/admin/apps/" class="on">Apps</a>`) || !strings.Contains(page, "No apps.") {
		t.Errorf("the apps page: %.2000s", page)
	}
	post("/admin/apps/", 303, "/admin/apps/shop/", "name", "Shop")
	if page := post("/admin/apps/", 400, "", "name", "Shop again", "slug", "shop"); !strings.Contains(page, "exists already") {
		t.Errorf("a duplicate slug: %.2000s", page)
	}
	post("/admin/apps/shop/settings/", 303, "/admin/apps/shop/", "display_name", "The Shop", "primary_color", "#0a0")
	if page := get("/admin/apps/shop/"); !strings.Contains(page, `name="display_name" value="The Shop"`) || !strings.Contains(page, "No datatables.") {
		t.Errorf("the app's page after saving settings: %.3000s", page)
	}
	post("/admin/apps/shop/datatables/", 303, "/admin/apps/shop/datatables/books/", "name", "books",
		"definition", `{"schema":{"fields":[{"name":"title","type":"string","constraints":{"required":true}}]}}`)
	if page := post("/admin/apps/shop/datatables/", 400, "", "name", "bad", "definition", `{"schema":{"fields":[{"name":"x","type":"text"}]}}`); !strings.Contains(page, "schema.fields.x.type") {
		t.Errorf("a bad definition: %.3000s", page)
	}
	if page := get("/admin/apps/shop/"); !strings.Contains(page, `<a href="/admin/apps/shop/datatables/books/">books</a>`) {
		t.Errorf("the app's datatables: %.3000s", page)
	}

	// A change shows its plan, applies nothing until applied, then is
	// applied from the plan's form.
	apply := func(plan string) {
		t.Helper()
		definition := html.UnescapeString(between(between(plan, `id="apply-form"`, `</form>`), `name="definition" value="`, `"`))
		if definition == "" {
			t.Fatalf("no definition in the plan's form: %.3000s", plan)
		}
		post("/admin/apps/shop/datatables/books/", 303, "/admin/apps/shop/datatables/books/", "definition", definition)
	}
	plan := post("/admin/apps/shop/datatables/books/plan/", 200, "", "op", "field", "field", "pages", "type", "integer")
	if !strings.Contains(plan, `id="plan"`) || !strings.Contains(plan, "ADD COLUMN &#34;pages&#34; bigint") {
		t.Fatalf("the plan of an added field: %.3000s", plan)
	}
	if page := get("/admin/apps/shop/datatables/books/"); strings.Contains(page, "<code>pages</code>") {
		t.Fatalf("the field was added before the plan was applied")
	}
	apply(plan)
	if page := get("/admin/apps/shop/datatables/books/"); !strings.Contains(page, "<code>pages</code></td><td>integer</td>") {
		t.Fatalf("the schema after adding pages: %.3000s", page)
	}
	plan = post("/admin/apps/shop/datatables/books/plan/", 200, "", "op", "field", "field", "pages", "type", "number")
	if !strings.Contains(plan, `id="rewrites"`) || !strings.Contains(plan, "TYPE numeric") {
		t.Fatalf("the plan of a changed type: %.3000s", plan)
	}
	apply(plan)
	plan = post("/admin/apps/shop/datatables/books/plan/", 200, "", "op", "json", "definition",
		`{"schema":{"fields":[{"name":"id","type":"uuid"},{"name":"name","type":"string","x-rename-from":"title","constraints":{"required":true}},{"name":"pages","type":"number"}]}}`)
	if !strings.Contains(plan, "RENAME COLUMN &#34;title&#34; TO &#34;name&#34;") {
		t.Fatalf("the plan of a rename: %.3000s", plan)
	}
	apply(plan)
	plan = post("/admin/apps/shop/datatables/books/plan/", 200, "", "op", "remove", "field", "pages")
	if !strings.Contains(plan, "DROP COLUMN &#34;pages&#34;") {
		t.Fatalf("the plan of a removed field: %.3000s", plan)
	}
	apply(plan)
	if page := get("/admin/apps/shop/datatables/books/"); !strings.Contains(page, "<code>name</code>") || strings.Contains(page, "<code>pages</code>") || strings.Contains(page, "<code>title</code>") {
		t.Errorf("the schema after the changes: %.3000s", page)
	}
	if page := post("/admin/apps/shop/datatables/books/plan/", 400, "", "op", "json", "definition", `{"schema":`); !strings.Contains(page, "not valid JSON") {
		t.Errorf("broken JSON: %.3000s", page)
	}

	// Tenant B's owner sees none of it, on its host or on A's.
	if status, _, page := send(b, cookieB, "GET", "/admin/apps/", nil); status != 200 || strings.Contains(page, "Shop") {
		t.Errorf("B's apps page: %d %.2000s", status, page)
	}
	for _, path := range []string{"/admin/apps/shop/", "/admin/apps/shop/datatables/books/"} {
		if status, _, page := send(b, cookieB, "GET", path, nil); status != 404 || strings.Contains(page, "The Shop") {
			t.Errorf("B's %s: %d %.1000s", path, status, page)
		}
		if status, _, _ := send(a, cookieB, "GET", path, nil); status != http.StatusSeeOther {
			t.Errorf("B's cookie on A's %s: %d, want 303 to the sign-in page", path, status)
		}
	}
}

// startAppsAdminServer serves the platform with every module (startAppsServer)
// with two tenants, each with an owner (owner@<schema>.test,
// password "tenant password"), until the test ends.
func startAppsAdminServer(t *testing.T) (base string, a, b *taruvi.Tenant) {
	t.Helper()
	s := startAppsServer(t)
	a, b = postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	users, _ := operatorUsers(s.db)
	for _, tn := range []*taruvi.Tenant{a, b} {
		ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tn),
			&taruvi.Principal{Audience: tn.Schema, IsOwner: true, IsAdmin: true})
		if _, err := users.CreateUser(ctx, taruvi.UserCreate{Email: "owner@" + tn.Schema + ".test", Password: "tenant password", IsOwner: true}); err != nil {
			t.Fatal(err)
		}
	}
	return s.base, a, b
}
