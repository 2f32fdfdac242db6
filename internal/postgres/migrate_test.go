package postgres_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// migrationSet builds a tenant migration set from file names and SQL.
func migrationSet(files ...string) fstest.MapFS {
	set := fstest.MapFS{}
	for i := 0; i+1 < len(files); i += 2 {
		set[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
	}
	return set
}

const createT = `CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)`

// Version 2 adds a column, then a constraint that rows with n = 0 break,
// so a tenant holding such a row fails half-way through the migration.
const addNoteAndCheck = `ALTER TABLE t ADD COLUMN note text;
ALTER TABLE t ADD CONSTRAINT t_n_positive CHECK (n > 0);`

var (
	setV1  = migrationSet("0001_t.sql", createT)
	setV12 = migrationSet("0001_t.sql", createT, "0002_note.sql", addNoteAndCheck)
)

// upgradeFixture is a database whose tenants were provisioned by a binary
// with tenant migration 1 (old) and a second pool on it whose binary has
// migrations 1 and 2 (new).
type upgradeFixture struct {
	old, new *postgres.DB
	tenants  []*taruvi.Tenant
}

func setupUpgrade(t *testing.T, tenants int, opts postgres.Options) upgradeFixture {
	t.Helper()
	url, old := openScratch(t, postgres.Options{TenantMigrations: setV1})
	f := upgradeFixture{old: old, tenants: createTenants(t, old, tenants)}
	for _, tenant := range f.tenants {
		if v := tenant.SchemaVersion; v != 1 {
			t.Fatalf("tenant %s provisioned at version %d, want 1", tenant.Schema, v)
		}
	}
	opts.TenantMigrations = setV12
	f.new = openURL(t, url, opts)
	return f
}

// inTenant runs sql as tenant, through db.
func inTenant(t *testing.T, db *postgres.DB, tenant *taruvi.Tenant, sql string, args ...any) {
	t.Helper()
	err := db.InTenant(taruvi.NewContextWithTenant(context.Background(), tenant), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s in %s: %v", sql, tenant.Schema, err)
	}
}

// wantTenantAt checks both records of a tenant's version and whether the
// objects of migration 2 exist in its schema.
func wantTenantAt(t *testing.T, db *postgres.DB, schema string, version int) {
	t.Helper()
	if recorded, applied := tenantVersion(t, db, schema); recorded != version || applied != version {
		t.Errorf("tenant %s: public.tenants says %d, its taruvi_migrations %d; want %d", schema, recorded, applied, version)
	}
	column := catalogCount(t, db, `SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'note'`,
		pgx.Identifier{schema, "t"}.Sanitize())
	check := catalogCount(t, db, `SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = $1 AND c.conname = 't_n_positive'`, schema)
	if want := map[bool]int{true: 1, false: 0}[version >= 2]; column != want || check != want {
		t.Errorf("tenant %s at version %d: %d note columns and %d checks, want %d", schema, version, column, check, want)
	}
}

func schemasOf(tenants []*taruvi.Tenant) []string {
	var out []string
	for _, tenant := range tenants {
		out = append(out, tenant.Schema)
	}
	slices.Sort(out)
	return out
}

func TestMigrateTenantsBringsAllCurrent(t *testing.T) {
	t.Parallel()
	f := setupUpgrade(t, 5, postgres.Options{})
	ctx := context.Background()
	c, err := f.new.CheckMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.OK() || c.Tenants != 5 || c.Current != 0 || c.TenantWanted != 2 || !slices.Equal(c.Behind, schemasOf(f.tenants)) ||
		c.PublicVersion != c.PublicWanted || c.PublicWanted != f.new.PublicVersion() {
		t.Fatalf("check before migrating: %+v", c)
	}
	if c, err := f.old.CheckMigrations(ctx); err != nil || !c.OK() || c.Current != 5 {
		t.Fatalf("the old binary's check: %+v, %v; want all 5 current", c, err)
	}

	var progressed []string
	sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Workers: 3, Progress: func(r postgres.TenantResult, done, total int) {
		progressed = append(progressed, r.Schema)
		if r.Err != nil || r.From != 1 || r.To != 2 || total != 5 || done != len(progressed) {
			t.Errorf("progress %d/%d: %+v", done, total, r)
		}
	}})
	if err != nil || sum.Tenants != 5 || sum.Migrated != 5 || sum.Failed != 0 {
		t.Fatalf("MigrateTenants = %+v, %v; want 5 migrated", sum, err)
	}
	slices.Sort(progressed)
	if !slices.Equal(progressed, schemasOf(f.tenants)) {
		t.Errorf("progress reported %v, want every tenant once", progressed)
	}
	for _, tenant := range f.tenants {
		wantTenantAt(t, f.new, tenant.Schema, 2)
	}
	if c, err := f.new.CheckMigrations(ctx); err != nil || !c.OK() || c.Current != 5 || len(c.Behind) != 0 {
		t.Fatalf("check after migrating: %+v, %v", c, err)
	}
	if sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{}); err != nil || sum.Tenants != 0 || sum.Migrated != 0 {
		t.Fatalf("second MigrateTenants = %+v, %v; want nothing to do", sum, err)
	}
	// A tenant provisioned by the new binary starts at version 2.
	fresh := createTenants(t, f.new, 1)[0]
	wantTenantAt(t, f.new, fresh.Schema, 2)
}

