package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"taruvi"
)

// AcquireSandboxConn takes a raw connection of the tenant's sandbox pool,
// for tests that go past the guard to show what the database's privileges
// refuse on their own.
func (db *DB) AcquireSandboxConn(ctx context.Context, t *taruvi.Tenant) (*pgxpool.Conn, func(), error) {
	return db.sandbox.acquire(ctx, t)
}

// CloseSandboxPool closes the tenant's sandbox pool, as a restart would.
func (db *DB) CloseSandboxPool(t *taruvi.Tenant) { db.sandbox.closeTenant(t.Role) }
