package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// step is one request of a scenario and what its answer must and must
// not hold.
type step struct {
	name               string
	c                  *sdkClient
	method, path, body string
	status             int
	want, never        string
}

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		status, body := s.c.call(t, s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.want) || (s.never != "" && strings.Contains(body, s.never)) {
			t.Errorf("%s: %s %s: %d %.600s\nwant %d with %s and without %q", s.name, s.method, s.path, status, body, s.status, s.want, s.never)
		}
	}
}

// createRow posts one row and returns its key as text.
func createRow(t *testing.T, c *sdkClient, rows, body string) string {
	t.Helper()
	var r map[string]any
	into(t, c.must(t, 201, "POST", rows, body), &r)
	return fmt.Sprint(r["id"])
}

// TestDatatableSchemaChangesOverHTTP replaces a definition with fields
// added, removed, renamed and with changed constraints: a dry run returns
// the plan and changes nothing, the change keeps the rows, and the data
// API then reads and validates by the new definition.
func TestDatatableSchemaChangesOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	_, c := s.siteClients(t, s.newSite(t, "owner"))
	c.must(t, 201, "POST", "/api/apps/", `{"name":"HR"}`)
	c.must(t, 201, "POST", "/api/apps/hr/datatables/", `{"name":"people","schema":{"fields":[
		{"name":"name","type":"string","constraints":{"required":true}},
		{"name":"nickname","type":"string"},
		{"name":"age","type":"integer"},
		{"name":"email","type":"string"}]}}`)
	const rows = "/api/apps/hr/datatables/people/data/"
	ann := createRow(t, c, rows, `{"name":"Ann","nickname":"A","age":30,"email":"ann@hr.test"}`)
	createRow(t, c, rows, `{"name":"Bob","nickname":"B","age":40,"email":"bob@hr.test"}`)

	changed := `{"name":"people","schema":{"fields":[
		{"name":"id","type":"uuid"},
		{"name":"full_name","type":"string","x-rename-from":"name","constraints":{"required":true,"maxLength":20}},
		{"name":"age","type":"integer","constraints":{"minimum":0,"maximum":150}},
		{"name":"email","type":"string","constraints":{"unique":true}},
		{"name":"vip","type":"boolean","default":false,"constraints":{"required":true}}]}}`
	var plan struct {
		Statements []string       `json:"statements"`
		Rewrites   *bool          `json:"rewrites"`
		Applied    bool           `json:"applied"`
		Datatable  map[string]any `json:"datatable"`
	}
	into(t, c.must(t, 200, "PUT", "/api/apps/hr/datatables/people/?dry_run=true", changed), &plan)
	ddl := strings.Join(plan.Statements, "\n")
	if plan.Applied || plan.Rewrites == nil || len(plan.Statements) == 0 {
		t.Errorf("dry run: %+v, want a plan with statements and rewrites, not applied", plan)
	}
	for _, want := range []string{"RENAME COLUMN", `"name"`, `"full_name"`, "DROP COLUMN", `"nickname"`, "ADD COLUMN", `"vip"`, `"age"`, `"email"`} {
		if !strings.Contains(ddl, want) {
			t.Errorf("the plan lacks %s:\n%s", want, ddl)
		}
	}
	runSteps(t, []step{
		{"the dry run left the definition", c, "GET", "/api/apps/hr/datatables/people/", "", 200, `"nickname"`, "full_name"},
		{"and the rows", c, "GET", rows + ann + "/", "", 200, `"nickname":"A"`, "full_name"},
		{"dry_run=True is a dry run too", c, "PUT", "/api/apps/hr/datatables/people/?dry_run=True", changed, 200, `"applied":false`, ""},
		{"still unchanged", c, "GET", rows + "?nickname=A", "", 200, `"total":1`, ""},
		{"apply", c, "PUT", "/api/apps/hr/datatables/people/", changed, 200, `"applied":true`, ""},
		{"the definition", c, "GET", "/api/apps/hr/datatables/people/", "", 200, `"full_name"`, "nickname"},
		{"the renamed field kept its data", c, "GET", rows + ann + "/", "", 200, `"full_name":"Ann"`, "nickname"},
		{"the new field has its default", c, "GET", rows + "?vip=false&ordering=full_name", "", 200, `"total":2`, ""},
		{"kept ages", c, "GET", rows + "?age__gte=35", "", 200, `"full_name":"Bob"`, "Ann"},
		{"the removed field is unknown to filters", c, "GET", rows + "?nickname=A", "", 400, `"nickname"`, ""},
		{"and to writes", c, "POST", rows, `{"full_name":"Cy","nickname":"C"}`, 400, `"nickname"`, ""},
		{"the old name is unknown", c, "GET", rows + "?ordering=name", "", 400, `"VALIDATION_ERROR"`, ""},
		{"the new maximum", c, "POST", rows, `{"full_name":"Old","age":200}`, 400, `"age"`, ""},
		{"the new maxLength", c, "POST", rows, `{"full_name":"` + strings.Repeat("x", 21) + `"}`, 400, `"full_name"`, ""},
		{"the new unique", c, "POST", rows, `{"full_name":"Ann2","email":"ann@hr.test"}`, 409, `"CONFLICT"`, ""},
		{"the new required field has a default", c, "POST", rows, `{"full_name":"Cy","email":"cy@hr.test"}`, 201, `"vip":false`, ""},
		{"the same definition again plans nothing", c, "PUT", "/api/apps/hr/datatables/people/?dry_run=true", changed, 200, `"statements":[]`, ""},
	})

	// A change the rows break fails whole: definition and rows unchanged.
	runSteps(t, []step{
		{"a unique field whose rows repeat", c, "PUT", "/api/apps/hr/datatables/people/",
			strings.Replace(changed, `{"name":"age","type":"integer","constraints":{"minimum":0,"maximum":150}}`,
				`{"name":"age","type":"integer","constraints":{"minimum":0,"maximum":35}}`, 1), 400, `"VALIDATION_ERROR"`, ""},
		{"unchanged after it", c, "GET", "/api/apps/hr/datatables/people/", "", 200, `"maximum":150`, ""},
		{"Bob kept", c, "GET", rows + "?age=40", "", 200, `"total":1`, ""},
	})

	// Bad definitions: a 400 naming the field at fault.
	for _, tt := range []struct{ name, def, field string }{
		{"an unknown type", `{"name":"x","schema":{"fields":[{"name":"a","type":"money"}]}}`, "schema.fields.a"},
		{"a bad field name", `{"name":"x","schema":{"fields":[{"name":"A B","type":"string"}]}}`, "schema.fields"},
		{"a duplicate field", `{"name":"x","schema":{"fields":[{"name":"a","type":"string"},{"name":"a","type":"integer"}]}}`, "schema.fields"},
		{"maxLength on an integer", `{"name":"x","schema":{"fields":[{"name":"n","type":"integer","constraints":{"maxLength":3}}]}}`, "schema.fields.n.constraints"},
		{"a default of the wrong type", `{"name":"x","schema":{"fields":[{"name":"n","type":"integer","default":"ten"}]}}`, "schema.fields.n"},
		{"an enum of the wrong type", `{"name":"x","schema":{"fields":[{"name":"n","type":"integer","constraints":{"enum":["a"]}}]}}`, "schema.fields.n"},
		{"a primary key that is no field", `{"name":"x","schema":{"primaryKey":"nope","fields":[{"name":"n","type":"integer"}]}}`, "schema.primaryKey"},
		{"a foreign key to no table", `{"name":"x","schema":{"fields":[{"name":"c","type":"uuid"}],"foreignKeys":[{"fields":"c","reference":{"resource":"ghosts"}}]}}`, "schema.foreignKeys.0"},
		{"a foreign key of no field", `{"name":"x","schema":{"fields":[{"name":"c","type":"uuid"}],"foreignKeys":[{"fields":"d","reference":{"resource":"people"}}]}}`, "schema.foreignKeys.0"},
		{"a bad onDelete", `{"name":"x","schema":{"fields":[{"name":"c","type":"uuid"}],"foreignKeys":[{"fields":"c","reference":{"resource":"people"},"onDelete":"EXPLODE"}]}}`, "schema.foreignKeys.0"},
		{"a search field that is no field", `{"name":"x","schema":{"fields":[{"name":"a","type":"string"}]},"search_fields":[{"field":"b","weight":"A"}]}`, "search_fields"},
		{"a bad weight", `{"name":"x","schema":{"fields":[{"name":"a","type":"string"}]},"search_fields":[{"field":"a","weight":"Z"}]}`, "search_fields"},
		{"an index of no field", `{"name":"x","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"fields":["b"]}]}`, "indexes"},
		{"a bad table name", `{"name":"Bad Name","schema":{"fields":[{"name":"a","type":"string"}]}}`, "name"},
		{"no fields", `{"name":"x","schema":{"fields":[]}}`, "schema.fields"},
	} {
		status, out := c.call(t, "POST", "/api/apps/hr/datatables/", tt.def)
		env := decodeEnvelope(t, out)
		named := false
		for k := range env.Errors {
			named = named || strings.HasPrefix(k, tt.field)
		}
		if status != 400 || env.Code != "VALIDATION_ERROR" || !named {
			t.Errorf("%s: %d %s, want 400 VALIDATION_ERROR with an error under %s", tt.name, status, out, tt.field)
		}
	}
	runSteps(t, []step{{"none of them was created", c, "GET", "/api/apps/hr/datatables/", "", 200, `"total":1`, `"x"`}})
}

