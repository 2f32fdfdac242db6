package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// Tenants implements taruvi.TenantService and taruvi.TenantResolver.
type Tenants struct{ db *DB }

// NewTenants returns the tenant service over db.
func NewTenants(db *DB) *Tenants { return &Tenants{db: db} }

var (
	_ taruvi.TenantService  = (*Tenants)(nil)
	_ taruvi.TenantResolver = (*Tenants)(nil)
)

// CreateTenant provisions a tenant in one transaction: the row, its role,
// its schema owned by that role, every tenant migration and the recorded
// version, and the first domain. On any error nothing of it remains.
func (s *Tenants) CreateTenant(ctx context.Context, in taruvi.TenantCreate) (*taruvi.Tenant, error) {
	return s.db.CreateTenant(ctx, in)
}

// CreateTenant is Tenants.CreateTenant on the DB itself, for the test
// harness and the benchmarks.
func (db *DB) CreateTenant(ctx context.Context, in taruvi.TenantCreate) (*taruvi.Tenant, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		in.Name = in.Schema
	}
	in.Domain = taruvi.NormalizeHost(in.Domain)
	if err := validateTenantCreate(in); err != nil {
		return nil, err
	}
	prefix, err := db.rolePrefix(ctx)
	if err != nil {
		return nil, err
	}
	role := tenantRoleName(prefix, in.Schema)
	err = db.inPlatformTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO public.tenants (name, schema_name, role_name) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING RETURNING id`, in.Name, in.Schema, role).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ECONFLICT, "Tenant %q exists already.", in.Schema)
		} else if err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		// The domain goes in before the tenant's migrations run, which
		// clear the platform actor: an actor id of public.users means
		// nothing in the tenant's own history.
		if in.Domain != "" {
			if err := insertDomain(ctx, tx, id, in.Domain, true); err != nil {
				return err
			}
		}
		ident := pgx.Identifier{in.Schema}.Sanitize()
		roleIdent := pgx.Identifier{role}.Sanitize()
		ddl := fmt.Sprintf(`CREATE ROLE %s NOLOGIN IN ROLE %s; GRANT %s TO CURRENT_USER; CREATE SCHEMA %s AUTHORIZATION %s`,
			roleIdent, pgx.Identifier{prefix + "_tenants"}.Sanitize(), roleIdent, ident, roleIdent)
		if _, err := tx.Exec(ctx, ddl); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && (pgErr.Code == "42P06" || pgErr.Code == "42710") { // duplicate schema or role
				return taruvi.Errorf(taruvi.ECONFLICT, "A schema or role named for tenant %q exists already in this database.", in.Schema)
			}
			return fmt.Errorf("create role and schema: %w", err)
		}
		version, err := db.applyTenantMigrations(ctx, tx, in.Schema, role, 0)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE public.tenants SET schema_version = $2 WHERE id = $1`, id, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.FindTenant(ctx, in.Schema)
}

// inPlatformTx runs fn in a transaction as the connecting user, which
// provisioning needs (the platform role may not create roles and schemas),
// with the acting user and the request id set as InPlatform sets them, so
// that the platform history names who changed a tenant or a domain and in
// which request. BEGIN and the settings go in one round trip, as in
// inScope.
func (db *DB) inPlatformTx(ctx context.Context, fn TxFunc) error {
	args := scopeArgs(ctx, "public", "")
	begin := "BEGIN; SELECT set_config('taruvi.actor_id', " + sqlLiteral(args[2].(string)) +
		", true), set_config('taruvi.request_id', " + sqlLiteral(args[3].(string)) + ", true)"
	return db.inTxWith(ctx, db.pool, pgx.TxOptions{BeginQuery: begin}, fn)
}

func validateTenantCreate(in taruvi.TenantCreate) error {
	if err := taruvi.ValidateSchemaName(in.Schema); err != nil {
		return err
	}
	if len(in.Name) > 200 {
		return taruvi.Errorf(taruvi.EINVALID, "Invalid tenant name: use at most 200 characters.")
	}
	if in.Domain != "" {
		return taruvi.ValidateDomain(in.Domain)
	}
	return nil
}

