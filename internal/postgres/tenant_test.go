package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

func TestInTenantScopesSchemaAndRole(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, tenant := postgrestest.TenantContext(t, db)
	var schema, role string
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT current_schema(), current_user`).Scan(&schema, &role)
	})
	if err != nil {
		t.Fatal(err)
	}
	if schema != tenant.Schema || role != tenant.Role {
		t.Fatalf("in tenant %s/%s: got schema %q role %q", tenant.Schema, tenant.Role, schema, role)
	}
}

// openScratch opens a migrated database of the test's own and returns its
// URL too, so that a test can open more pools on the same database.
func openScratch(t *testing.T, opts postgres.Options) (string, *postgres.DB) {
	t.Helper()
	url := postgrestest.NewScratch(t)
	return url, openURL(t, url, opts)
}

// openURL opens one more pool on url, migrates the public schema (a no-op
// when it is current) and closes the pool when the test ends.
func openURL(t *testing.T, url string, opts postgres.Options) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, _, err := db.MigratePublic(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// createTenants provisions n tenants with fresh schema names. Their schema
// and roles go with the test's scratch database.
func createTenants(t *testing.T, db *postgres.DB, n int) []*taruvi.Tenant {
	t.Helper()
	var out []*taruvi.Tenant
	for range n {
		tenant, err := db.CreateTenant(context.Background(), taruvi.TenantCreate{Schema: postgrestest.SchemaName()})
		if err != nil {
			t.Fatalf("provision tenant: %v", err)
		}
		out = append(out, tenant)
	}
	return out
}

// pgCode returns the SQLSTATE of the first PostgreSQL error in err's chain.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// rolePrefix reads the installation's role prefix from the catalog.
func rolePrefix(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var prefix string
	if err := db.Pool().QueryRow(context.Background(), `SELECT role_prefix FROM public.taruvi_install`).Scan(&prefix); err != nil {
		t.Fatal(err)
	}
	return prefix
}

// catalogCount runs a count(*) query on the pool, as the connecting user.
func catalogCount(t *testing.T, db *postgres.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// leftovers counts what a tenant named schema with role left behind: its
// schema, its role and its row in public.tenants.
func leftovers(t *testing.T, db *postgres.DB, schema, role string) (schemas, roles, rows int) {
	t.Helper()
	return catalogCount(t, db, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema),
		catalogCount(t, db, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, role),
		catalogCount(t, db, `SELECT count(*) FROM public.tenants WHERE schema_name = $1`, schema)
}

// tenantVersion returns the version public.tenants records for schema and
// the newest version in the schema's own taruvi_migrations.
func tenantVersion(t *testing.T, db *postgres.DB, schema string) (recorded, applied int) {
	t.Helper()
	ctx := context.Background()
	if err := db.Pool().QueryRow(ctx, `SELECT schema_version FROM public.tenants WHERE schema_name = $1`, schema).Scan(&recorded); err != nil {
		t.Fatalf("read version of %s: %v", schema, err)
	}
	// Each app's versions count from 1; the tenant's version is their sum.
	q := `SELECT count(*) FROM ` + pgx.Identifier{schema, "taruvi_migrations"}.Sanitize()
	if err := db.Pool().QueryRow(ctx, q).Scan(&applied); err != nil {
		t.Fatalf("read migrations of %s: %v", schema, err)
	}
	return recorded, applied
}
