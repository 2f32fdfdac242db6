package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

// jobsBenchResult is the output of `bench jobs`; the first two keys are
// stable (dashboards read them).
type jobsBenchResult struct {
	JobsPerS      float64 `json:"jobs_per_s"`
	FanOut10kS    float64 `json:"fanout_10k_s"`
	Jobs          int     `json:"jobs"`
	Tenants       int     `json:"tenants"`
	FanOutTenants int     `json:"fanout_tenants"`
	Concurrency   int     `json:"concurrency"`
	EnqueueS      float64 `json:"enqueue_s"`
	WorkS         float64 `json:"work_s"`
	PoolConns     int32   `json:"pool_conns"`
	QueriesPerJob int     `json:"queries_per_job"` // 1, or 0 with --query=false
	// RoundTrips is the job's round trips to PostgreSQL: 1 with
	// a pipelined InTenant, 3 with a stepwise one (--batch=false), 0 for empty jobs.
	RoundTrips int `json:"round_trips_per_job"`
	// CPU time per job worked (this process and the bench database's
	// backends), and the PostgreSQL share of it, in microseconds.
	CPUUS   float64 `json:"cpu_us_per_job"`
	PGCPUUS float64 `json:"pg_cpu_us_per_job,omitempty"`
}

// benchProbeArgs is the job of `bench jobs`: one query in its tenant.
type benchProbeArgs struct {
	taruvi.TenantRef
}

func (benchProbeArgs) Kind() string { return "bench_probe" }

func (benchProbeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: taruvi.QueueDefault, MaxAttempts: 1}
}

// benchProbeWorker runs one query in the job's tenant: through
// a pipelined InTenant (the scope and the query in one round trip), or with
// --batch=false through InTenant, as the platform's store calls do.
type benchProbeWorker struct {
	river.WorkerDefaults[benchProbeArgs]
	db    *postgres.DB
	query bool
	batch bool
	done  atomic.Int64
}

func (w *benchProbeWorker) Work(ctx context.Context, job *river.Job[benchProbeArgs]) error {
	if !w.query {
		w.done.Add(1)
		return nil
	}
	var n int
	var err error
	if w.batch {
		b := &pgx.Batch{}
		b.Queue(`SELECT count(*) FROM users`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
		err = w.db.InTenant(ctx, nil, postgres.Pipelined(b))
	} else {
		err = w.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
		})
	}
	w.done.Add(1)
	return err
}

func runBenchJobs(ctx context.Context, e env) error {
	fs := newFlags(e, "bench jobs", "[--tenants N] [--jobs N] [--fanout N] [--concurrency C] [--database URL] [--json]")
	tenants := fs.Int("tenants", 1000, "tenants provisioned; the jobs are spread across them")
	count := fs.Int("jobs", 100_000, "tenant-scoped jobs enqueued, then worked")
	fanout := fs.Int("fanout", 10_000, "tenants the periodic fan-out enqueues a job for (tenant rows beyond --tenants are added without schemas: the fan-out reads rows only)")
	concurrency := fs.Int("concurrency", 100, "jobs worked at once")
	query := fs.Bool("query", true, "each job runs its query in its tenant (false: empty jobs, River's own cost)")
	batch := fs.Bool("batch", true, "each job's query runs pipelined, the scope and the query in one round trip (false: an InTenant transaction)")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "jobs"); err != nil {
		return err
	}
	switch {
	case *tenants < 1 || *tenants > maxBenchTenants:
		return usageError("--tenants must be from 1 to %d, got %d", maxBenchTenants, *tenants)
	case *count < 1 || *count > 10_000_000:
		return usageError("--jobs must be from 1 to 10000000, got %d", *count)
	case *fanout < *tenants || *fanout > 1_000_000:
		return usageError("--fanout must be from --tenants to 1000000, got %d", *fanout)
	case *concurrency < 1 || *concurrency > 10_000:
		return usageError("--concurrency must be from 1 to 10000, got %d", *concurrency)
	}
	return withBenchDatabase(ctx, e, *bf.database, func(db *postgres.DB, url string) error {
		r := &jobsBenchResult{Jobs: *count, Tenants: *tenants, FanOutTenants: *fanout, Concurrency: *concurrency, QueriesPerJob: 1}
		if !*query {
			r.QueriesPerJob = 0
		}
		switch {
		case !*query:
		case *batch:
			r.RoundTrips = 1
		default:
			r.RoundTrips = 3
		}
		if err := benchJobs(ctx, e, url, r, *bf.cpuprofile); err != nil {
			return err
		}
		if *bf.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "bench jobs, %d tenants: %.0f tenant-scoped jobs/s (%d jobs, %d at once); fan-out to %d tenants enqueued in %.3fs\n",
			r.Tenants, r.JobsPerS, r.Jobs, r.Concurrency, r.FanOutTenants, r.FanOut10kS)
		return nil
	})
}