// TestDatatableForeignKeysOverHTTP: foreign keys between two tables of an
// app with CASCADE, SET NULL and RESTRICT observed on row deletes, a
// foreign key to the tenant's users, and populate across them.
func TestDatatableForeignKeysOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, c := s.siteClients(t, o)
	c.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
	c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"customers","schema":{"primaryKey":"id","fields":[
		{"name":"id","type":"integer"},{"name":"name","type":"string","constraints":{"required":true}},
		{"name":"account","type":"integer"}],
		"foreignKeys":[{"fields":"account","reference":{"resource":"users"},"onDelete":"SET NULL"}]}}`)
	c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"orders","schema":{"fields":[
		{"name":"customer","type":"integer","constraints":{"required":true}},{"name":"total","type":"number"}],
		"foreignKeys":[{"fields":"customer","reference":{"resource":"customers"},"onDelete":"CASCADE"}]}}`)
	c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"notes","schema":{"fields":[
		{"name":"customer","type":"integer"},{"name":"text","type":"string"}],
		"foreignKeys":[{"fields":"customer","reference":{"resource":"customers"},"x-actions":{"onDelete":"SET NULL"}}]}}`)
	c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"invoices","schema":{"fields":[
		{"name":"customer","type":"integer"}],
		"foreignKeys":[{"fields":"customer","reference":{"resource":"customers"},"onDelete":"RESTRICT"}]}}`)

	base := "/api/apps/shop/datatables/"
	ann := createRow(t, c, base+"customers/data/", fmt.Sprintf(`{"name":"Ann","account":%d}`, o.userID))
	bob := createRow(t, c, base+"customers/data/", `{"name":"Bob"}`)
	order := createRow(t, c, base+"orders/data/", `{"customer":`+ann+`,"total":12.5}`)
	bobOrder := createRow(t, c, base+"orders/data/", `{"customer":`+bob+`,"total":1}`)
	note := createRow(t, c, base+"notes/data/", `{"customer":`+ann+`,"text":"likes tea"}`)
	createRow(t, c, base+"invoices/data/", `{"customer":`+bob+`}`)

	runSteps(t, []step{
		{"a key to no customer", c, "POST", base + "orders/data/", `{"customer":99999,"total":1}`, 400, `"customer"`, ""},
		{"a key to no user", c, "POST", base + "customers/data/", `{"name":"Cy","account":99999}`, 400, `"account"`, ""},
		{"populate the customer", c, "GET", base + "orders/data/" + order + "/?populate=customer", "", 200, `"name":"Ann"`, ""},
		{"populate two deep to the user", c, "GET", base + "orders/data/?populate=customer.account&customer=" + ann, "", 200, `"email":"` + o.email + `"`, "password"},
		{"populate an unknown key", c, "GET", base + "orders/data/?populate=total", "", 400, `"populate"`, ""},
		{"a RESTRICT keeps Bob", c, "DELETE", base + "customers/data/" + bob + "/", "", 409, `"CONFLICT"`, ""},
		{"Bob's order stays", c, "GET", base + "orders/data/" + bobOrder + "/", "", 200, `"total":1`, ""},
		{"delete Ann", c, "DELETE", base + "customers/data/" + ann + "/", "", 200, `"success"`, ""},
		{"CASCADE deleted her order", c, "GET", base + "orders/data/" + order + "/", "", 404, `"NOT_FOUND"`, ""},
		{"SET NULL kept her note", c, "GET", base + "notes/data/" + note + "/", "", 200, `"customer":null`, ""},
		{"and its text", c, "GET", base + "notes/data/?customer__null=true", "", 200, `"likes tea"`, ""},
		{"Bob's order was not touched", c, "GET", base + "orders/data/?_count=true", "", 200, `"total":1`, ""},
	})

	runSteps(t, []step{
		{"search ignored without search fields", c, "GET", base + "notes/data/?search=tea", "", 200, `"total":1`, ""},
	})

	// Deleting the app drops its tables: none of the app's routes answer,
	// and no dt_ table is left in the tenant's schema.
	runSteps(t, []step{
		{"delete the app", c, "DELETE", "/api/apps/shop/", "", 200, `"success"`, ""},
		{"its tables are gone", c, "GET", base, "", 404, `"NOT_FOUND"`, ""},
		{"its rows are gone", c, "GET", base + "notes/data/", "", 404, `"NOT_FOUND"`, "likes tea"},
		{"a new app of the same slug has none", c, "POST", "/api/apps/", `{"name":"Shop"}`, 201, `"slug":"shop"`, ""},
		{"none", c, "GET", base, "", 200, `"total":0`, "customers"},
		{"no rows under the old names", c, "GET", base + "notes/data/", "", 404, `"NOT_FOUND"`, "likes tea"},
	})
	var left int
	if err := s.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'dt\_%'`,
		o.tenant.Schema).Scan(&left); err != nil || left != 0 {
		t.Errorf("tables left in the tenant's schema after deleting the app: %d (%v)", left, err)
	}
}

// TestDatatablesAcrossTenantsAndApps: tenant B, with its own owner and
// token, sees nothing of tenant A's apps, tables, rows, counts, aggregates
// or populate targets, even where B has an app and tables of the same
// names whose keys collide with A's; app B reaches none of app A's
// tables; A's tokens on B's host are 401.
func TestDatatablesAcrossTenantsAndApps(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	oa, ob := s.newSite(t, "alice"), s.newSite(t, "bruno")
	ajs, apy := s.siteClients(t, oa)
	bjs, bpy := s.siteClients(t, ob)

	shop := func(c *sdkClient, customer string, totals ...int) {
		c.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
		c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"customers","schema":{"primaryKey":"id","fields":[
			{"name":"id","type":"integer"},{"name":"name","type":"string"}]},"search_fields":["name"]}`)
		c.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"orders","schema":{"primaryKey":"id","fields":[
			{"name":"id","type":"integer"},{"name":"customer","type":"integer"},{"name":"total","type":"integer"}],
			"foreignKeys":[{"fields":"customer","reference":{"resource":"customers"}}]}}`)
		id := createRow(t, c, "/api/apps/shop/datatables/customers/data/", `{"name":"`+customer+`"}`)
		for _, total := range totals {
			createRow(t, c, "/api/apps/shop/datatables/orders/data/", fmt.Sprintf(`{"customer":%s,"total":%d}`, id, total))
		}
	}
	shop(apy, "alpha-customer", 100, 200, 300)
	ajs.must(t, 201, "POST", "api/apps/", `{"name":"Other"}`)
	ajs.must(t, 201, "POST", "api/apps/other/datatables/", `{"name":"secrets","schema":{"fields":[{"name":"v","type":"string"}]}}`)
	createRow(t, ajs, "api/apps/other/datatables/secrets/data/", `{"v":"alpha-secret"}`)

	// B before it has anything.
	runSteps(t, []step{
		{"B lists no apps", bpy, "GET", "/api/apps/", "", 200, `"total":0`, "shop"},
		{"B reads no app", bpy, "GET", "/api/apps/shop/", "", 404, `"NOT_FOUND"`, ""},
		{"B reads no settings", bpy, "GET", "/api/apps/shop/settings/", "", 404, `"NOT_FOUND"`, ""},
		{"B lists no tables", bpy, "GET", "/api/apps/shop/datatables/", "", 404, `"NOT_FOUND"`, "customers"},
		{"B reads no definition", bpy, "GET", "/api/apps/shop/datatables/orders/", "", 404, `"NOT_FOUND"`, "total"},
		{"B reads no rows", bjs, "GET", "api/apps/shop/datatables/orders/data/", "", 404, `"NOT_FOUND"`, "alpha"},
		{"B counts none", bjs, "GET", "api/apps/shop/datatables/orders/data/?_count=true", "", 404, `"NOT_FOUND"`, `"total":3`},
		{"B aggregates none", bjs, "GET", "api/apps/shop/datatables/orders/data/?_aggregate=sum(total)", "", 404, `"NOT_FOUND"`, "600"},
		{"B reads no row by id", bjs, "GET", "api/apps/shop/datatables/orders/data/1/", "", 404, `"NOT_FOUND"`, "alpha"},
		{"B writes no rows", bpy, "POST", "/api/apps/shop/datatables/orders/data/", `{"total":1}`, 404, `"NOT_FOUND"`, ""},
		{"B updates no rows", bpy, "PATCH", "/api/apps/shop/datatables/orders/data/1/", `{"total":1}`, 404, `"NOT_FOUND"`, ""},
		{"B upserts no rows", bpy, "POST", "/api/apps/shop/datatables/orders/data/upsert/", `{"id":1,"total":1}`, 404, `"NOT_FOUND"`, ""},
		{"B deletes no rows", bpy, "DELETE", "/api/apps/shop/datatables/orders/data/?ids=1,2,3", "", 404, `"NOT_FOUND"`, ""},
		{"B changes no definition", bpy, "PUT", "/api/apps/shop/datatables/orders/", `{"name":"orders","schema":{"fields":[{"name":"x","type":"string"}]}}`, 404, `"NOT_FOUND"`, ""},
		{"B drops no table", bpy, "DELETE", "/api/apps/shop/datatables/orders/", "", 404, `"NOT_FOUND"`, ""},
		{"B deletes no app", bpy, "DELETE", "/api/apps/shop/", "", 404, `"NOT_FOUND"`, ""},
	})

	// B builds the same app and tables, whose ids collide with A's.
	shop(bpy, "bravo-customer", 7)
	runSteps(t, []step{
		{"B lists its app", bpy, "GET", "/api/apps/", "", 200, `"total":1`, "other"},
		{"B's rows", bjs, "GET", "api/apps/shop/datatables/orders/data/?ordering=id", "", 200, `"total":1`, `"total":100`},
		{"B's count", bjs, "GET", "api/apps/shop/datatables/orders/data/?_count=true", "", 200, `"total":1`, ""},
		{"B's aggregate", bjs, "GET", "api/apps/shop/datatables/orders/data/?_aggregate=sum(total),count(*)", "", 200, `"sum_total":7`, "600"},
		{"B's group by", bjs, "GET", "api/apps/shop/datatables/orders/data/?_aggregate=sum(total)&_group_by=customer", "", 200, `"sum_total":7`, "600"},
		{"B's populate reaches B's customer", bjs, "GET", "api/apps/shop/datatables/orders/data/?populate=customer", "", 200, `"bravo-customer"`, "alpha"},
		{"B's populate * too", bjs, "GET", "api/apps/shop/datatables/orders/data/1/?populate=*", "", 200, `"bravo-customer"`, "alpha"},
		{"B's search", bjs, "GET", "api/apps/shop/datatables/customers/data/?search=bravo", "", 200, `"total":1`, "alpha"},
		{"B's search finds nothing of A's", bjs, "GET", "api/apps/shop/datatables/customers/data/?search=alpha", "", 200, `"total":0`, "alpha"},
		{"B's tree", bjs, "GET", "api/apps/shop/datatables/orders/data/?filters=" + url.QueryEscape(`{"or":[{"total__gte":100},{"id":2}]}`), "", 200, `"total":0`, ""},
		{"B's bulk delete of A's ids touches B's only", bpy, "DELETE", "/api/apps/shop/datatables/orders/data/?ids=2,3", "", 200, `"deleted_count":0`, ""},
		{"B's delete by filter", bpy, "DELETE", "/api/apps/shop/datatables/orders/data/?filter=" + url.QueryEscape(`{"total__gte":100}`), "", 200, `"deleted_count":0`, ""},
		{"B has no app other", bpy, "GET", "/api/apps/other/datatables/secrets/data/", "", 404, `"NOT_FOUND"`, "alpha"},
	})

	// A's rows, counts and aggregates are A's alone, unchanged by B.
	runSteps(t, []step{
		{"A's count", apy, "GET", "/api/apps/shop/datatables/orders/data/?_count=true", "", 200, `"total":3`, ""},
		{"A's aggregate", apy, "GET", "/api/apps/shop/datatables/orders/data/?_aggregate=sum(total)", "", 200, `"sum_total":600`, ""},
		{"A's populate", apy, "GET", "/api/apps/shop/datatables/orders/data/1/?populate=customer", "", 200, `"alpha-customer"`, "bravo"},
	})

	// App B of the same tenant reaches none of app A's tables.
	runSteps(t, []step{
		{"other lists only its table", ajs, "GET", "api/apps/other/datatables/", "", 200, `"total":1`, "orders"},
		{"other reads no shop definition", ajs, "GET", "api/apps/other/datatables/orders/", "", 404, `"NOT_FOUND"`, ""},
		{"other reads no shop rows", ajs, "GET", "api/apps/other/datatables/orders/data/", "", 404, `"NOT_FOUND"`, "alpha"},
		{"other counts no shop rows", ajs, "GET", "api/apps/other/datatables/orders/data/?_count=true", "", 404, `"NOT_FOUND"`, ""},
		{"other reads no shop row", ajs, "GET", "api/apps/other/datatables/orders/data/1/", "", 404, `"NOT_FOUND"`, ""},
		{"other writes no shop rows", ajs, "POST", "api/apps/other/datatables/orders/data/", `{"total":1}`, 404, `"NOT_FOUND"`, ""},
		{"other deletes no shop rows", ajs, "DELETE", "api/apps/other/datatables/orders/data/?ids=1", "", 404, `"NOT_FOUND"`, ""},
		{"other keys no shop table", ajs, "POST", "api/apps/other/datatables/",
			`{"name":"x","schema":{"fields":[{"name":"c","type":"integer"}],"foreignKeys":[{"fields":"c","reference":{"resource":"customers"}}]}}`,
			400, `"schema.foreignKeys.0`, ""},
		{"shop populates nothing of other", ajs, "GET", "api/apps/shop/datatables/orders/data/?populate=secrets", "", 400, `"populate"`, "alpha-secret"},
		{"shop has no secrets", ajs, "GET", "api/apps/shop/datatables/secrets/data/", "", 404, `"NOT_FOUND"`, "alpha-secret"},
	})

	// A's tokens on B's host, and B's on A's: 401, and nothing of the other.
	onB := func(c *sdkClient) *sdkClient {
		d := *c
		d.apiURL = strings.Replace(c.apiURL, oa.tenant.Schema, ob.tenant.Schema, 1)
		return &d
	}
	onA := func(c *sdkClient) *sdkClient {
		d := *c
		d.apiURL = strings.Replace(c.apiURL, ob.tenant.Schema, oa.tenant.Schema, 1)
		return &d
	}
	for _, c := range []*sdkClient{onB(ajs), onB(apy), onA(bjs), onA(bpy)} {
		for _, path := range []string{"/api/apps/", "/api/apps/shop/datatables/orders/data/", "/api/apps/shop/datatables/orders/data/?_count=true",
			"/api/users/me/", "/_allauth/app/v1/auth/session"} {
			status, out := c.call(t, "GET", path, "")
			if status != 401 || strings.Contains(out, "customer") || strings.Contains(out, `"total"`) {
				t.Errorf("%s with the other tenant's token: GET %s: %d %.300s, want 401", c.name, path, status, out)
			}
		}
		if status, out := c.call(t, "POST", "/api/apps/shop/datatables/orders/data/", `{"total":5}`); status != 401 {
			t.Errorf("%s with the other tenant's token: a create: %d %.300s, want 401", c.name, status, out)
		}
	}
	// The same on the tenants' own hosts (<schema>.localhost), where each
	// token works on its own tenant's host only.
	onHost := func(c *sdkClient, tn *siteOwner) *sdkClient {
		d := *c
		d.apiURL, d.host = s.base, tn.tenant.Schema+".localhost"
		return &d
	}
	for _, tt := range []struct {
		c      *sdkClient
		status int
	}{{onHost(ajs, oa), 200}, {onHost(apy, oa), 200}, {onHost(ajs, ob), 401}, {onHost(apy, ob), 401}, {onHost(bjs, oa), 401}, {onHost(bpy, ob), 200}} {
		status, out := tt.c.call(t, "GET", "/api/apps/shop/datatables/orders/data/?_count=true", "")
		if status != tt.status {
			t.Errorf("%s on host %s: %d %.300s, want %d", tt.c.name, tt.c.host, status, out, tt.status)
		}
	}

	// A's password does not sign in on B's site.
	status, out := (&sdkClient{name: "login", apiURL: onB(ajs).apiURL, join: jsJoin}).call(t, "POST", "_allauth/app/v1/auth/login",
		fmt.Sprintf(`{"email":%q,"password":%q}`, oa.email, oa.password))
	if status == 200 || strings.Contains(out, "session_token") {
		t.Errorf("A's credentials on B's sign-in: %d %s", status, out)
	}
	var counts []int
	for _, c := range []*sdkClient{apy, bpy} {
		env := decodeEnvelope(t, c.must(t, 200, "GET", "/api/apps/shop/datatables/orders/data/?_count=true", ""))
		if env.Total != nil {
			counts = append(counts, *env.Total)
		}
	}
	if fmt.Sprint(counts) != "[3 1]" {
		t.Errorf("the tenants' order counts at the end: %v, want [3 1]", counts)
	}
}

