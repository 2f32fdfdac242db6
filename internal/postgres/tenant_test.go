package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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