func benchJobs(ctx context.Context, e env, url string, r *jobsBenchResult, cpuprofile string) error {
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 24, MigrationSets: postgres.BuiltinMigrationSets()})
	if err != nil {
		return err
	}
	defer db.Close()
	r.PoolConns = db.Pool().Config().MaxConns
	schemas := schemaNames("j", r.Tenants)
	if err := provisionTenants(ctx, db, schemas, newProgress(e.stderr, "provisioned tenants", r.Tenants)); err != nil {
		return err
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO public.tenants (name, schema_name, role_name)
		SELECT 'f' || i, 'f' || lpad(i::text, 7, '0'), 'none_f' || i FROM generate_series(1, $1) i`, r.FanOutTenants-r.Tenants); err != nil {
		return fmt.Errorf("add fan-out tenant rows: %w", err)
	}
	if err := checkpoint(ctx, e.stderr, db.Pool()); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	insert, err := jobs.New(db.Pool(), jobs.Config{Mode: jobs.InsertOnly, Log: log}, jobs.Deps{})
	if err != nil {
		return err
	}
	maint := postgres.NewMaintenance(db, nil, log)
	start := time.Now()
	n, err := jobs.FanOut(ctx, insert.River(), maint)
	if err != nil {
		return err
	}
	r.FanOut10kS = seconds(time.Since(start))
	if n != r.FanOutTenants {
		return fmt.Errorf("fan-out enqueued %d jobs, want %d", n, r.FanOutTenants)
	}
	fmt.Fprintf(e.stderr, "bench: fan-out to %d tenants enqueued in %.3fs\n", n, r.FanOut10kS)
	if _, err := db.Pool().Exec(ctx, `DELETE FROM river.river_job WHERE kind = 'tenant_maintenance'`); err != nil {
		return err
	}
	meter, err := newCPUMeter(ctx, url)
	if err != nil {
		return err
	}
	defer meter.close()
	return benchJobThroughput(ctx, e, db, schemas, r, log, func(work func() error) error {
		return profile(cpuprofile, func() error { return meter.measure(ctx, work, &r.Jobs, &r.CPUUS, &r.PGCPUUS) })
	})
}

// benchJobThroughput enqueues r.Jobs probe jobs spread over the tenants
// (COPY), then works them all with one worker client and measures the
// rate from the start of work to the last completion. measure runs the
// work phase (profiling it and metering its CPU time).
func benchJobThroughput(ctx context.Context, e env, db *postgres.DB, schemas []string, r *jobsBenchResult, log *slog.Logger, measure func(func() error) error) error {
	worker := &benchProbeWorker{db: db, query: r.QueriesPerJob > 0, batch: r.RoundTrips == 1}
	client, err := jobs.New(db.Pool(), jobs.Config{Mode: jobs.Worker, Log: log,
		Queues: map[string]int{taruvi.QueueDefault: r.Concurrency}},
		jobs.Deps{Tenants: web.NewTenantCache(postgres.NewTenants(db), time.Minute, nil), Register: func(w *river.Workers) error {
			return river.AddWorkerSafely(w, worker)
		}})
	if err != nil {
		return err
	}
	start := time.Now()
	for done := 0; done < r.Jobs; {
		n := min(r.Jobs-done, 10_000)
		params := make([]river.InsertManyParams, n)
		for i := range params {
			params[i] = river.InsertManyParams{Args: benchProbeArgs{TenantRef: taruvi.TenantRef{Tenant: schemas[(done+i)%len(schemas)]}}}
		}
		if _, err := client.River().InsertManyFast(ctx, params); err != nil {
			return err
		}
		done += n
	}
	r.EnqueueS = seconds(time.Since(start))
	fmt.Fprintf(e.stderr, "bench: enqueued %d jobs in %.1fs; working them\n", r.Jobs, r.EnqueueS)
	err = measure(func() error {
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- client.Run(runCtx) }()
		p := newProgress(e.stderr, "worked jobs", r.Jobs)
		for reported := int64(0); reported < int64(r.Jobs); {
			select {
			case err := <-done:
				return fmt.Errorf("worker stopped early: %v", err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			for n := worker.done.Load(); reported < n; reported++ {
				p.add()
			}
		}
		// Stop waits for the last completions to be written.
		stop()
		if err := <-done; err != nil {
			return err
		}
		elapsed := time.Since(start)
		r.WorkS = seconds(elapsed)
		r.JobsPerS = float64(r.Jobs) / elapsed.Seconds()
		return nil
	})
	if err != nil {
		return err
	}
	var completed int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM river.river_job WHERE kind = 'bench_probe' AND state = 'completed'`).
		Scan(&completed); err != nil {
		return err
	}
	if completed != r.Jobs {
		var states string
		_ = db.Pool().QueryRow(ctx, `SELECT string_agg(state || ': ' || n || ' ' || coalesce(e, ''), '; ') FROM (
			SELECT state::text, count(*) n, max(errors[array_length(errors, 1)]->>'error') e
			FROM river.river_job WHERE kind = 'bench_probe' AND state <> 'completed' GROUP BY state) s`).Scan(&states)
		return fmt.Errorf("%d of %d jobs completed; the others: %s", completed, r.Jobs, states)
	}
	return nil
}