// TestMigrateTenantsFailureInOneTenant: the migration fails in one tenant
// only. That tenant stays wholly at version 1, the others reach 2, and
// after its data is fixed a rerun migrates just that tenant.
func TestMigrateTenantsFailureInOneTenant(t *testing.T) {
	t.Parallel()
	f := setupUpgrade(t, 4, postgres.Options{})
	ctx := context.Background()
	bad := f.tenants[2]
	for i, tenant := range f.tenants {
		inTenant(t, f.old, tenant, `INSERT INTO t VALUES (1, 5), (2, $1)`, map[bool]int{true: 0, false: 7}[i == 2])
	}

	var failed []postgres.TenantResult
	progress := func(r postgres.TenantResult, done, total int) {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Workers: 2, Progress: progress})
	if err != nil || sum.Tenants != 4 || sum.Migrated != 3 || sum.Failed != 1 {
		t.Fatalf("MigrateTenants = %+v, %v; want 3 migrated, 1 failed", sum, err)
	}
	if len(failed) != 1 || failed[0].Schema != bad.Schema || failed[0].From != 1 || failed[0].To != 1 {
		t.Fatalf("failures reported: %+v; want %s staying at 1", failed, bad.Schema)
	}
	if msg := failed[0].Err.Error(); pgCode(failed[0].Err) != "23514" || !strings.Contains(msg, "0002_note.sql") {
		t.Errorf("failure %q should be the check violation (23514) of 0002_note.sql", msg)
	}
	for _, tenant := range f.tenants {
		wantTenantAt(t, f.new, tenant.Schema, map[bool]int{true: 1, false: 2}[tenant == bad])
	}
	if c, err := f.new.CheckMigrations(ctx); err != nil || c.Current != 3 || !slices.Equal(c.Behind, []string{bad.Schema}) {
		t.Fatalf("check after the failure: %+v, %v; want %s behind", c, err, bad.Schema)
	}

	inTenant(t, f.new, bad, `UPDATE t SET n = 1 WHERE n = 0`)
	failed = nil
	var rerun []string
	sum, err = f.new.MigrateTenants(ctx, postgres.MigrateOptions{Progress: func(r postgres.TenantResult, done, total int) {
		rerun = append(rerun, r.Schema)
		progress(r, done, total)
	}})
	if err != nil || sum.Tenants != 1 || sum.Migrated != 1 || sum.Failed != 0 || len(failed) != 0 || !slices.Equal(rerun, []string{bad.Schema}) {
		t.Fatalf("rerun = %+v, %v, migrated %v, failed %+v; want %s alone migrated", sum, err, rerun, failed, bad.Schema)
	}
	for _, tenant := range f.tenants {
		wantTenantAt(t, f.new, tenant.Schema, 2)
	}
	if c, err := f.new.CheckMigrations(ctx); err != nil || !c.OK() {
		t.Fatalf("check after the rerun: %+v, %v", c, err)
	}
}

func TestMigrateOneTenant(t *testing.T) {
	t.Parallel()
	f := setupUpgrade(t, 3, postgres.Options{})
	ctx := context.Background()
	only := f.tenants[1].Schema
	sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Schema: only})
	if err != nil || sum.Tenants != 1 || sum.Migrated != 1 {
		t.Fatalf("MigrateTenants(%s) = %+v, %v; want 1 migrated", only, sum, err)
	}
	for _, tenant := range f.tenants {
		wantTenantAt(t, f.new, tenant.Schema, map[bool]int{true: 2, false: 1}[tenant.Schema == only])
	}
	if sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Schema: only}); err != nil || sum.Tenants != 0 {
		t.Fatalf("MigrateTenants(%s) again = %+v, %v; want nothing to do", only, sum, err)
	}
	for _, unknown := range []string{postgrestest.SchemaName(), "Robert'); DROP TABLE tenants; --"} {
		if _, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Schema: unknown}); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("MigrateTenants(%q) = %v, want %s", unknown, err, taruvi.ENOTFOUND)
		}
	}
	if c, err := f.new.CheckMigrations(ctx); err != nil || c.Tenants != 3 || c.Current != 1 {
		t.Fatalf("check: %+v, %v; want 3 tenants, 1 current", c, err)
	}
}

