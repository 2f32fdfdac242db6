package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// TenancyChannel is the NOTIFY channel on which every change to
// public.tenants or public.domains is announced.
const TenancyChannel = "taruvi_tenancy"

// ListenTenancy calls onChange whenever a tenant or domain changes, on this
// or any other replica, and once after every (re)connection, since changes
// may have been missed while disconnected. It holds one connection of its
// own and returns when ctx ends.
func (db *DB) ListenTenancy(ctx context.Context, log *slog.Logger, onChange func()) {
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, onChange)
		if ctx.Err() != nil {
			return
		}
		log.Warn("tenancy listener lost its connection; retrying", "error", err)
		onChange()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, onChange func()) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// LISTEN binds the session: this connection never goes back to the pool.
	pgConn := conn.Hijack()
	defer pgConn.Close(context.Background())
	if _, err := pgConn.Exec(ctx, "LISTEN "+TenancyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	onChange()
	for {
		if _, err := pgConn.WaitForNotification(ctx); err != nil {
			return err
		}
		onChange()
	}
}
