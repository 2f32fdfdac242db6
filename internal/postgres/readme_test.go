package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/postgres/postgrestest"
)

// TestREADMENamesEveryPermission: the README's list of what users may be
// granted names every permission a tenant has, those of the apps included.
func TestREADMENamesEveryPermission(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, _ := postgrestest.TenantContext(t, db)
	var codenames []string
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT codename FROM permissions ORDER BY codename`)
		if err != nil {
			return err
		}
		codenames, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(codenames) == 0 {
		t.Fatal("a new tenant has no permissions")
	}
	for _, c := range codenames {
		if !strings.Contains(string(readme), "`"+c+"`") {
			t.Errorf("README.md does not name the permission %s", c)
		}
	}
}