// tenantRoleName is the database role of a tenant: the installation prefix
// and the schema name, shortened with a hash where that passes PostgreSQL's
// 63-byte limit for names.
func tenantRoleName(prefix, schema string) string {
	name := prefix + "_" + schema
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return name[:63-9] + "_" + hex.EncodeToString(sum[:4])
}

func insertDomain(ctx context.Context, tx pgx.Tx, tenantID int64, domain string, primary bool) error {
	if primary {
		if _, err := tx.Exec(ctx, `UPDATE public.domains SET is_primary = false WHERE tenant_id = $1 AND is_primary`, tenantID); err != nil {
			return err
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO public.domains (domain, tenant_id, is_primary) VALUES ($1, $2, $3)
		ON CONFLICT (domain) DO NOTHING`, domain, tenantID, primary)
	if err != nil {
		return fmt.Errorf("insert domain: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return taruvi.Errorf(taruvi.ECONFLICT, "Domain %q is taken already.", domain)
	}
	return nil
}

// tenantColumns select a tenant of alias t with its domains, which
// tenantDomains joins as d.
const (
	tenantColumns = `t.id, t.name, t.schema_name, t.role_name, t.status, t.schema_version,
	t.created_at, t.updated_at, coalesce(d.domains, '{}'), coalesce(d.primaries, '{}'),
	t.request_quota, t.cors_origins`
	tenantDomains = `LEFT JOIN LATERAL (
	SELECT array_agg(domain ORDER BY is_primary DESC, domain) AS domains,
	       array_agg(is_primary ORDER BY is_primary DESC, domain) AS primaries
	FROM public.domains WHERE tenant_id = t.id
) d ON true`
	selectTenant = `SELECT ` + tenantColumns + ` FROM public.tenants t ` + tenantDomains
)

func scanTenant(row pgx.Row, extra ...any) (*taruvi.Tenant, error) {
	var t taruvi.Tenant
	var domains []string
	var primaries []bool
	if err := row.Scan(append([]any{&t.ID, &t.Name, &t.Schema, &t.Role, &t.Status, &t.SchemaVersion,
		&t.CreatedAt, &t.UpdatedAt, &domains, &primaries, &t.RequestQuota, &t.CORSOrigins}, extra...)...); err != nil {
		return nil, err
	}
	for i, d := range domains {
		t.Domains = append(t.Domains, taruvi.Domain{Domain: d, Schema: t.Schema, Primary: primaries[i]})
	}
	return &t, nil
}

func collectTenant(row pgx.CollectableRow) (*taruvi.Tenant, error) { return scanTenant(row) }

func (db *DB) findTenant(ctx context.Context, where string, arg any) (*taruvi.Tenant, error) {
	rows, err := db.pool.Query(ctx, selectTenant+" WHERE "+where, arg)
	if err != nil {
		return nil, fmt.Errorf("find tenant: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, collectTenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Tenant not found.")
	}
	return t, err
}

// FindTenant returns the tenant whose schema is schema, or ENOTFOUND.
func (db *DB) FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	return db.findTenant(ctx, "t.schema_name = $1", schema)
}

// FindTenant returns the tenant whose schema is schema, or ENOTFOUND.
func (s *Tenants) FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	return s.db.FindTenant(ctx, schema)
}

// FindTenantByDomain returns the tenant an explicit domain maps to, or
// ENOTFOUND.
func (s *Tenants) FindTenantByDomain(ctx context.Context, domain string) (*taruvi.Tenant, error) {
	return s.db.findTenant(ctx, "t.id = (SELECT tenant_id FROM public.domains WHERE domain = $1)", domain)
}

// ListTenants returns every tenant with its domains, oldest first.
func (s *Tenants) ListTenants(ctx context.Context) ([]*taruvi.Tenant, error) {
	rows, err := s.db.pool.Query(ctx, selectTenant+" ORDER BY t.id")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return pgx.CollectRows(rows, collectTenant)
}

// SetTenantStatus suspends or resumes a tenant.
func (s *Tenants) SetTenantStatus(ctx context.Context, schema, status string) error {
	if status != taruvi.TenantActive && status != taruvi.TenantSuspended {
		return taruvi.Errorf(taruvi.EINVALID, "Invalid status %q: use %s or %s.", status, taruvi.TenantActive, taruvi.TenantSuspended)
	}
	return s.db.inPlatformTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE public.tenants SET status = $2, updated_at = now() WHERE schema_name = $1`, schema, status)
		if err != nil {
			return fmt.Errorf("set tenant status: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
		}
		return nil
	})
}

