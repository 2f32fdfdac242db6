package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notification channels. Triggers on public.tenants and public.domains
// announce tenancy changes; session revocations and user changes are
// announced by the transactions that make them.
const (
	TenancyChannel     = "taruvi_tenancy"
	RevocationsChannel = "taruvi_revocations"
	CacheChannel       = "taruvi_cache" // cache invalidations (see internal/cache)
)

// Notify sends payload on channel to every listening replica, this one
// included.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if _, err := db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls handlers[channel](payload) for every notification on the
// given channels, on this or any other replica, and calls reset after every
// (re)connection, since notifications may have been missed while
// disconnected. It holds one connection of its own and returns when ctx
// ends.
func (db *DB) Listen(ctx context.Context, log *slog.Logger, handlers map[string]func(payload string), reset func()) {
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, handlers, reset)
		if ctx.Err() != nil {
			return
		}
		log.Warn("notification listener lost its connection; retrying", "error", err)
		reset()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// ListenTenancy calls onChange whenever a tenant or domain changes, and
// after every reconnection.
func (db *DB) ListenTenancy(ctx context.Context, log *slog.Logger, onChange func()) {
	db.Listen(ctx, log, map[string]func(string){TenancyChannel: func(string) { onChange() }}, onChange)
}

func (db *DB) listenOnce(ctx context.Context, handlers map[string]func(string), reset func()) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// LISTEN binds the session: this connection never goes back to the pool.
	pgConn := conn.Hijack()
	defer pgConn.Close(context.Background())
	for channel := range handlers {
		if _, err := pgConn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", channel, err)
		}
	}
	reset()
	for {
		n, err := pgConn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if h := handlers[n.Channel]; h != nil {
			h(n.Payload)
		}
	}
}