// TestMigrateTenantsLockTimeout: a tenant whose table another transaction
// holds locked fails after the lock timeout instead of stalling the run;
// the others migrate.
func TestMigrateTenantsLockTimeout(t *testing.T) {
	t.Parallel()
	f := setupUpgrade(t, 3, postgres.Options{LockTimeout: 200 * time.Millisecond})
	// Without a working lock timeout the run would wait for the holder,
	// which waits for the run: fail instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	locked := f.tenants[0]
	holder, err := f.old.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, `LOCK TABLE `+pgx.Identifier{locked.Schema, "t"}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var results []postgres.TenantResult
	sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{Progress: func(r postgres.TenantResult, _, _ int) {
		results = append(results, r)
	}})
	elapsed := time.Since(start)
	if err != nil || sum.Migrated != 2 || sum.Failed != 1 {
		t.Fatalf("MigrateTenants = %+v, %v; want 2 migrated, 1 failed", sum, err)
	}
	if elapsed > 3*time.Second {
		t.Errorf("MigrateTenants took %v with a 200ms lock timeout", elapsed)
	}
	for _, r := range results {
		if (r.Err != nil) != (r.Schema == locked.Schema) {
			t.Errorf("result %+v", r)
		}
		if r.Schema == locked.Schema && (pgCode(r.Err) != "55P03" || taruvi.ErrorCode(r.Err) != taruvi.EUNAVAILABLE ||
			r.Duration < 200*time.Millisecond || r.Duration > 1500*time.Millisecond) {
			t.Errorf("locked tenant: %v after %v; want lock_not_available (55P03) soon after the 200ms timeout", r.Err, r.Duration)
		}
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantTenantAt(t, f.new, locked.Schema, 1)
	if sum, err := f.new.MigrateTenants(ctx, postgres.MigrateOptions{}); err != nil || sum.Migrated != 1 || sum.Failed != 0 {
		t.Fatalf("rerun after the lock is gone = %+v, %v; want 1 migrated", sum, err)
	}
	wantTenantAt(t, f.new, locked.Schema, 2)
}

// TestMigratePublicIdempotent: the first call applies the public set, later
// calls (concurrent ones included) find nothing to do.
func TestMigratePublicIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgrestest.NewScratch(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.PublicSchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("fresh database at public version %d, %v; want 0", v, err)
	}
	if err := db.CheckPublic(ctx); taruvi.ErrorCode(err) != taruvi.EUNAVAILABLE {
		t.Fatalf("CheckPublic on a fresh database: %v, want %s", err, taruvi.EUNAVAILABLE)
	}
	want := db.PublicVersion()
	froms := make([]int, 4)
	var wg sync.WaitGroup
	for i := range froms {
		wg.Go(func() {
			from, to, err := db.MigratePublic(ctx)
			if err != nil || to != want {
				t.Errorf("MigratePublic = %d, %d, %v; want to = %d", from, to, err, want)
			}
			froms[i] = from
		})
	}
	wg.Wait()
	slices.Sort(froms)
	if want < 1 || !slices.Equal(froms, []int{0, want, want, want}) {
		t.Fatalf("concurrent MigratePublic started from %v, want one from 0 and the others from %d", froms, want)
	}
	if from, to, err := db.MigratePublic(ctx); err != nil || from != want || to != want {
		t.Fatalf("MigratePublic again = %d, %d, %v; want %d, %d", from, to, err, want, want)
	}
	if n := catalogCount(t, db, `SELECT count(*) FROM public.taruvi_migrations`); n != want {
		t.Fatalf("public.taruvi_migrations has %d rows, want %d", n, want)
	}
	if err := db.CheckPublic(ctx); err != nil {
		t.Fatalf("CheckPublic after migrating: %v", err)
	}
}

// TestOpenRejectsBadMigrationSets: a set with a gap, a repeat or a file
// without a version fails Open before it connects.
func TestOpenRejectsBadMigrationSets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts postgres.Options
		want string
	}{
		{"tenant gap", postgres.Options{TenantMigrations: migrationSet("0001_a.sql", "SELECT 1", "0003_c.sql", "SELECT 3")}, "want version 2, found 0003_c.sql"},
		{"tenant repeat", postgres.Options{TenantMigrations: migrationSet("0001_a.sql", "SELECT 1", "0001_b.sql", "SELECT 1")}, "want version 2"},
		{"tenant starts at 2", postgres.Options{TenantMigrations: migrationSet("0002_a.sql", "SELECT 1")}, "want version 1"},
		{"tenant unnumbered", postgres.Options{TenantMigrations: migrationSet("0001_a.sql", "SELECT 1", "add_b.sql", "SELECT 1")}, "add_b.sql"},
		{"tenant version 0", postgres.Options{TenantMigrations: migrationSet("0000_a.sql", "SELECT 1")}, "0000_a.sql"},
		{"public gap", postgres.Options{PublicMigrations: migrationSet("0002_b.sql", "SELECT 1")}, "migrations/public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := postgres.Open(context.Background(), postgrestest.AdminURL(), tt.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v; want an error containing %q", err, tt.want)
			}
		})
	}
	// Files other than .sql are not migrations.
	db, err := postgres.Open(context.Background(), postgrestest.AdminURL(), postgres.Options{
		TenantMigrations: migrationSet("0001_a.sql", "SELECT 1", "README.md", "notes"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.TenantVersion() != 1 {
		t.Fatalf("TenantVersion() = %d, want 1", db.TenantVersion())
	}
}