// UpdateTenantSettings changes a tenant's request quota or CORS origins.
// The tenants trigger tells every replica, whose tenant caches then read the
// new settings.
func (s *Tenants) UpdateTenantSettings(ctx context.Context, schema string, in taruvi.TenantSettings) (*taruvi.Tenant, error) {
	if err := taruvi.ValidateTenantSettings(&in); err != nil {
		return nil, err
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE public.tenants SET request_quota = coalesce($2, request_quota),
		cors_origins = coalesce($3, cors_origins), updated_at = now() WHERE schema_name = $1`,
		schema, in.RequestQuota, in.CORSOrigins)
	if err != nil {
		return nil, fmt.Errorf("update tenant settings: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
	}
	return s.FindTenant(ctx, schema)
}

// DeleteTenant drops a suspended tenant's schema, role, row and domains in
// one transaction. An active tenant must be suspended first, so that a
// deletion is always the second of two deliberate steps. The same
// transaction announces on RevocationsChannel that every replica is to
// forget the tenant's sessions and cached answers ("t|" and its scope
// key); this one forgets them once it commits.
func (s *Tenants) DeleteTenant(ctx context.Context, schema string) error {
	var gone string
	err := s.db.inPlatformTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var id int64
		var role, status string
		err := tx.QueryRow(ctx, `SELECT id, role_name, status FROM public.tenants WHERE schema_name = $1 FOR UPDATE`, schema).
			Scan(&id, &role, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
		} else if err != nil {
			return err
		}
		if status != taruvi.TenantSuspended {
			return taruvi.Errorf(taruvi.ECONFLICT, "Tenant %q is %s: suspend it before deleting it.", schema, status)
		}
		// PostgreSQL drops a role that is logged in and lets its sessions
		// run on: end those of the sandboxed door, here and in every
		// other process.
		s.db.sandbox.closeTenant(role)
		if _, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role); err != nil {
			return fmt.Errorf("end sessions of %s: %w", schema, err)
		}
		roleIdent := pgx.Identifier{role}.Sanitize()
		ddl := fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE; DROP OWNED BY %s; DROP ROLE IF EXISTS %s`,
			pgx.Identifier{schema}.Sanitize(), roleIdent, roleIdent)
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("drop schema and role of %s: %w", schema, err)
		}
		// Its blobs go later, with maintenance: the store is not transactional.
		_, err = tx.Exec(ctx, `DELETE FROM public.tenants WHERE id = $1`, id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO public.deleted_tenants (schema_name, tenant_id) VALUES ($1, $2)`, schema, id)
		if err != nil {
			return err
		}
		gone = (&taruvi.Tenant{ID: id}).ScopeKey()
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, RevocationsChannel, "t|"+gone)
		return err
	})
	if err == nil {
		// This process forgets the tenant at once; the others (and this
		// one, again) when the notification arrives.
		s.db.feed.deliver(taruvi.Change{Kind: taruvi.ChangeDeleted, Scope: gone})
	}
	return err
}

// AddDomain maps domain to the tenant; primary makes it the tenant's
// primary domain in place of the old one.
func (s *Tenants) AddDomain(ctx context.Context, schema, domain string, primary bool) error {
	domain = taruvi.NormalizeHost(domain)
	if err := taruvi.ValidateDomain(domain); err != nil {
		return err
	}
	return s.db.inPlatformTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM public.tenants WHERE schema_name = $1`, schema).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
		} else if err != nil {
			return err
		}
		return insertDomain(ctx, tx, id, domain, primary)
	})
}

// RemoveDomain removes a domain mapping.
func (s *Tenants) RemoveDomain(ctx context.Context, domain string) error {
	return s.db.inPlatformTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM public.domains WHERE domain = $1`, taruvi.NormalizeHost(domain))
		if err != nil {
			return fmt.Errorf("remove domain: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Domain %q not found.", domain)
		}
		return nil
	})
}
