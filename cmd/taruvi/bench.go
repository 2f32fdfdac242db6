package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/postgres"
)

// defaultBenchServer is the server the benchmarks use when neither
// --database nor TARUVI_DATABASE_URL names one.
const defaultBenchServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// setupWorkers is how many tenants the benchmarks provision at once when
// they build the tenants they do not measure.
const setupWorkers = 8

// maxBenchTenants bounds --tenants and --existing.
const maxBenchTenants = 100_000

func runBench(ctx context.Context, e env) error {
	const usage = "usage: taruvi bench provision|migrate|auth|api|datatables|jobs [flags]"
	if len(e.args) == 0 {
		return usageError(usage)
	}
	sub, e := e.args[0], env{args: e.args[1:], getenv: e.getenv, stdin: e.stdin, stdout: e.stdout, stderr: e.stderr}
	switch sub {
	case "provision":
		return benchProvision(ctx, e)
	case "migrate":
		return benchMigrate(ctx, e)
	case "auth":
		return runBenchAuth(ctx, e)
	case "api":
		return runBenchAPI(ctx, e)
	case "datatables":
		return runBenchDatatables(ctx, e)
	case "jobs":
		return runBenchJobs(ctx, e)
	}
	return usageError("unknown bench command %q; %s", sub, usage)
}

// benchFlags are the flags both benchmarks take.
type benchFlags struct {
	database   *string
	json       *bool
	cpuprofile *string
}

func addBenchFlags(fs *flag.FlagSet) benchFlags {
	return benchFlags{
		database:   fs.String("database", "", "PostgreSQL server to create the bench database on, as a URL (default TARUVI_DATABASE_URL, else the local server on 127.0.0.1:5432)"),
		json:       fs.Bool("json", false, "print one JSON object"),
		cpuprofile: fs.String("cpuprofile", "", "write a CPU profile of the measured phases (server and load generator) to this file"),
	}
}

// profile runs fn, writing a CPU profile of it to path when path is set.
func profile(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}

// parseBenchFlags parses e.args into fs and checks that no argument is left.
func parseBenchFlags(fs *flag.FlagSet, e env, name string) error {
	rest, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("bench %s takes no arguments, got %q", name, rest)
	}
	return nil
}

func checkTenantCount(flag string, n, lo int) error {
	if n < lo || n > maxBenchTenants {
		return usageError("--%s must be from %d to %d, got %d", flag, lo, maxBenchTenants, n)
	}
	return nil
}

