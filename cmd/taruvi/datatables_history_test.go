package main

import (
	"context"
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
