package apps_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/modules/apps"
)

const (
	customers = `{"name":"customers","schema":{"fields":[
		{"name":"name","type":"string","constraints":{"required":true}},
		{"name":"email","type":"string","constraints":{"unique":true,"pattern":"^[^@]+@[^@]+$"}},
		{"name":"age","type":"integer","constraints":{"minimum":0}}]},
		"search_fields":[{"field":"name","weight":"A"}]}`
	orders = `{"name":"orders","schema":{"primaryKey":"num","fields":[
		{"name":"num","type":"integer"},
		{"name":"customer","type":"uuid","constraints":{"required":true}},
		{"name":"clerk","type":"integer"},
		{"name":"total","type":"number","default":0}],
		"foreignKeys":[{"fields":"customer","reference":{"resource":"customers"},"onDelete":"CASCADE"},
			{"fields":"clerk","reference":{"resource":"users"},"x-actions":{"onDelete":"SET NULL"}}]},
		"indexes":[{"fields":["total"]}]}`
)

// TestApps runs every route of apps and their settings in two tenants:
// owners may do all, a viewer reads, others nothing, and tenant B sees
// nothing of tenant A's apps.
func TestApps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.newTenant(t), h.newTenant(t)
	h.run(t, []scenario{
		{"create with a derived slug", a, a.owner, "POST", "/api/apps/", `{"name":"Shop App!","description":"Sells"}`, 201, `"slug":"shop-app"`, ""},
		{"create with a slug", a, a.owner, "POST", "/api/apps", `{"name":"CRM","slug":"crm"}`, 201, `"slug":"crm"`, ""},
		{"a duplicate slug", a, a.owner, "POST", "/api/apps/", `{"name":"Shop app"}`, 409, `"CONFLICT"`, ""},
		{"a bad slug", a, a.owner, "POST", "/api/apps/", `{"name":"X","slug":"Bad Slug"}`, 400, `"slug"`, ""},
		{"no name", a, a.owner, "POST", "/api/apps/", `{"slug":"x"}`, 400, `"name"`, ""},
		{"an unknown member", a, a.owner, "POST", "/api/apps/", `{"name":"X","color":"red"}`, 400, `"color"`, ""},
		{"a viewer may not create", a, a.viewer, "POST", "/api/apps/", `{"name":"X"}`, 403, `"FORBIDDEN"`, ""},
		{"no credential", a, "", "GET", "/api/apps/", "", 401, `"UNAUTHORIZED"`, "shop"},
		{"list", a, a.owner, "GET", "/api/apps/?ordering=-slug", "", 200, `"total":2`, ""},
		{"list in order", a, a.owner, "GET", "/api/apps/?ordering=-slug", "", 200, `"slug":"shop-app"`, ""},
		{"search", a, a.owner, "GET", "/api/apps/?search=crm", "", 200, `"total":1`, "shop"},
		{"an unknown filter", a, a.owner, "GET", "/api/apps/?color=red", "", 400, `"color"`, ""},
		{"a viewer lists", a, a.viewer, "GET", "/api/apps/", "", 200, `"shop-app"`, ""},
		{"a stranger may not list", a, a.stranger, "GET", "/api/apps/", "", 403, `"FORBIDDEN"`, "shop"},
		{"read", a, a.viewer, "GET", "/api/apps/shop-app/", "", 200, `"description":"Sells"`, ""},
		{"an unknown app", a, a.owner, "GET", "/api/apps/nope", "", 404, `"NOT_FOUND"`, ""},
		{"change", a, a.owner, "PATCH", "/api/apps/crm/", `{"name":"Customers","slug":"crm2"}`, 200, `"slug":"crm2"`, ""},
		{"change onto a taken slug", a, a.owner, "PATCH", "/api/apps/crm2/", `{"slug":"shop-app"}`, 409, `"CONFLICT"`, ""},
		{"a viewer may not change", a, a.viewer, "PATCH", "/api/apps/crm2/", `{"name":"X"}`, 403, `"FORBIDDEN"`, ""},
		{"change nothing", a, a.owner, "PATCH", "/api/apps/crm2/", `{}`, 400, `"VALIDATION_ERROR"`, ""},
		{"the old slug is gone", a, a.owner, "GET", "/api/apps/crm/", "", 404, `"NOT_FOUND"`, ""},
		{"settings unset are null", a, a.viewer, "GET", "/api/apps/shop-app/settings/", "", 200,
			`"display_name":null,"icon":null,"icon_url":null,"primary_color":null`, `""`},
		{"change settings", a, a.owner, "PATCH", "/api/apps/shop-app/settings", `{"display_name":"Shop","primary_color":"#123456","icon":"i","category":""}`, 200,
			`"display_name":"Shop","icon":"i","icon_url":null,"primary_color":"#123456"`, ""},
		{"settings read back", a, a.owner, "GET", "/api/apps/shop-app/settings", "", 200, `"primary_color":"#123456"`, ""},
		{"an empty setting stays empty", a, a.owner, "GET", "/api/apps/shop-app/settings", "", 200, `"category":""`, ""},
		{"null clears a setting", a, a.owner, "PATCH", "/api/apps/shop-app/settings", `{"icon":null,"category":null}`, 200,
			`"display_name":"Shop","icon":null,`, `""`},
		{"a cleared setting reads null", a, a.owner, "GET", "/api/apps/shop-app/settings", "", 200, `"category":null`, `"icon":"i"`},
		{"a setting of the wrong type", a, a.owner, "PATCH", "/api/apps/shop-app/settings", `{"icon":1}`, 400, `"VALIDATION_ERROR"`, ""},
		{"a setting that is none", a, a.owner, "PATCH", "/api/apps/shop-app/settings", `{"theme":"dark"}`, 400, `"theme"`, ""},
		{"settings' times are not set", a, a.owner, "PATCH", "/api/apps/shop-app/settings", `{"created_at":"2020-01-01T00:00:00Z"}`, 400, `"created_at"`, ""},
		{"settings of no app", a, a.owner, "GET", "/api/apps/nope/settings", "", 404, `"NOT_FOUND"`, ""},
		{"a viewer may not change settings", a, a.viewer, "PATCH", "/api/apps/shop-app/settings", `{"icon":"x"}`, 403, `"FORBIDDEN"`, ""},

		// Tenant B sees and touches nothing of A's.
		{"B lists none", b, b.owner, "GET", "/api/apps/", "", 200, `"total":0`, "shop"},
		{"B reads none", b, b.owner, "GET", "/api/apps/shop-app/", "", 404, `"NOT_FOUND"`, "Sells"},
		{"B reads no settings", b, b.owner, "GET", "/api/apps/shop-app/settings/", "", 404, `"NOT_FOUND"`, "#123456"},
		{"B changes none", b, b.owner, "PATCH", "/api/apps/shop-app/", `{"name":"Mine"}`, 404, `"NOT_FOUND"`, ""},
		{"B deletes none", b, b.owner, "DELETE", "/api/apps/shop-app/", "", 404, `"NOT_FOUND"`, ""},
		{"B makes its own shop-app", b, b.owner, "POST", "/api/apps/", `{"name":"Shop app"}`, 201, `"slug":"shop-app"`, ""},
		{"A's is unchanged", a, a.owner, "GET", "/api/apps/shop-app/", "", 200, `"name":"Shop App!"`, ""},

		{"a viewer may not delete", a, a.viewer, "DELETE", "/api/apps/crm2/", "", 403, `"FORBIDDEN"`, ""},
		{"delete", a, a.owner, "DELETE", "/api/apps/crm2/", "", 200, `"success"`, ""},
		{"deleted", a, a.owner, "GET", "/api/apps/crm2/", "", 404, `"NOT_FOUND"`, ""},
		{"B still has its app", b, b.owner, "GET", "/api/apps/", "", 200, `"total":1`, ""},
	})
	// The history records A's apps under "app".
	var n int
	err := h.db.InTenant(a.ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM history WHERE object_type = 'app'`).Scan(&n)
	})
	if err != nil || n < 4 {
		t.Errorf("history of apps: %d entries (%v), want creates, updates and a delete", n, err)
	}
}

// TestDatatables runs the datatable routes: creating, reading, planning,
// changing and dropping tables in one app, invisible from another app
// and another tenant, and Table, which the data API reads definitions
// through.
func TestDatatables(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.newTenant(t), h.newTenant(t)
	for _, tn := range []*tenant{a, b} {
		h.run(t, []scenario{
			{"an app", tn, tn.owner, "POST", "/api/apps/", `{"name":"Shop"}`, 201, `"shop"`, ""},
			{"another app", tn, tn.owner, "POST", "/api/apps/", `{"name":"Other"}`, 201, `"other"`, ""},
		})
	}
	h.run(t, []scenario{
		{"create", a, a.owner, "POST", "/api/apps/shop/datatables/", customers, 201, `{"name":"id","type":"uuid","constraints":{"required":true}}`, ""},
		{"create with foreign keys", a, a.owner, "POST", "/api/apps/shop/datatables", orders, 201, `"onDelete":"SET NULL"`, "x-actions"},
		{"a duplicate", a, a.owner, "POST", "/api/apps/shop/datatables", customers, 409, `"CONFLICT"`, ""},
		{"a bad definition", a, a.owner, "POST", "/api/apps/shop/datatables",
			`{"name":"bad","schema":{"fields":[{"name":"n","type":"integer","constraints":{"maxLength":3}}]}}`, 400, `"schema.fields.n.constraints"`, ""},
		{"a foreign key to another app's table", a, a.owner, "POST", "/api/apps/other/datatables",
			`{"name":"x","schema":{"fields":[{"name":"c","type":"uuid"}],"foreignKeys":[{"fields":"c","reference":{"resource":"customers"}}]}}`,
			400, `"schema.foreignKeys.0.reference"`, ""},
		{"an unknown member", a, a.owner, "POST", "/api/apps/shop/datatables", `{"name":"x","schema":{"fields":[{"name":"c","type":"uuid"}]},"graph":{}}`, 400, `"graph"`, ""},
		{"in an unknown app", a, a.owner, "POST", "/api/apps/nope/datatables", customers, 404, `"NOT_FOUND"`, ""},
		{"a viewer may not create", a, a.viewer, "POST", "/api/apps/shop/datatables", `{"name":"v","schema":{"fields":[{"name":"c","type":"uuid"}]}}`, 403, `"FORBIDDEN"`, ""},
		{"list", a, a.viewer, "GET", "/api/apps/shop/datatables/", "", 200, `"total":2`, ""},
		{"a page", a, a.viewer, "GET", "/api/apps/shop/datatables/?page=2&page_size=1", "", 200, `"name":"orders"`, `"name":"customers"`},
		{"read", a, a.viewer, "GET", "/api/apps/shop/datatables/customers/", "", 200, `"search_fields":[{"field":"name","weight":"A"}]`, ""},
		{"a stranger may not read", a, a.stranger, "GET", "/api/apps/shop/datatables/customers/", "", 403, `"FORBIDDEN"`, "email"},
		{"another app has none", a, a.owner, "GET", "/api/apps/other/datatables/", "", 200, `"total":0`, "customers"},
		{"another app cannot read it", a, a.owner, "GET", "/api/apps/other/datatables/customers/", "", 404, `"NOT_FOUND"`, "email"},
		{"another app cannot change it", a, a.owner, "PUT", "/api/apps/other/datatables/customers/", customers, 404, `"NOT_FOUND"`, ""},
		{"another app cannot delete it", a, a.owner, "DELETE", "/api/apps/other/datatables/customers/", "", 404, `"NOT_FOUND"`, ""},
		{"B has none", b, b.owner, "GET", "/api/apps/shop/datatables/", "", 200, `"total":0`, "customers"},
		{"B cannot read it", b, b.owner, "GET", "/api/apps/shop/datatables/customers/", "", 404, `"NOT_FOUND"`, "email"},
		{"B cannot change it", b, b.owner, "PUT", "/api/apps/shop/datatables/customers/", customers, 404, `"NOT_FOUND"`, ""},
		{"B cannot delete it", b, b.owner, "DELETE", "/api/apps/shop/datatables/customers/", "", 404, `"NOT_FOUND"`, ""},
	})

	// Rows, written as the data API will write them.
	exec := func(tn *tenant, sql string, args ...any) error {
		return h.db.InTenant(tn.ctx, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		})
	}
	tbl, err := h.mod.Table(a.ctx, "shop", "customers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tbl.Table, "dt_") || !strings.HasSuffix(tbl.Table, "_customers") || tbl.Schema.Key() != "id" || len(tbl.Schema.Fields) != 4 {
		t.Fatalf("Table: %+v", tbl)
	}
	ident := pgx.Identifier{tbl.Table}.Sanitize()
	if err := exec(a, `INSERT INTO `+ident+` (name, email, age) VALUES ('Ann', 'ann@x.test', 30), ('Bob', 'bob@x.test', 40)`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, app, table string }{
		{"another app", "other", "customers"}, {"no table", "shop", "nope"}, {"no app", "nope", "customers"},
	} {
		if _, err := h.mod.Table(a.ctx, tt.app, tt.table); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("Table of %s: %v, want ENOTFOUND", tt.name, err)
		}
	}
	if _, err := h.mod.Table(b.ctx, "shop", "customers"); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("Table in tenant B: %v, want ENOTFOUND", err)
	}
	for _, tn := range []*tenant{a, b} {
		err := h.db.InTenant(tn.ctx, func(ctx context.Context, tx pgx.Tx) error {
			d, err := apps.TableIn(ctx, tx, "shop", "customers")
			if tn == a && (err != nil || d.Table != tbl.Table || d.ID != tbl.ID) {
				t.Errorf("TableIn in tenant A: %+v %v, want %s", d, err, tbl.Table)
			} else if tn == b && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
				t.Errorf("TableIn in tenant B: %+v %v, want ENOTFOUND", d, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := exec(b, `SELECT count(*) FROM `+pgx.Identifier{a.Schema, tbl.Table}.Sanitize()); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("B's role reading A's table: %v, want permission denied", err)
	}

	changed := `{"name":"customers","schema":{"fields":[
		{"name":"id","type":"uuid"},
		{"name":"full_name","type":"string","x-rename-from":"name","constraints":{"required":true}},
		{"name":"email","type":"string","constraints":{"unique":true}},
		{"name":"vip","type":"boolean","default":false,"constraints":{"required":true}}]},
		"search_fields":[{"field":"full_name","weight":"A"}]}`
	h.run(t, []scenario{
		{"a rename of a field another table references", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/?dry_run=true",
			strings.NewReplacer(`{"name":"id","type":"uuid"}`, `{"name":"key","type":"uuid","x-rename-from":"id"}`,
				`"schema":{`, `"schema":{"primaryKey":"key",`).Replace(changed), 400,
			`Datatable orders references id`, ""},
		{"a dry run", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/?dry_run=true", changed, 200,
			`"statements":["ALTER TABLE`, `"applied":true`},
		{"nothing applied", a, a.owner, "GET", "/api/apps/shop/datatables/customers/", "", 200, `"name":"age"`, "full_name"},
		{"a bad dry_run", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/?dry_run=maybe", changed, 400, `"dry_run"`, ""},
		{"a rename of the table", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/", strings.Replace(changed, `"customers"`, `"clients"`, 1), 400, `"name"`, ""},
		{"a viewer may not change", a, a.viewer, "PUT", "/api/apps/shop/datatables/customers/", changed, 403, `"FORBIDDEN"`, ""},
		{"apply", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/", changed, 200, `"applied":true`, "x-rename-from"},
		{"applied", a, a.owner, "GET", "/api/apps/shop/datatables/customers/", "", 200, `"full_name"`, `"age"`},
		{"the same again plans nothing", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/?dry_run=True", changed, 200, `"statements":[]`, ""},
		{"rows that break a new constraint", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/",
			strings.Replace(changed, `"unique":true`, `"unique":true,"maxLength":3`, 1), 400, `"VALIDATION_ERROR"`, ""},
		{"a new required field without a default, on rows", a, a.owner, "PUT", "/api/apps/shop/datatables/customers/",
			strings.Replace(changed, `{"name":"id","type":"uuid"},`, `{"name":"id","type":"uuid"},{"name":"phone","type":"string","constraints":{"required":true}},`, 1),
			400, `"VALIDATION_ERROR"`, ""},
		{"unchanged by the failures", a, a.owner, "GET", "/api/apps/shop/datatables/customers/", "", 200, `"full_name"`, `phone`},
	})
	var names []string
	err = h.db.InTenant(a.ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT full_name || ':' || vip FROM `+ident+` WHERE search_vector @@ to_tsquery('english', 'ann | bob') ORDER BY 1`)
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || strings.Join(names, ",") != "Ann:false,Bob:false" {
		t.Errorf("the rows after the change: %v %v, want Ann and Bob kept, found by search, vip false", names, err)
	}

	// The history has each row's creation and the update of one, under
	// the table's object type, with what changed.
	if err := exec(a, `UPDATE `+ident+` SET vip = true WHERE full_name = 'Ann'`); err != nil {
		t.Fatal(err)
	}
	var history []string
	err = h.db.InTenant(a.ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT action || ':' || array_to_string(changed, ',') || ':' || coalesce(after->>'full_name', after->>'name')
			FROM history WHERE object_type = $1 ORDER BY id`, taruvi.DatatableObjectType("shop", "customers"))
		history, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if want := "create::Ann,create::Bob,update:vip:Ann"; err != nil || strings.Join(history, ",") != want {
		t.Errorf("the rows' history: %v %v, want %s", history, err, want)
	}

	// Each change of the definition is in the history.
	if got := strings.Join(s0(h, a, `SELECT action FROM history WHERE object_type = 'datatable' AND object_id = $1 ORDER BY id`, strconv.FormatInt(tbl.ID, 10)), ","); got != "create,update" {
		t.Errorf("the definition's history: %s, want create,update (failed changes leave none)", got)
	}

	// A table other tables reference is not dropped; dropping the
	// referencing one first works.
	h.run(t, []scenario{
		{"a referenced table", a, a.owner, "DELETE", "/api/apps/shop/datatables/customers/", "", 409, `"CONFLICT"`, ""},
		{"still there", a, a.owner, "GET", "/api/apps/shop/datatables/customers/", "", 200, `"full_name"`, ""},
		{"a viewer may not delete", a, a.viewer, "DELETE", "/api/apps/shop/datatables/orders/", "", 403, `"FORBIDDEN"`, ""},
		{"drop orders", a, a.owner, "DELETE", "/api/apps/shop/datatables/orders/", "", 200, `"success"`, ""},
		{"gone", a, a.owner, "GET", "/api/apps/shop/datatables/orders/", "", 404, `"NOT_FOUND"`, ""},
		{"again", a, a.owner, "DELETE", "/api/apps/shop/datatables/orders/", "", 404, `"NOT_FOUND"`, ""},
	})

	// Deleting the app drops its tables in the same transaction.
	h.run(t, []scenario{{"delete the app", a, a.owner, "DELETE", "/api/apps/shop/", "", 200, `"success"`, ""}})
	var left int
	err = h.db.InTenant(a.ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'dt\_%'`).Scan(&left)
	})
	if err != nil || left != 0 {
		t.Errorf("tables left after deleting the app: %d (%v)", left, err)
	}
}

// TestDatatableLockTimeout: a change that cannot lock its table within
// the lock timeout answers 503 and changes nothing.
func TestDatatableLockTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.newTenant(t)
	h.run(t, []scenario{
		{"an app", a, a.owner, "POST", "/api/apps/", `{"name":"Shop"}`, 201, `"shop"`, ""},
		{"a table", a, a.owner, "POST", "/api/apps/shop/datatables/", customers, 201, `"customers"`, ""},
	})
	tbl, err := h.mod.Table(a.ctx, "shop", "customers")
	if err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- h.db.InTenant(a.ctx, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT count(*) FROM `+pgx.Identifier{tbl.Table}.Sanitize()); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	start := time.Now()
	status, body := h.do(t, a, a.owner, "PUT", "/api/apps/shop/datatables/customers/",
		strings.Replace(customers, `{"name":"age","type":"integer","constraints":{"minimum":0}}`, `{"name":"age","type":"number"}`, 1))
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if status != 503 || !strings.Contains(body, `"SERVICE_UNAVAILABLE"`) || time.Since(start) > 10*time.Second {
		t.Errorf("a change of a locked table: %d %s after %v, want 503 soon after 3s", status, body, time.Since(start))
	}
	got, err := h.mod.Table(a.ctx, "shop", "customers")
	if f, _ := got.Schema.Field("age"); err != nil || f.Type != "integer" {
		t.Errorf("the definition after the failed change: %+v %v", f, err)
	}
}

// s0 returns the rows of query in tn, one string each.
func s0(h *harness, tn *tenant, query string, args ...any) []string {
	var out []string
	err := h.db.InTenant(tn.ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, query, args...)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return []string{err.Error()}
	}
	return out
}