// TestDatatableSearchOverHTTP: a table created with search_fields is
// found by search=, ranked by the fields' weights, through the data API.
// The words searched for are ones that English stemming changes
// ("postgres", "indexes"), as most words are.
func TestDatatableSearchOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	_, c := s.siteClients(t, s.newSite(t, "owner"))
	c.must(t, 201, "POST", "/api/apps/", `{"name":"Blog"}`)
	base := "/api/apps/blog/datatables/"
	c.must(t, 201, "POST", base, `{"name":"articles","schema":{"fields":[
		{"name":"title","type":"string"},{"name":"body","type":"string"}]},
		"search_fields":[{"field":"title","weight":"A"},{"field":"body","weight":"D"}]}`)
	arts := base + "articles/data/"
	inBody := createRow(t, c, arts, `{"title":"Gardening","body":"notes on postgres tuning"}`)
	inTitle := createRow(t, c, arts, `{"title":"Postgres indexes","body":"btree and gin"}`)
	createRow(t, c, arts, `{"title":"Cooking","body":"soup"}`)
	var found []map[string]any
	into(t, c.must(t, 200, "GET", arts+"?search=postgres", ""), &found)
	if len(found) != 2 || fmt.Sprint(found[0]["id"]) != inTitle || fmt.Sprint(found[1]["id"]) != inBody {
		t.Errorf("search=postgres: %v, want the title match (weight A) before the body match (D), no soup", found)
	}
	runSteps(t, []step{
		{"search with a filter", c, "GET", arts + "?search=postgres&title__icontains=garden", "", 200, `"total":1`, "Cooking"},
		{"search of nothing found", c, "GET", arts + "?search=" + url.QueryEscape("zebra"), "", 200, `"total":0`, ""},
	})

	runSteps(t, []step{
		{"a word as written", c, "GET", arts + "?search=indexes", "", 200, `"total":1`, "Gardening"},
		{"the search operator of a filter", c, "GET", arts + "?title__search=postgres", "", 200, `"total":1`, "Gardening"},
	})
}