// provisionResult is the output of `bench provision`; the first five keys
// are stable (dashboards read them).
type provisionResult struct {
	Tenants  int     `json:"tenants"`
	Existing int     `json:"existing"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Mean     float64 `json:"mean_ms"`
}

func benchProvision(ctx context.Context, e env) error {
	fs := newFlags(e, "bench provision", "--tenants N [--existing M] [--database URL] [--json]")
	tenants := fs.Int("tenants", 100, "tenants provisioned one at a time and measured")
	existing := fs.Int("existing", 0, "tenants provisioned first, not measured")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "provision"); err != nil {
		return err
	}
	if err := checkTenantCount("tenants", *tenants, 1); err != nil {
		return err
	}
	if err := checkTenantCount("existing", *existing, 0); err != nil {
		return err
	}
	return withBenchDatabase(ctx, e, *bf.database, func(db *postgres.DB, _ string) error {
		if err := provisionTenants(ctx, db, schemaNames("e", *existing), newProgress(e.stderr, "provisioned existing tenants", *existing)); err != nil {
			return err
		}
		if err := checkpoint(ctx, e.stderr, db.Pool()); err != nil {
			return err
		}
		ms := make([]float64, 0, *tenants)
		for _, schema := range schemaNames("n", *tenants) {
			start := time.Now()
			if _, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: schema}); err != nil {
				return fmt.Errorf("provision tenant %s: %w", schema, err)
			}
			ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		}
		r := summarize(ms)
		r.Tenants, r.Existing = *tenants, *existing
		if *bf.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "provisioned %d tenants one at a time on top of %d: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			r.Tenants, r.Existing, r.P50, r.P95, r.P99, r.Max)
		return nil
	})
}

// summarize returns the percentiles (nearest rank), maximum and mean of ms,
// which must not be empty.
func summarize(ms []float64) provisionResult {
	sorted := slices.Clone(ms)
	slices.Sort(sorted)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		return sorted[max(i, 0)]
	}
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	return provisionResult{P50: rank(50), P95: rank(95), P99: rank(99), Max: sorted[len(sorted)-1],
		Mean: math.Round(sum/float64(len(sorted))*1000) / 1000}
}

// migrateResult is the output of `bench migrate`; the first three keys are
// stable (dashboards read them).
type migrateResult struct {
	Tenants    int     `json:"tenants"`
	CheckS     float64 `json:"check_s"`
	ApplyS     float64 `json:"apply_s"`
	Workers    int     `json:"workers"`
	ProvisionS float64 `json:"provision_s"`
}

// benchMigration is the tenant migration `bench migrate` applies on top of
// the embedded set.
const benchMigration = `ALTER TABLE settings ADD COLUMN bench_note text`

func benchMigrate(ctx context.Context, e env) error {
	fs := newFlags(e, "bench migrate", "--tenants N [--workers N] [--database URL] [--json]")
	tenants := fs.Int("tenants", 1000, "tenants provisioned first, then all migrated")
	workers := fs.Int("workers", 0, "tenants migrated at once (default TARUVI_MIGRATE_WORKERS)")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "migrate"); err != nil {
		return err
	}
	if err := checkTenantCount("tenants", *tenants, 1); err != nil {
		return err
	}
	if *workers == 0 {
		cfg, err := loadConfig(e)
		if err != nil {
			return err
		}
		*workers = cfg.MigrateWorkers
	}
	if *workers < 1 || *workers > 256 {
		return usageError("--workers must be from 1 to 256")
	}
	extra, err := tenantMigrationsPlus("bench_note", benchMigration)
	if err != nil {
		return err
	}
	return withBenchDatabase(ctx, e, *bf.database, func(db *postgres.DB, url string) error {
		r := migrateResult{Tenants: *tenants, Workers: *workers}
		start := time.Now()
		if err := provisionTenants(ctx, db, schemaNames("t", *tenants), newProgress(e.stderr, "provisioned tenants", *tenants)); err != nil {
			return err
		}
		r.ProvisionS = seconds(time.Since(start))
		if err := checkpoint(ctx, e.stderr, db.Pool()); err != nil {
			return err
		}
		next, err := postgres.Open(ctx, url, postgres.Options{MaxConns: int32(*workers + 2), TenantMigrations: extra})
		if err != nil {
			return err
		}
		defer next.Close()
		if r.CheckS, err = timedCheck(ctx, next, *tenants, 0); err != nil {
			return err
		}
		if r.ApplyS, err = timedMigrate(ctx, next, *workers, newProgress(e.stderr, "migrated tenants", *tenants)); err != nil {
			return err
		}
		if _, err := timedCheck(ctx, next, *tenants, *tenants); err != nil {
			return fmt.Errorf("after migrating: %w", err)
		}
		if *bf.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "%d tenants: check %.3f s, one migration applied to all in %.1f s with %d workers\n",
			r.Tenants, r.CheckS, r.ApplyS, r.Workers)
		return nil
	})
}

// timedCheck runs CheckMigrations, verifies that it found tenants tenants
// of which current are current, and returns how long it took in seconds.
func timedCheck(ctx context.Context, db *postgres.DB, tenants, current int) (float64, error) {
	start := time.Now()
	c, err := db.CheckMigrations(ctx)
	elapsed := seconds(time.Since(start))
	if err != nil {
		return 0, err
	}
	if c.Tenants != tenants || c.Current != current || len(c.Behind) != tenants-current {
		return 0, fmt.Errorf("migration check found %d tenants, %d current and %d behind; want %d, %d and %d",
			c.Tenants, c.Current, len(c.Behind), tenants, current, tenants-current)
	}
	return elapsed, nil
}

// timedMigrate migrates every tenant and returns how long it took in
// seconds, or an error if any tenant failed.
func timedMigrate(ctx context.Context, db *postgres.DB, workers int, p *progress) (float64, error) {
	var first *postgres.TenantResult
	start := time.Now()
	sum, err := db.MigrateTenants(ctx, postgres.MigrateOptions{Workers: workers, Progress: func(r postgres.TenantResult, _, _ int) {
		if r.Err != nil && first == nil {
			first = &r
		}
		p.add()
	}})
	elapsed := seconds(time.Since(start))
	if err != nil {
		return 0, err
	}
	if sum.Failed > 0 {
		return 0, fmt.Errorf("%d of %d tenants failed to migrate; %s: %v", sum.Failed, sum.Tenants, first.Schema, first.Err)
	}
	return elapsed, nil
}

// withBenchDatabase creates a database of the benchmark's own on the
// server, migrates its public schema and hands it to fn. The
// database and every role made in it are dropped afterwards, whatever
// happened, Ctrl-C included.
func withBenchDatabase(ctx context.Context, e env, serverURL string, fn func(db *postgres.DB, url string) error) (err error) {
	fallback := false
	if serverURL == "" {
		cfg, cfgErr := loadConfig(e)
		if cfgErr != nil {
			return cfgErr
		}
		serverURL = cfg.DatabaseURL
	}
	if serverURL == "" {
		serverURL, fallback = defaultBenchServer, true
	} else if !strings.HasPrefix(serverURL, "postgres://") && !strings.HasPrefix(serverURL, "postgresql://") {
		return usageError("--database must be a postgres:// URL")
	}
	var prefix string // the roles to drop, once known
	scratch, err := postgres.CreateScratch(ctx, serverURL, "taruvi_bench")
	if err != nil {
		if fallback {
			return fmt.Errorf("no PostgreSQL server to benchmark on: pass --database URL or set TARUVI_DATABASE_URL (%w)", err)
		}
		return err
	}
	defer func() {
		if ctx.Err() != nil {
			err = fmt.Errorf("bench interrupted: %w", ctx.Err())
		}
		// The run's context may be cancelled (Ctrl-C); the drop must still happen.
		if dropErr := dropBenchDatabase(e.stderr, scratch, prefix); dropErr != nil {
			err = errors.Join(err, dropErr)
		}
	}()
	db, err := postgres.Open(ctx, scratch.URL, postgres.Options{MaxConns: setupWorkers + 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, _, err := db.MigratePublic(ctx); err != nil {
		return fmt.Errorf("migrate bench database: %w", err)
	}
	if _, _, err := migrateJobs(ctx, db); err != nil {
		return fmt.Errorf("migrate bench database: %w", err)
	}
	if prefix, err = db.RolePrefix(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bench: database %s, roles %s_*; both dropped at the end\n", scratch.Name, prefix)
	return fn(db, scratch.URL)
}

// execer runs a statement: a pool or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// checkpoint flushes the server c is connected to after the bench's
// setup, so that the measured part does not pay for the setup's dirty
// buffers and files, and before the drop. CHECKPOINT needs a superuser or
// the pg_checkpoint role; without either it says so and goes on.
func checkpoint(ctx context.Context, w io.Writer, c execer) error {
	start := time.Now()
	if _, err := c.Exec(ctx, "CHECKPOINT"); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(w, "bench: no checkpoint (%v); figures may include the setup's writes\n", err)
		return nil
	}
	fmt.Fprintf(w, "bench: checkpoint in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// dropBenchDatabase drops the bench database and its roles (named
// <prefix>_..., when prefix is known). DROP DATABASE waits for a
// checkpoint, which after thousands of tenants has hundreds of thousands of
// files to sync; the explicit checkpoint first keeps that wait short.
func dropBenchDatabase(w io.Writer, s *postgres.Scratch, prefix string) error {
	ctx := context.Background()
	fmt.Fprintf(w, "bench: dropping database %s\n", s.Name)
	start := time.Now()
	// DROP DATABASE waits for a checkpoint of its own, and after thousands
	// of tenants (tens of files each) that one can outlast Drop's time
	// limit; a checkpoint first leaves it little to wait for. Any database
	// of the server will do: the scratch one is still there.
	if conn, err := pgx.Connect(ctx, s.URL); err == nil {
		_ = checkpoint(ctx, w, conn)
		_ = conn.Close(ctx)
	}
	if err := s.Drop(ctx); err != nil {
		if prefix != "" {
			return fmt.Errorf("drop bench database %s (drop it and the roles %s_* by hand): %w", s.Name, prefix, err)
		}
		return fmt.Errorf("drop bench database %s (drop it by hand): %w", s.Name, err)
	}
	fmt.Fprintf(w, "bench: dropped database %s and its roles in %.1fs\n", s.Name, time.Since(start).Seconds())
	return nil
}

// tenantMigrationsPlus returns the tenant migrations this binary ships
// plus one more after the newest, named NNNN_<name>.sql, as a file system
// for postgres.Options.TenantMigrations: an upgrade of every tenant to
// measure without shipping a migration for it.
func tenantMigrationsPlus(name, sql string) (fs.FS, error) {
	shipped := postgres.EmbeddedTenantMigrations()
	entries, err := fs.ReadDir(shipped, ".")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		data, err := fs.ReadFile(shipped, e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	out[fmt.Sprintf("%04d_%s.sql", len(out)+1, name)] = &fstest.MapFile{Data: []byte(sql), Mode: 0o444}
	return out, nil
}

// schemaNames returns n schema names: prefix and a six-digit number.
func schemaNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%06d", prefix, i+1)
	}
	return names
}

// provisionTenants creates a tenant for each of schemas, setupWorkers at a
// time. The first error stops the rest.
func provisionTenants(parent context.Context, db *postgres.DB, schemas []string, p *progress) error {
	return forEachParallel(parent, len(schemas), setupWorkers, func(ctx context.Context, i int) error {
		if _, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: schemas[i]}); err != nil {
			return fmt.Errorf("provision tenant %s: %w", schemas[i], err)
		}
		p.add()
		return nil
	})
}

// progress reports on stderr each time another tenth of a long task is
// done: "bench: provisioned tenants 2000/10000 in 31.2s".
type progress struct {
	w     io.Writer
	what  string
	total int
	start time.Time

	mu   sync.Mutex
	done int
}

func newProgress(w io.Writer, what string, total int) *progress {
	return &progress{w: w, what: what, total: total, start: time.Now()}
}

func (p *progress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done*10/p.total > (p.done-1)*10/p.total {
		fmt.Fprintf(p.w, "bench: %s %d/%d in %.1fs\n", p.what, p.done, p.total, time.Since(p.start).Seconds())
	}
}

// seconds is d in seconds, rounded to the tenth of a millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*10_000) / 10_000
}
