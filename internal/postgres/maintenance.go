package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// TenantBlobRemover removes every blob of a deleted tenant.
type TenantBlobRemover interface {
	DeleteTenantBlobs(ctx context.Context, schema string) (int64, error)
}

// Maintenance purges what has expired: sessions, refresh tokens, API keys
// and old history in the platform and in each tenant, the blobs whose rows
// were deleted, and the blobs of deleted tenants.
type Maintenance struct {
	db    *DB
	blobs taruvi.BlobStore
	log   *slog.Logger
}

// NewMaintenance returns the maintenance store over db and blobs.
func NewMaintenance(db *DB, blobs taruvi.BlobStore, log *slog.Logger) *Maintenance {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Maintenance{db: db, blobs: blobs, log: log}
}

// ActiveTenants lists the schemas of active tenants, oldest first.
func (m *Maintenance) ActiveTenants(ctx context.Context) ([]string, error) {
	rows, _ := m.db.pool.Query(ctx, `SELECT schema_name FROM public.tenants WHERE status = 'active' ORDER BY id`)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// purgeIdentity deletes what has expired from the identity tables of the
// scope tx runs in (prefix "public." on the platform, "" in a tenant).
func purgeIdentity(ctx context.Context, tx pgx.Tx, prefix string, historyBefore time.Time, c *taruvi.MaintenanceCounts) error {
	steps := []struct {
		sql string
		n   *int64
		arg []any
	}{
		{`DELETE FROM ` + prefix + `sessions WHERE expires_at < now()`, &c.Sessions, nil},
		{`DELETE FROM ` + prefix + `api_keys WHERE expires_at < now()`, &c.APIKeys, nil},
		{`DELETE FROM ` + prefix + `history WHERE created_at < $1`, &c.History, []any{historyBefore}},
	}
	for _, s := range steps {
		tag, err := tx.Exec(ctx, s.sql, s.arg...)
		if err != nil {
			return fmt.Errorf("maintenance: %w", err)
		}
		*s.n = tag.RowsAffected()
	}
	return nil
}

// MaintainPlatform purges the platform's expired credentials and old
// history, and removes the blobs of deleted tenants (unless a tenant of
// the same schema exists again, whose blobs share the prefix).
func (m *Maintenance) MaintainPlatform(ctx context.Context, historyBefore time.Time) (taruvi.MaintenanceCounts, error) {
	var c taruvi.MaintenanceCounts
	err := m.db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return purgeIdentity(ctx, tx, "public.", historyBefore, &c)
	})
	if err != nil {
		return c, err
	}
	remover, ok := m.blobs.(TenantBlobRemover)
	if !ok {
		return c, nil
	}
	rows, _ := m.db.pool.Query(ctx, `SELECT d.schema_name, EXISTS (SELECT 1 FROM public.tenants t WHERE t.schema_name = d.schema_name)
		FROM public.deleted_tenants d ORDER BY d.deleted_at LIMIT 100`)
	type deleted struct {
		schema string
		again  bool
	}
	gone, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (deleted, error) {
		var d deleted
		return d, row.Scan(&d.schema, &d.again)
	})
	if err != nil {
		return c, err
	}
	for _, d := range gone {
		if !d.again {
			n, err := remover.DeleteTenantBlobs(ctx, d.schema)
			if err != nil {
				return c, err
			}
			c.Blobs += n
		}
		if _, err := m.db.pool.Exec(ctx, `DELETE FROM public.deleted_tenants WHERE schema_name = $1`, d.schema); err != nil {
			return c, err
		}
	}
	return c, nil
}

// MaintainTenant purges the expired credentials and old history of the
// tenant of ctx and removes the blobs whose rows were deleted, a thousand
// per pass.
func (m *Maintenance) MaintainTenant(ctx context.Context, historyBefore time.Time) (taruvi.MaintenanceCounts, error) {
	var c taruvi.MaintenanceCounts
	var orphans []string
	err := m.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := purgeIdentity(ctx, tx, "", historyBefore, &c); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT storage_key FROM orphaned_blobs ORDER BY orphaned_at LIMIT 1000`)
		var err error
		orphans, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || len(orphans) == 0 {
		return c, err
	}
	prefix := taruvi.TenantBlobPrefix(taruvi.TenantFromContext(ctx).Schema)
	var removed []string
	for _, key := range orphans {
		if strings.HasPrefix(key, prefix) {
			err := m.blobs.Delete(ctx, key)
			if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
				m.log.WarnContext(ctx, "maintenance: remove orphaned blob", "key", key, "error", err)
				continue
			}
			if err == nil {
				c.Blobs++
			}
		}
		removed = append(removed, key)
	}
	err = m.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM orphaned_blobs WHERE storage_key = ANY($1)`, removed)
		return err
	})
	return c, err
}
