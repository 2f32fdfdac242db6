package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

//go:embed migrations
var embeddedMigrations embed.FS

// Migration is one up-only SQL file. Its version is the number its file
// name starts with (0003_add_tasks.sql is version 3).
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// coreApp names the platform's own migration sets in taruvi_migrations.
const coreApp = "core"

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// migrationSet is the tenant migrations of one app.
type migrationSet struct {
	app        string
	migrations []Migration
}

func (db *DB) hasApp(name string) bool {
	for _, s := range db.tenant {
		if s.app == name {
			return true
		}
	}
	return false
}

// loadMigrations reads the .sql files of fsys (the embedded dir when fsys
// is nil). Versions must run 1, 2, 3, ... without gaps or repeats.
func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	if fsys == nil {
		sub, err := fs.Sub(embeddedMigrations, dir)
		if err != nil {
			return nil, err
		}
		fsys = sub
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s/%s: file name must start with a version number such as 0001_", dir, e.Name())
		}
		sql, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(sql)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations %s: want version %d, found %s", dir, i+1, m.Name)
		}
	}
	return out, nil
}

// PublicVersion is the version of the newest public migration this binary has.
func (db *DB) PublicVersion() int { return len(db.public) }

// TenantVersion is the tenant schema version this binary wants: the number
// of tenant migrations of the core and of every app (each set only grows,
// so a sum that is short means some set is behind). A tenant whose schema
// is older answers 503 until migrated.
func (db *DB) TenantVersion() int {
	n := 0
	for _, s := range db.tenant {
		n += len(s.migrations)
	}
	return n
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS taruvi_migrations (
    app        text NOT NULL DEFAULT 'core',
    version    integer NOT NULL,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app, version)
)`

// MigratePublic applies the public migrations that the database lacks, in
// one transaction, serialised with any other migrator by an advisory lock.
// It returns the versions before and after.
func (db *DB) MigratePublic(ctx context.Context) (from, to int, err error) {
	err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('taruvi_migrate_public'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', 'public', true)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, createVersionTable); err != nil {
			return fmt.Errorf("create public.taruvi_migrations: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM taruvi_migrations WHERE app = $1`, coreApp).Scan(&from); err != nil {
			return err
		}
		to, err = applyMigrations(ctx, tx, coreApp, db.public, from)
		return err
	})
	return from, to, err
}

// PublicSchemaVersion reads the version the public schema is at (0 for a
// database never migrated).
func (db *DB) PublicSchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('public.taruvi_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read public schema version: %w", err)
	}
	var v int
	if exists {
		if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM public.taruvi_migrations WHERE app = 'core'`).Scan(&v); err != nil {
			return 0, fmt.Errorf("read public schema version: %w", err)
		}
	}
	return v, nil
}

// CheckPublic returns an EUNAVAILABLE error when the public schema is behind
// this binary, the check `serve` makes before it starts.
func (db *DB) CheckPublic(ctx context.Context) error {
	v, err := db.PublicSchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v < db.PublicVersion() {
		return taruvi.Errorf(taruvi.EUNAVAILABLE, "The public schema is at version %d, this binary needs %d: run `taruvi migrate` first.", v, db.PublicVersion())
	}
	return nil
}

// applyMigrations runs app's migrations after version from in tx, recording
// each in taruvi_migrations of the current search_path, and returns the new
// version.
func applyMigrations(ctx context.Context, tx pgx.Tx, app string, set []Migration, from int) (int, error) {
	to := from
	for _, m := range set[min(from, len(set)):] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return to, fmt.Errorf("migration %s/%s: %w", app, m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO taruvi_migrations (app, version, name) VALUES ($1, $2, $3)`, app, m.Version, m.Name); err != nil {
			return to, fmt.Errorf("record migration %s/%s: %w", app, m.Name, err)
		}
		to = m.Version
	}
	return to, nil
}

// MigrationCheck says how many tenants are current and which are behind.
type MigrationCheck struct {
	PublicVersion int      `json:"public_version"`
	PublicWanted  int      `json:"public_wanted"`
	TenantWanted  int      `json:"tenant_wanted"`
	Tenants       int      `json:"tenants"`
	Current       int      `json:"current"`
	Behind        []string `json:"behind"`
}

// OK reports whether the public schema and every tenant are current.
func (c MigrationCheck) OK() bool {
	return c.PublicVersion >= c.PublicWanted && len(c.Behind) == 0
}