// TestDatatableQueryFormsOverHTTP: the query and body forms the SDKs
// send, over the real server: repeated keys, %2C lists, null tests as
// true and True, array operators, aggregates named as the Python SDK
// reads them and aliased, a filter= object nesting a tree as a JSON
// string, an upsert of an existing and a new row, one credential chosen
// when a client sends two, and a field's type changed with its data.
func TestDatatableQueryFormsOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	js, py := s.siteClients(t, s.newSite(t, "owner"))
	py.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	py.must(t, 201, "POST", "/api/apps/p/datatables/", `{"name":"items","schema":{"primaryKey":"id","fields":[
		{"name":"id","type":"integer"},{"name":"state","type":"string"},{"name":"email","type":"string","constraints":{"unique":true}},
		{"name":"qty","type":"integer"},{"name":"tags","type":"array"},{"name":"gone","type":"datetime"}]}}`)
	rows := "/api/apps/p/datatables/items/data/"
	createRow(t, py, rows, `{"state":"a","email":"1@x","qty":1,"tags":["x","y"]}`)
	createRow(t, py, rows, `{"state":"b","email":"2@x","qty":2,"tags":["y"]}`)
	createRow(t, py, rows, `{"state":"c","email":"3@x","qty":3,"tags":[],"gone":"2026-01-01T00:00:00Z"}`)
	runSteps(t, []step{
		{"repeated ne", py, "GET", rows + "?state__ne=a&state__ne=b", "", 200, `"total":1`, ""},
		{"in with %2C", py, "GET", rows + "?state__in=a%2Cc", "", 200, `"total":2`, ""},
		{"isnull", py, "GET", rows + "?gone__isnull=true", "", 200, `"total":2`, ""},
		{"null True", py, "GET", rows + "?gone__null=True", "", 200, `"total":2`, ""},
		{"nnull", py, "GET", rows + "?gone__nnull=true", "", 200, `"total":1`, ""},
		{"acontains", py, "GET", rows + "?tags__acontains=y", "", 200, `"total":2`, ""},
		{"aoverlap", py, "GET", rows + "?tags__aoverlap=x,z", "", 200, `"total":1`, ""},
		{"between", py, "GET", rows + "?qty__between=2,3", "", 200, `"total":2`, ""},
		{"aggregates named sum_<field>", py, "GET", rows + "?_aggregate=count(*),sum(qty),avg(qty)", "", 200, `"sum_qty":6`, ""},
		{"and count", py, "GET", rows + "?_aggregate=count(*),sum(qty)", "", 200, `"count":3`, ""},
		{"an alias", py, "GET", rows + "?_aggregate=" + url.QueryEscape("sum(qty) as total_qty"), "", 200, `"total_qty":6`, ""},
		{"group by and having", py, "GET", rows + "?_aggregate=sum(qty)&_group_by=state&_having=" + url.QueryEscape("sum_qty > 1"), "", 200, `"state":"b"`, `"state":"a"`},
		{"page 0", py, "GET", rows + "?page=0", "", 400, `"page"`, ""},
		{"an unknown operator", py, "GET", rows + "?qty__foo=1", "", 400, `"qty__foo"`, ""},
		{"a value of the wrong type", py, "GET", rows + "?qty=abc", "", 400, `"qty"`, ""},
		{"an unknown field", py, "GET", rows + "?nope=1", "", 400, `"nope"`, ""},
		{"an unknown field in a tree", py, "GET", rows + "?filters=" + url.QueryEscape(`{"or":[{"nope":1}]}`), "", 400, `"nope"`, ""},
		{"an upsert of an existing and a new row", py, "POST", rows + "upsert/?unique_fields=email", `[{"email":"1@x","qty":10},{"email":"4@x","qty":4}]`, 200, `"count":2`, ""},
		{"unique_fields of no unique constraint", py, "POST", rows + "upsert/?unique_fields=state", `{"state":"a"}`, 400, `"unique_fields"`, ""},
		{"an upsert on the key", py, "POST", rows + "upsert/", `{"id":1,"state":"pk"}`, 200, `"count":1`, ""},
		{"a filter= object nesting a tree", py, "DELETE", rows + "?filter=" + url.QueryEscape(`{"qty__gte":3,"filters":"{\"or\":[{\"state\":\"c\"},{\"state\":\"zzz\"}]}"}`), "", 200, `"deleted_count":1`, ""},
		{"what is left", py, "GET", rows + "?_count=true", "", 200, `"total":3`, ""},
		{"a type change with data", py, "PUT", "/api/apps/p/datatables/items/", `{"name":"items","schema":{"primaryKey":"id","fields":[
			{"name":"id","type":"integer"},{"name":"state","type":"string"},{"name":"email","type":"string","constraints":{"unique":true}},
			{"name":"qty","type":"string"},{"name":"tags","type":"array"},{"name":"gone","type":"datetime"}]}}`, 200, `"rewrites":true`, ""},
		{"the values as text", py, "GET", rows + "?qty__startswith=1&_count=true", "", 200, `"total":1`, ""},
	})
	// A client sending a Bearer token and a session token is judged by one
	// of them, the same every time.
	for range 3 {
		req, _ := http.NewRequest("GET", jsJoin(js.apiURL, rows), nil)
		req.Header.Set("X-Session-Token", js.cred)
		req.Header.Set("Authorization", py.cred)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, body := resp.StatusCode, string(b)
		if status != 200 || !strings.Contains(body, `"success"`) {
			t.Errorf("two credentials of the same user: %d %.300s", status, body)
		}
	}
}

