package dataschema_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/dataschema"
)

// TestLiteralsWhateverStandardConformingStrings creates a table whose
// pattern, enum and default hold backslashes and quotes, with
// standard_conforming_strings on and off, and checks the database reads
// each value exactly as written.
func TestLiteralsWhateverStandardConformingStrings(t *testing.T) {
	t.Parallel()
	s := newSpace(t)
	const value = `a\'b'c\`
	const pattern = `^a\\\'b'c\\$` // a, a backslash, a quote, b, a quote, c, a backslash
	for _, setting := range []string{"on", "off"} {
		t.Run(setting, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"name": "quoted_" + setting, "schema": map[string]any{"fields": []any{
				map[string]any{"name": "v", "type": "string", "default": value,
					"constraints": map[string]any{"pattern": pattern, "enum": []string{value, `x\`, `'`}}}}}})
			err := s.db.InTenant(s.ctx, func(ctx context.Context, tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL standard_conforming_strings = "+setting); err != nil {
					return err
				}
				var in taruvi.Datatable
				if err := json.Unmarshal(body, &in); err != nil {
					return err
				}
				d, err := dataschema.Normalize(&in, s.lookup(ctx, tx))
				if err != nil {
					return err
				}
				d.Table = dataschema.TableName(s.appID, d.Name)
				stmts, err := dataschema.Create(d, s.lookup(ctx, tx))
				if err != nil {
					return err
				}
				for _, stmt := range stmts {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return fmt.Errorf("%s: %w", stmt, err)
					}
				}
				table := pgx.Identifier{d.Table}.Sanitize()
				var got string
				if err := tx.QueryRow(ctx, "INSERT INTO "+table+" DEFAULT VALUES RETURNING v").Scan(&got); err != nil {
					return fmt.Errorf("the default: %w", err)
				}
				if got != value {
					t.Errorf("the default is %q, want %q", got, value)
				}
				if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (v) VALUES ($1)", value); err != nil {
					return fmt.Errorf("the value: %w", err)
				}
				// In the enum but not matching the pattern, and matching
				// neither: both refused by a CHECK.
				for _, bad := range []string{`x\`, `a\\'b'c\`, `a'b'c`} {
					_, err := tx.Exec(ctx, "SAVEPOINT p")
					if err == nil {
						_, err = tx.Exec(ctx, "INSERT INTO "+table+" (v) VALUES ($1)", bad)
					}
					if code := pgCode(err); code != "23514" {
						t.Errorf("%q: %v, want a check violation", bad, err)
					}
					if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT p"); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
