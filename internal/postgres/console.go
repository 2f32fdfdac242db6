package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Console implements taruvi.PlatformService: the platform console's
// queries over the public schema (and the job tables when they exist).
type Console struct {
	db    *DB
	authz taruvi.Authorizer
}

var _ taruvi.PlatformService = (*Console)(nil)

// NewConsole returns the console service over db.
func NewConsole(db *DB, authz taruvi.Authorizer) *Console { return &Console{db: db, authz: authz} }

// requireAdmin allows platform admins on the platform only.
func (c *Console) requireAdmin(ctx context.Context) error {
	if taruvi.TenantFromContext(ctx) != nil {
		return taruvi.Errorf(taruvi.ENOTFOUND, "The platform console exists on platform hosts only.")
	}
	return c.authz.RequireOwner(ctx)
}

// Overview implements taruvi.PlatformService.
func (c *Console) Overview(ctx context.Context) (*taruvi.PlatformOverview, error) {
	if err := c.requireAdmin(ctx); err != nil {
		return nil, err
	}
	o := &taruvi.PlatformOverview{TenantsByStatus: map[string]int{taruvi.TenantActive: 0, taruvi.TenantSuspended: 0},
		TenantVersion: c.db.TenantVersion(), JobsByState: map[string]int{}}
	rows, _ := c.db.pool.Query(ctx, `SELECT status, count(*)::int, count(*) FILTER (WHERE schema_version < $1)::int
		FROM public.tenants GROUP BY status`, o.TenantVersion)
	var status string
	var n, behind int
	_, err := pgx.ForEachRow(rows, []any{&status, &n, &behind}, func() error {
		o.TenantsByStatus[status] = n
		o.Behind += behind
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count tenants: %w", err)
	}
	if err := c.db.pool.QueryRow(ctx, `SELECT to_regclass('river.river_job') IS NOT NULL`).Scan(&o.JobsConfigured); err != nil {
		return nil, fmt.Errorf("look for the job tables: %w", err)
	}
	if !o.JobsConfigured {
		return o, nil
	}
	rows, _ = c.db.pool.Query(ctx, `SELECT state::text, count(*)::int FROM river.river_job GROUP BY state`)
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		o.JobsByState[status] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return o, nil
}

// ListTenantPage implements taruvi.PlatformService in one statement: the
// page of tenants with the number of matches (pageSQL), and the domains
// of the page's tenants only, so a page costs the same with ten tenants or
// ten thousand. The search is served by a trigram index (migration 0004).
func (c *Console) ListTenantPage(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Tenant, int, error) {
	if err := c.requireAdmin(ctx); err != nil {
		return nil, 0, err
	}
	lc := buildList(taruvi.TenantListSpec, q, "t", nil)
	page := `SELECT ` + tenantColumns + `, t.count FROM (` + pageSQL("t.*", "public.tenants", "t", lc.Where, lc) + `) t ` +
		tenantDomains + ` ORDER BY ` + lc.Order
	tenants, total, err := listPage(ctx, c.db.pool, page, countSQL("public.tenants", "t", lc.Where),
		lc.Args, q.Offset(), scanTenant)
	if err != nil {
		return nil, 0, fmt.Errorf("list tenants: %w", err)
	}
	return tenants, total, nil
}

// ListPlatformHistory implements taruvi.PlatformService in one statement
// (pageSQL), newest first along history_created_idx.
func (c *Console) ListPlatformHistory(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.HistoryEntry, int, error) {
	if err := c.requireAdmin(ctx); err != nil {
		return nil, 0, err
	}
	lc := buildList(taruvi.PlatformHistoryListSpec, q, "h", nil)
	entries, total, err := listPage(ctx, c.db.pool, pageSQL(historyColumns, "public.history", "h", lc.Where, lc),
		countSQL("public.history", "h", lc.Where), lc.Args, q.Offset(), scanHistoryEntry)
	if err != nil {
		return nil, 0, fmt.Errorf("list platform history: %w", err)
	}
	return entries, total, nil
}

// PingDatabase implements taruvi.PlatformService.
func (c *Console) PingDatabase(ctx context.Context) error { return c.db.pool.Ping(ctx) }
