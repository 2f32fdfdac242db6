package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// TestTenantCannotTouchAnotherTenant runs, under tenant A's scope,
// statements that name tenant B's schema or the platform's explicitly. The
// database must refuse each one with permission denied, and B's data must
// be as it was.
func TestTenantCannotTouchAnotherTenant(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctxA, a := postgrestest.TenantContext(t, db)
	ctxB, b := postgrestest.TenantContext(t, db)
	err := db.InTenant(ctxB, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('color', '"blue"')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	bSettings := pgx.Identifier{b.Schema, "settings"}.Sanitize()
	bSchema := pgx.Identifier{b.Schema}.Sanitize()
	tests := []struct {
		name string
		sql  string
	}{
		{"select", `SELECT * FROM ` + bSettings},
		{"insert", `INSERT INTO ` + bSettings + ` (key, value) VALUES ('x', '1')`},
		{"update", `UPDATE ` + bSettings + ` SET value = '"red"'`},
		{"delete", `DELETE FROM ` + bSettings},
		{"truncate", `TRUNCATE ` + bSettings},
		{"alter table", `ALTER TABLE ` + bSettings + ` ADD COLUMN stolen text`},
		{"create table", `CREATE TABLE ` + bSchema + `.stolen (id int)`},
		{"drop schema", `DROP SCHEMA ` + bSchema + ` CASCADE`},
		{"platform tenants", `SELECT * FROM public.tenants`},
		{"platform domains", `SELECT * FROM public.domains`},
		{"platform install", `SELECT * FROM public.taruvi_install`},
		{"platform write", `UPDATE public.tenants SET status = 'suspended'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ran := false
			err := db.InTenant(ctxA, func(ctx context.Context, tx pgx.Tx) error {
				ran = true
				_, err := tx.Exec(ctx, tt.sql)
				return err
			})
			if !ran {
				t.Fatal("fn did not run")
			}
			if code := pgCode(err); code != "42501" {
				t.Fatalf("as tenant %s, %s: got error %v (SQLSTATE %q), want permission denied (42501)", a.Schema, tt.sql, err, code)
			}
		})
	}
	t.Cleanup(func() {
		// After every attempt (subtests run before cleanups), B still has
		// its one row, untouched, and its table its three columns.
		var value json.RawMessage
		var n, cols int
		err := db.InTenant(ctxB, func(ctx context.Context, tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT count(*), max(value::text)::jsonb FROM settings`).Scan(&n, &value); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'settings'::regclass AND attnum > 0 AND NOT attisdropped`).Scan(&cols)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || string(value) != `"blue"` || cols != 3 {
			t.Errorf("tenant B after A's attempts: %d rows, value %s, %d columns; want 1, \"blue\", 3", n, value, cols)
		}
		if got := catalogCount(t, db, `SELECT count(*) FROM public.tenants WHERE status = 'suspended' AND schema_name IN ($1, $2)`, a.Schema, b.Schema); got != 0 {
			t.Errorf("%d of tenants A and B suspended by A's attempts", got)
		}
	})
}

// TestTenantSearchPathSwitchFindsNothing: a tenant that points its own
// search_path at another schema still cannot read from it.
func TestTenantSearchPathSwitchFindsNothing(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctxA, _ := postgrestest.TenantContext(t, db)
	_, b := postgrestest.TenantContext(t, db)
	for path, table := range map[string]string{pgx.Identifier{b.Schema}.Sanitize(): "settings", "public": "tenants"} {
		err := db.InTenant(ctxA, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, path); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `SELECT * FROM `+table)
			return err
		})
		// A schema the role may not use drops out of the search_path, so
		// the name resolves to nothing rather than to B's table.
		if code := pgCode(err); code != "42P01" && code != "42501" {
			t.Errorf("search_path %s, table %s: got %v, want relation does not exist or permission denied", path, table, err)
		}
	}
}

// TestPlatformCannotTouchTenants: the platform role reads the platform
// tables and no tenant's.
func TestPlatformCannotTouchTenants(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	_, tenant := postgrestest.TenantContext(t, db)
	var n int
	err := db.InPlatform(context.Background(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE schema_name = $1`, tenant.Schema).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Fatalf("platform reading its tenants table: n=%d err=%v, want 1 row", n, err)
	}
	err = db.InPlatform(context.Background(), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT * FROM `+pgx.Identifier{tenant.Schema, "settings"}.Sanitize())
		return err
	})
	if code := pgCode(err); code != "42501" {
		t.Fatalf("platform reading a tenant table: got %v, want permission denied (42501)", err)
	}
}

// TestUnscopedQueryFindsNoTable: a query on the pool that forgot its scope
// resolves neither a tenant table nor a platform table.
func TestUnscopedQueryFindsNoTable(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	postgrestest.NewTenant(t, db)
	for _, sql := range []string{`SELECT * FROM settings`, `SELECT * FROM tenants`, `SELECT * FROM taruvi_migrations`} {
		rows, err := db.Pool().Query(context.Background(), sql)
		if err == nil {
			rows.Close()
			err = rows.Err()
		}
		if code := pgCode(err); code != "42P01" {
			t.Errorf("unscoped %s: got %v, want relation does not exist (42P01)", sql, err)
		}
	}
}

// TestInTenantWithoutTenantRunsNothing: InTenant refuses a context that
// carries no tenant before it starts a transaction.
func TestInTenantWithoutTenantRunsNothing(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	for _, ctx := range []context.Context{
		context.Background(),
		taruvi.NewContextWithRequestID(context.Background(), "req-1"),
		taruvi.NewContextWithTenant(context.Background(), nil),
	} {
		ran := false
		err := db.InTenant(ctx, func(context.Context, pgx.Tx) error { ran = true; return nil })
		if err == nil || ran {
			t.Errorf("InTenant without a tenant: err=%v, fn ran=%v; want an error and fn not run", err, ran)
		}
	}
}

// TestNoScopeLeaksToThePool runs many tenant transactions, failing ones
// and panicking ones included, on a pool of one connection, then checks
// that this same backend is back to the default search_path and the
// connecting user.
func TestNoScopeLeaksToThePool(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{})
	tenants := createTenants(t, admin, 2)
	db := openURL(t, url, postgres.Options{MaxConns: 1})
	ctx := context.Background()

	var wantUser string
	var pid int
	if err := db.Pool().QueryRow(ctx, `SELECT current_user, pg_backend_pid()`).Scan(&wantUser, &pid); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		tenant := tenants[i%2]
		tctx := taruvi.NewContextWithTenant(ctx, tenant)
		var gotPID int
		var user string
		err := callRecovering(func() error {
			return db.InTenant(tctx, func(ctx context.Context, tx pgx.Tx) error {
				if err := tx.QueryRow(ctx, `SELECT pg_backend_pid(), current_user`).Scan(&gotPID, &user); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					_, err := tx.Exec(ctx, `SELECT 1/0`)
					return err
				case 2:
					panic("boom")
				case 3:
					return errors.New("fn failed")
				}
				return nil
			})
		})
		if gotPID != pid || user != tenant.Role {
			t.Fatalf("iteration %d: backend %d as %q, want backend %d as %q", i, gotPID, user, pid, tenant.Role)
		}
		if (i%4 == 0) != (err == nil) {
			t.Fatalf("iteration %d: err = %v", i, err)
		}
	}
	var path, user string
	var gotPID int
	if err := db.Pool().QueryRow(ctx, `SELECT current_setting('search_path'), current_user, pg_backend_pid()`).Scan(&path, &user, &gotPID); err != nil {
		t.Fatal(err)
	}
	if path != "pg_catalog" || user != wantUser || gotPID != pid {
		t.Fatalf("pooled backend %d after tenant transactions: search_path %q, user %q; want backend %d, pg_catalog, %q", gotPID, path, user, pid, wantUser)
	}
}

// callRecovering calls fn and turns a panic into an error.
func callRecovering(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}
