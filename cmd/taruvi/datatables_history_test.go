package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// TestDatatableHistoryOverHTTP: the rows' creates, updates (with what
// changed), upserts and deletes made through the data API are in the
// tenant's history under the table's object type, each with the signed-in
// user and the request it came with.
func TestDatatableHistoryOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	js, py := s.siteClients(t, o)
	py.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
	py.must(t, 201, "POST", "/api/apps/shop/datatables/", contactsTable)
	rows := "/api/apps/shop/datatables/contacts/data/"
	id := createRow(t, js, rows, `{"name":"Ann","email":"ann@x.test"}`)
	js.must(t, 200, "PATCH", rows+id+"/", `{"name":"Anna"}`)
	py.must(t, 200, "POST", rows+"upsert/?unique_fields=email", `[{"name":"Bob","email":"bob@x.test"},{"name":"Ann3","email":"ann@x.test"}]`)
	py.must(t, 200, "DELETE", rows+"?ids="+id, "")
	ctx := taruvi.NewContextWithTenant(context.Background(), o.tenant)
	var got []string
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		r, _ := tx.Query(ctx, `SELECT object_id || ':' || action || ':' || array_to_string(changed, ',') || ':' || (actor_id = $1) || ':' || (request_id <> '')
			FROM history WHERE object_type = $2 ORDER BY object_id, id`, o.userID, taruvi.DatatableObjectType("shop", "contacts"))
		var err error
		got, err = pgx.CollectRows(r, pgx.RowTo[string])
		return err
	})
	want := "1:create::true:true,1:update:name:true:true,1:update:name:true:true,1:delete::true:true,2:create::true:true"
	if err != nil || strings.Join(got, ",") != want {
		t.Errorf("the rows' history: %v %v\nwant %s", got, err, want)
	}
}

// TestDatatableRowHistoryAPI: GET /api/history/ reads the history of a
// datatable's rows (object type datatable:<app>/<table>, the row's key as
// object_id, an integer or a uuid) for whoever may read the rows: the
// owner and apps.view_data, not apps.view_app alone. An unknown app or
// table, or a row with no history, is a 404, and tenant B, even with an
// app and table of the same names, reads none of A's.
func TestDatatableRowHistoryAPI(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	js, py := s.siteClients(t, o)
	py.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
	py.must(t, 201, "POST", "/api/apps/shop/datatables/", contactsTable)
	py.must(t, 201, "POST", "/api/apps/shop/datatables/", `{"name":"notes","schema":{"fields":[{"name":"text","type":"string"}]}}`)
	rows := "/api/apps/shop/datatables/contacts/data/"
	id := createRow(t, js, rows, `{"name":"Ann","email":"ann@x.test"}`)
	js.must(t, 200, "PATCH", rows+id+"/", `{"name":"Anna"}`)
	note := createRow(t, js, "/api/apps/shop/datatables/notes/data/", `{"text":"secret note"}`)
	member := func(name string, perms ...string) *sdkClient {
		var u map[string]any
		into(t, py.must(t, 201, "POST", "/api/users/", fmt.Sprintf(`{"username":%q,"email":"%s@members.test","password":"a member password"}`, name, name)), &u)
		for _, p := range perms {
			py.must(t, 201, "POST", "/api/grants", fmt.Sprintf(`{"user_id":%v,"permission":%q}`, u["id"], p))
		}
		c, _ := s.siteClients(t, &siteOwner{tenant: o.tenant, email: name + "@members.test", password: "a member password"})
		return c
	}
	reader, viewer := member("reader", "apps.view_data"), member("viewer", "apps.view_app")
	b := s.newSite(t, "other")
	_, bc := s.siteClients(t, b)
	bc.must(t, 201, "POST", "/api/apps/", `{"name":"Shop"}`)
	bc.must(t, 201, "POST", "/api/apps/shop/datatables/", contactsTable)
	hist := "/api/history/?object_type=datatable:shop/contacts&object_id="
	runSteps(t, []step{
		{"the owner reads a row's history", py, "GET", hist + id, "", 200, `"changed":["name"]`, ""},
		{"both entries, newest first", js, "GET", hist + id, "", 200, `"action":"update"`, ""},
		{"with the total", py, "GET", hist + id, "", 200, `"total":2`, ""},
		{"apps.view_data reads it", reader, "GET", hist + id, "", 200, `"Anna"`, ""},
		{"apps.view_app alone does not", viewer, "GET", hist + id, "", 403, `"FORBIDDEN"`, "Anna"},
		{"a uuid key", py, "GET", "/api/history/?object_type=datatable:shop/notes&object_id=" + note, "", 200, `"secret note"`, ""},
		{"a row with no history", py, "GET", hist + "999", "", 404, `"NOT_FOUND"`, ""},
		{"an unknown table", py, "GET", "/api/history/?object_type=datatable:shop/nope&object_id=1", "", 404, `"NOT_FOUND"`, ""},
		{"an unknown app", py, "GET", "/api/history/?object_type=datatable:nope/contacts&object_id=1", "", 404, `"NOT_FOUND"`, ""},
		{"a malformed type", py, "GET", "/api/history/?object_type=datatable:shop&object_id=1", "", 404, `"NOT_FOUND"`, ""},
		{"no object id", py, "GET", "/api/history/?object_type=datatable:shop/contacts", "", 400, `"object_id"`, ""},
		{"an unknown type names the family", py, "GET", "/api/history/?object_type=rows&object_id=1", "", 400, `datatable:...`, ""},
		{"B reads none of A's rows", bc, "GET", hist + id, "", 404, `"NOT_FOUND"`, "Ann"},
		{"B reads none of A's notes", bc, "GET", "/api/history/?object_type=datatable:shop/notes&object_id=" + note, "", 404, `"NOT_FOUND"`, "secret"},
	})
}