// TestAppSettingsUnsetAreNull: the JS live test reads a fresh app's
// default_frontend_worker_slug as null, not "".
func TestAppSettingsUnsetAreNull(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	js, _ := s.siteClients(t, s.newSite(t, "owner"))
	js.must(t, 201, "POST", "api/apps/", `{"name":"Test App"}`)
	var settings map[string]any
	into(t, js.must(t, 200, "GET", "api/apps/test-app/settings/", ""), &settings)
	if v, ok := settings["default_frontend_worker_slug"]; !ok || v != nil {
		t.Errorf("default_frontend_worker_slug of a fresh app: %#v, want null", v)
	}
}

// TestBulkCreateKeysFollowArrayOrder: the rows of one bulk create get
// their generated keys in the order of the array, whichever fields each
// row names, so that ordering=id lists them as they were sent.
func TestBulkCreateKeysFollowArrayOrder(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	js, py := s.siteClients(t, s.newSite(t, "owner"))
	py.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	py.must(t, 201, "POST", "/api/apps/p/datatables/", `{"name":"items","schema":{"primaryKey":"id","fields":[
		{"name":"id","type":"integer"},{"name":"state","type":"string"},{"name":"email","type":"string"}]}}`)
	var created []map[string]any
	into(t, js.must(t, 201, "POST", "api/apps/p/datatables/items/data/", `[{"state":"o1"},{"state":"o2","email":"o2@x"},{"state":"o3"}]`), &created)
	var listed []map[string]any
	into(t, py.must(t, 200, "GET", "/api/apps/p/datatables/items/data/?ordering=id&fields=id,state", ""), &listed)
	var got []string
	for _, r := range listed {
		got = append(got, fmt.Sprint(r["state"]))
	}
	if strings.Join(got, ",") != "o1,o2,o3" {
		t.Errorf("rows ordered by id: %v, want o1,o2,o3 as sent (created: %v)", got, created)
	}
}

