package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// TenantBlobRemover removes every blob of a deleted tenant: those under
// prefix, the whole prefix of one tenant (taruvi.ValidateBlobPrefix).
type TenantBlobRemover interface {
	DeleteTenantBlobs(ctx context.Context, prefix string) (int64, error)
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

// ActiveTenants lists the active tenants, oldest first, with their ID and
// Schema only.
func (m *Maintenance) ActiveTenants(ctx context.Context) ([]taruvi.Tenant, error) {
	rows, _ := m.db.pool.Query(ctx, `SELECT id, schema_name FROM public.tenants WHERE status = 'active' ORDER BY id`)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (taruvi.Tenant, error) {
		var t taruvi.Tenant
		return t, row.Scan(&t.ID, &t.Schema)
	})
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
// history, and removes the blobs of deleted tenants.
func (m *Maintenance) MaintainPlatform(ctx context.Context, historyBefore time.Time) (taruvi.MaintenanceCounts, error) {
	var c taruvi.MaintenanceCounts
	err := m.db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return purgeIdentity(ctx, tx, "public.", historyBefore, &c)
	})
	if err != nil {
		return c, err
	}
	if remover, ok := m.blobs.(TenantBlobRemover); ok {
		c.Blobs, err = m.purgeDeletedTenants(ctx, remover)
	}
	return c, err
}

// deletedTenant is a row of public.deleted_tenants: tenantID is 0 for a
// deletion recorded before tenants were recorded by id.
type deletedTenant struct {
	row, tenantID int64
	schema        string
	nameTaken     bool // a live tenant has the schema name
}

// purgeDeletedTenants removes the blobs of deleted tenants, a hundred
// tenants per pass. A tenant's own prefix (its id) is always removed: no
// other tenant ever writes there. The prefix of its schema name, where
// blobs were stored before keys named the id, is removed only while no
// live tenant has that name, since such a tenant may have blobs of its own
// there from before; when one has, that prefix is left as it is.
func (m *Maintenance) purgeDeletedTenants(ctx context.Context, remover TenantBlobRemover) (int64, error) {
	rows, _ := m.db.pool.Query(ctx, `SELECT d.id, coalesce(d.tenant_id, 0), d.schema_name,
			EXISTS (SELECT 1 FROM public.tenants t WHERE t.schema_name = d.schema_name)
		FROM public.deleted_tenants d ORDER BY d.deleted_at LIMIT 100`)
	gone, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (deletedTenant, error) {
		var d deletedTenant
		return d, row.Scan(&d.row, &d.tenantID, &d.schema, &d.nameTaken)
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, d := range gone {
		var prefixes []string
		if d.tenantID != 0 {
			prefixes = append(prefixes, taruvi.TenantBlobPrefix(&taruvi.Tenant{ID: d.tenantID}))
		}
		if !d.nameTaken {
			prefixes = append(prefixes, taruvi.SchemaBlobPrefix(d.schema))
		}
		for _, p := range prefixes {
			n, err := remover.DeleteTenantBlobs(ctx, p)
			total += n
			if err != nil {
				return total, err
			}
		}
		if _, err := m.db.pool.Exec(ctx, `DELETE FROM public.deleted_tenants WHERE id = $1`, d.row); err != nil {
			return total, err
		}
	}
	return total, nil
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
	t := taruvi.TenantFromContext(ctx)
	var removed []string
	for _, key := range orphans {
		if t.OwnsBlobKey(key) {
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
