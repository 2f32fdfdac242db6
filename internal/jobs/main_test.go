package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/blob"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	if os.Getenv("TARUVI_JOBS_HELPER_URL") != "" {
		os.Exit(helperWorker())
	}
	postgrestest.Main(m)
}

// sleepArgs is a platform job that sleeps: the stand-in for a long job in
// the shutdown and crash tests.
type sleepArgs struct {
	Sleep time.Duration `json:"sleep"`
	Name  string        `json:"name"`
}

func (sleepArgs) Kind() string { return "test_sleep" }

// sleepWorker sleeps as long as a job asks, at most max, and honours
// cancellation.
type sleepWorker struct {
	river.WorkerDefaults[sleepArgs]
	max time.Duration
}

func (w *sleepWorker) Work(ctx context.Context, job *river.Job[sleepArgs]) error {
	select {
	case <-time.After(min(job.Args.Sleep, w.max)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// helperWorker is the worker process of the shutdown and crash tests: the
// test binary run again with TARUVI_JOBS_HELPER_URL set. It works jobs
// until SIGTERM, like `taruvi worker`.
func helperWorker() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, os.Getenv("TARUVI_JOBS_HELPER_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer pool.Close()
	timeout, _ := time.ParseDuration(os.Getenv("TARUVI_JOBS_HELPER_SHUTDOWN"))
	client, err := jobs.New(pool, jobs.Config{Mode: jobs.Worker, ShutdownTimeout: timeout,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		jobs.Deps{Register: func(w *river.Workers) error { return river.AddWorkerSafely(w, &sleepWorker{max: time.Hour}) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := client.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fixture is a database of the test's own (River clients of one test must
// not meet another test's jobs) with the stores the workers use.
type fixture struct {
	db      *postgres.DB
	url     string
	blobs   taruvi.BlobStore
	reports *postgres.Reports
	outbox  *postgres.Outbox
	maint   *postgres.Maintenance
	tenants jobs.TenantFinder // for the clients made next; nil: the tenants table, uncached
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, url := postgrestest.OpenURL(t, postgres.Options{MigrationSets: postgres.BuiltinMigrationSets()})
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, url: url, blobs: blobs, reports: postgres.NewReports(db, blobs),
		outbox: postgres.NewOutbox(db, auth.NewAuthz(postgres.NewAuthStore(db), slog.New(slog.DiscardHandler), nil)), maint: postgres.NewMaintenance(db, blobs, slog.New(slog.DiscardHandler))}
}

// client returns a jobs client of mode over the fixture's database, on a
// pool of its own (as a process of its own would have), stopped when the
// test ends.
func (f *fixture) client(t *testing.T, mode jobs.Mode, cfg jobs.Config, register ...func(*river.Workers) error) *jobs.Client {
	t.Helper()
	ctx := context.Background()
	pcfg, err := pgxpool.ParseConfig(f.url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ConnConfig.RuntimeParams["search_path"] = "pg_catalog"
	pcfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mode = mode
	if cfg.FetchCooldown == 0 {
		cfg.FetchCooldown = 20 * time.Millisecond
		cfg.FetchPollInterval = 50 * time.Millisecond
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	var tenants jobs.TenantFinder = postgres.NewTenants(f.db)
	if f.tenants != nil {
		tenants = f.tenants
	}
	c, err := jobs.New(pool, cfg, jobs.Deps{Tenants: tenants, Outbox: f.outbox, Reports: f.reports, Maint: f.maint,
		Register: func(w *river.Workers) error {
			if len(register) == 0 {
				return river.AddWorkerSafely(w, &sleepWorker{max: time.Hour})
			}
			for _, r := range register {
				if err := r(w); err != nil {
					return err
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if mode != jobs.InsertOnly {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("stop jobs client: %v", err)
			}
			pool.Close()
		})
	} else {
		t.Cleanup(pool.Close)
	}
	return c
}

// quickSleeper registers a sleep worker that finishes every job at once.
func quickSleeper(w *river.Workers) error {
	return river.AddWorkerSafely(w, &sleepWorker{max: time.Millisecond})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// jobState reads a job's state straight from River's table.
func (f *fixture) jobState(t *testing.T, id int64) string {
	t.Helper()
	var state string
	err := f.db.Pool().QueryRow(context.Background(), `SELECT state::text FROM river.river_job WHERE id = $1`, id).Scan(&state)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		return "missing"
	}
	return state
}

func owner(ctx context.Context, tenant *taruvi.Tenant, userID int64) context.Context {
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: userID, Audience: tenant.Schema, IsOwner: true,
		Email: "owner" + strconv.FormatInt(userID, 10) + "@example.com"})
}