// TestDeletingAUserReferencedByDatatables: datatables' foreign keys to the
// tenant's users act when a user is deleted: SET NULL clears the field,
// CASCADE deletes the rows, and a RESTRICT (or NO ACTION) key that still
// references the user makes the deletion a 409 that deletes nothing.
func TestDeletingAUserReferencedByDatatables(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, c := s.siteClients(t, o)
	newUser := func(name string) string {
		var u map[string]any
		into(t, c.must(t, 201, "POST", "/api/users/", fmt.Sprintf(`{"username":%q,"email":"%s@users.test","password":"a long password 1"}`, name, name)), &u)
		return fmt.Sprint(u["id"])
	}
	ann, bob := newUser("ann"), newUser("bob")
	c.must(t, 201, "POST", "/api/apps/", `{"name":"Desk"}`)
	c.must(t, 201, "POST", "/api/apps/desk/datatables/", `{"name":"tickets","schema":{"fields":[
		{"name":"title","type":"string"},{"name":"assignee","type":"integer"},{"name":"author","type":"integer"}],
		"foreignKeys":[{"fields":"assignee","reference":{"resource":"users"},"onDelete":"SET NULL"},
			{"fields":"author","reference":{"resource":"auth_user"},"onDelete":"CASCADE"}]}}`)
	c.must(t, 201, "POST", "/api/apps/desk/datatables/", `{"name":"audits","schema":{"fields":[
		{"name":"auditor","type":"integer"}],
		"foreignKeys":[{"fields":"auditor","reference":{"resource":"users"},"onDelete":"RESTRICT"}]}}`)
	tickets := "/api/apps/desk/datatables/tickets/data/"
	kept := createRow(t, c, tickets, `{"title":"kept","assignee":`+ann+`,"author":`+bob+`}`)
	createRow(t, c, tickets, `{"title":"goes","assignee":`+bob+`,"author":`+ann+`}`)
	audit := createRow(t, c, "/api/apps/desk/datatables/audits/data/", `{"auditor":`+bob+`}`)

	runSteps(t, []step{
		{"delete Ann", c, "DELETE", "/api/users/" + ann + "/", "", 200, `"success"`, ""},
		{"SET NULL cleared her assignment", c, "GET", tickets + kept + "/", "", 200, `"assignee":null`, ""},
		{"CASCADE deleted what she wrote", c, "GET", tickets + "?_count=true", "", 200, `"total":1`, ""},
		{"a RESTRICT key keeps Bob", c, "DELETE", "/api/users/" + bob + "/", "", 409, `"CONFLICT"`, ""},
		{"Bob is still there", c, "GET", "/api/users/" + bob + "/", "", 200, `"bob"`, ""},
		{"and the audit", c, "GET", "/api/apps/desk/datatables/audits/data/" + audit + "/", "", 200, `"auditor":` + bob, ""},
	})
}

