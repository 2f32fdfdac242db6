package postgres

import (
	"context"
	"io/fs"
)

// RolePrefix returns the installation's role prefix: every role it creates
// is named <prefix>_..., so tools can report and clean them up.
func (db *DB) RolePrefix(ctx context.Context) (string, error) { return db.rolePrefix(ctx) }

// EmbeddedTenantMigrations returns the core's tenant migrations this binary
// ships, the set Options.TenantMigrations replaces, for a caller that
// builds on it (a benchmark adds one of its own).
func EmbeddedTenantMigrations() fs.FS {
	sub, err := fs.Sub(embeddedMigrations, "migrations/tenant")
	if err != nil {
		panic(err) // the directory is embedded: only a broken build lacks it
	}
	return sub
}