// CheckMigrations reads, in one query over public.tenants, how many tenants
// are at this binary's tenant version and which are behind.
func (db *DB) CheckMigrations(ctx context.Context) (MigrationCheck, error) {
	c := MigrationCheck{PublicWanted: db.PublicVersion(), TenantWanted: db.TenantVersion(), Behind: []string{}}
	var err error
	if c.PublicVersion, err = db.PublicSchemaVersion(ctx); err != nil || c.PublicVersion == 0 {
		return c, err
	}
	err = db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE schema_version >= $1),
		coalesce(array_agg(schema_name ORDER BY schema_name) FILTER (WHERE schema_version < $1), '{}')
		FROM public.tenants`, c.TenantWanted).Scan(&c.Tenants, &c.Current, &c.Behind)
	if err != nil {
		return c, fmt.Errorf("check tenant versions: %w", err)
	}
	return c, nil
}

// TenantResult is the outcome of migrating one tenant.
type TenantResult struct {
	Schema   string
	From, To int
	Duration time.Duration
	Err      error
}

// MigrateOptions tune MigrateTenants.
type MigrateOptions struct {
	Workers  int                                   // tenants migrated at once; 0 means 8
	Schema   string                                // only this tenant when set
	Progress func(r TenantResult, done, total int) // after each tenant, from one goroutine at a time
}

// MigrateSummary counts the outcome of MigrateTenants.
type MigrateSummary struct {
	Tenants  int           `json:"tenants"`
	Migrated int           `json:"migrated"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"-"`
}

// MigrateTenants brings every tenant behind this binary (or only
// opts.Schema) to the newest tenant migration, opts.Workers tenants at a
// time, each in a transaction of its own with a lock timeout. A failing
// tenant stays at its old version and is reported through opts.Progress;
// the others go on. Run it again to finish what is left.
func (db *DB) MigrateTenants(ctx context.Context, opts MigrateOptions) (MigrateSummary, error) {
	start := time.Now()
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	var schemas []string
	rows, err := db.pool.Query(ctx, `SELECT schema_name FROM public.tenants
		WHERE schema_version < $1 AND ($2 = '' OR schema_name = $2) ORDER BY id`, db.TenantVersion(), opts.Schema)
	if err == nil {
		schemas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return MigrateSummary{}, fmt.Errorf("list tenants to migrate: %w", err)
	}
	if opts.Schema != "" && len(schemas) == 0 {
		if _, err := db.FindTenant(ctx, opts.Schema); err != nil {
			return MigrateSummary{}, err
		}
	}

	sum := MigrateSummary{Tenants: len(schemas)}
	jobs := make(chan string)
	results := make(chan TenantResult)
	var wg sync.WaitGroup
	for range min(workers, max(len(schemas), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for schema := range jobs {
				results <- db.migrateTenant(ctx, schema)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, s := range schemas {
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for r := range results {
		if r.Err != nil {
			sum.Failed++
		} else {
			sum.Migrated++
		}
		if opts.Progress != nil {
			opts.Progress(r, sum.Migrated+sum.Failed, sum.Tenants)
		}
	}
	sum.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

// migrateTenant upgrades one tenant in one transaction: it locks the tenant
// row, runs the pending migrations as the tenant's role inside its schema,
// then records the new version in public.tenants. Either all of it commits
// or the tenant stays as it was.
func (db *DB) migrateTenant(ctx context.Context, schema string) TenantResult {
	start := time.Now()
	r := TenantResult{Schema: schema}
	r.Err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
			strconv.FormatInt(db.lockTimeout.Milliseconds(), 10)); err != nil {
			return err
		}
		var id int64
		var role string
		err := tx.QueryRow(ctx, `SELECT id, role_name, schema_version FROM public.tenants
			WHERE schema_name = $1 FOR UPDATE`, schema).Scan(&id, &role, &r.From)
		if err != nil {
			return fmt.Errorf("lock tenant: %w", err)
		}
		r.To = r.From
		if r.From >= db.TenantVersion() { // another migrator was faster
			return nil
		}
		if r.To, err = db.applyTenantMigrations(ctx, tx, schema, role, r.From); err != nil {
			r.To = r.From
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE public.tenants SET schema_version = $2, updated_at = now() WHERE id = $1`, id, r.To)
		return err
	})
	if r.Err != nil {
		r.To = r.From
	}
	r.Duration = time.Since(start)
	return r
}

// applyTenantMigrations runs the pending tenant migrations of every set in
// the tenant's schema, as the tenant's role, switches back to the
// connecting user, and returns the tenant's new version (the sum over sets).
// from is the version public.tenants records; 0 means a new schema.
func (db *DB) applyTenantMigrations(ctx context.Context, tx pgx.Tx, schema, role string, from int) (int, error) {
	// A migration acts for no user of the tenant: clear the actor a
	// provisioning platform admin set, whose id means nothing there.
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true), set_config('role', $2, true),
		set_config('taruvi.actor_id', '', true)`,
		pgx.Identifier{schema}.Sanitize(), role); err != nil {
		return from, err
	}
	applied := map[string]int{}
	if from == 0 {
		if _, err := tx.Exec(ctx, createVersionTable); err != nil {
			return from, err
		}
	} else {
		rows, _ := tx.Query(ctx, `SELECT app, max(version) FROM taruvi_migrations GROUP BY app`)
		var app string
		var version int
		if _, err := pgx.ForEachRow(rows, []any{&app, &version}, func() error { applied[app] = version; return nil }); err != nil {
			return from, fmt.Errorf("read applied migrations: %w", err)
		}
	}
	to := 0
	for _, s := range db.tenant {
		v, err := applyMigrations(ctx, tx, s.app, s.migrations, applied[s.app])
		if err != nil {
			return from, err
		}
		to += v
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('role', 'none', true), set_config('search_path', $1, true)`, unscopedSearchPath); err != nil {
		return from, err
	}
	return to, nil
}