// TestDatatablePermissionsOverHTTP: members who sign in through the
// allauth path hold only what they were granted: none of the apps
// permissions is a 403 everywhere, apps.view_app shows definitions but
// no rows, apps.view_data reads rows but writes none, apps.change_data
// writes them; none may change a definition.
func TestDatatablePermissionsOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, owner := s.siteClients(t, o)
	owner.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
	owner.must(t, 201, "POST", "/api/apps/shop/datatables/", contactsTable)
	rows := "/api/apps/shop/datatables/contacts/data/"
	id := createRow(t, owner, rows, `{"name":"Ann","email":"ann@x.test"}`)
	member := func(name string, perms ...string) *sdkClient {
		var u map[string]any
		into(t, owner.must(t, 201, "POST", "/api/users/", fmt.Sprintf(`{"username":%q,"email":"%s@members.test","password":"a member password"}`, name, name)), &u)
		for _, p := range perms {
			owner.must(t, 201, "POST", "/api/grants", fmt.Sprintf(`{"user_id":%v,"permission":%q}`, u["id"], p))
		}
		js, _ := s.siteClients(t, &siteOwner{tenant: o.tenant, email: name + "@members.test", password: "a member password"})
		return js
	}
	none, viewer := member("none"), member("viewer", "apps.view_app")
	reader, writer := member("reader", "apps.view_data"), member("writer", "apps.view_data", "apps.change_data")
	def := "/api/apps/shop/datatables/contacts/"
	runSteps(t, []step{
		{"no grant: no apps", none, "GET", "/api/apps/", "", 403, `"FORBIDDEN"`, "shop"},
		{"no grant: no rows", none, "GET", rows, "", 403, `"FORBIDDEN"`, "Ann"},
		{"no grant: no count", none, "GET", rows + "?_count=true", "", 403, `"FORBIDDEN"`, `"total"`},
		{"no grant: no writes", none, "POST", rows, `{"name":"x"}`, 403, `"FORBIDDEN"`, ""},
		{"viewer: the definition", viewer, "GET", def, "", 200, `"email"`, ""},
		{"viewer: no rows", viewer, "GET", rows, "", 403, `"FORBIDDEN"`, "Ann"},
		{"viewer: no change of the definition", viewer, "PUT", def, contactsTable, 403, `"FORBIDDEN"`, ""},
		{"reader: rows", reader, "GET", rows, "", 200, `"Ann"`, ""},
		{"reader: a row", reader, "GET", rows + id + "/", "", 200, `"Ann"`, ""},
		{"reader: aggregates", reader, "GET", rows + "?_aggregate=count(*)", "", 200, `"count":1`, ""},
		{"reader: no create", reader, "POST", rows, `{"name":"x"}`, 403, `"FORBIDDEN"`, ""},
		{"reader: no update", reader, "PATCH", rows + id + "/", `{"name":"x"}`, 403, `"FORBIDDEN"`, ""},
		{"reader: no upsert", reader, "POST", rows + "upsert/?unique_fields=email", `{"email":"ann@x.test","name":"x"}`, 403, `"FORBIDDEN"`, ""},
		{"reader: no delete", reader, "DELETE", rows + "?ids=" + id, "", 403, `"FORBIDDEN"`, ""},
		{"writer: create", writer, "POST", rows, `{"name":"Bob","email":"bob@x.test"}`, 201, `"Bob"`, ""},
		{"writer: update", writer, "PATCH", rows + id + "/", `{"description":"w"}`, 200, `"description":"w"`, ""},
		{"writer: no definition change", writer, "PUT", def + "?dry_run=true", contactsTable, 403, `"FORBIDDEN"`, ""},
		{"writer: no table drop", writer, "DELETE", def, "", 403, `"FORBIDDEN"`, ""},
		{"Ann unchanged by the refusals", owner, "GET", rows + id + "/", "", 200, `"name":"Ann"`, ""},
	})
}
