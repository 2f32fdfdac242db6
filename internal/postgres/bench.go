package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
)

var migrationNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,50}$`)

// TenantMigrationsPlus returns the embedded tenant migrations plus one more
// after the newest, named NNNN_<name>.sql, as a file system for
// Options.TenantMigrations. The benchmarks use it to measure an upgrade of
// every tenant without shipping a migration for it.
func TenantMigrationsPlus(name, sql string) (fs.FS, error) {
	if !migrationNameRE.MatchString(name) {
		return nil, fmt.Errorf("migration name %q: use lower-case letters, digits and underscores", name)
	}
	sub, err := fs.Sub(embeddedMigrations, "migrations/tenant")
	if err != nil {
		return nil, err
	}
	set, err := loadMigrations(sub, "migrations/tenant")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, m := range set {
		out[m.Name] = &fstest.MapFile{Data: []byte(m.SQL), Mode: 0o444}
	}
	out[fmt.Sprintf("%04d_%s.sql", len(set)+1, name)] = &fstest.MapFile{Data: []byte(sql), Mode: 0o444}
	return out, nil
}

// RolePrefix returns the installation's role prefix: every role it creates
// is named <prefix>_..., so tools can report and clean them up.
func (db *DB) RolePrefix(ctx context.Context) (string, error) { return db.rolePrefix(ctx) }

// Checkpoint runs CHECKPOINT on the server, which needs a superuser or the
// pg_checkpoint role. The benchmarks call it between their setup and the
// part they measure.
func (db *DB) Checkpoint(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "CHECKPOINT")
	return err
}

// Checkpoint runs CHECKPOINT on the scratch database's server, which needs
// a superuser or the pg_checkpoint role. DROP DATABASE waits for a
// checkpoint of its own, and after thousands of tenants (tens of files
// each) that one can outlast Drop's time limit; a checkpoint first, on the
// caller's context, leaves Drop little to wait for.
func (s *Scratch) Checkpoint(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}
