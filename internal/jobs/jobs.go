// Package jobs runs the platform's background jobs on River, in the
// PostgreSQL schema "river": the client that inserts platform jobs, the
// workers of each job kind, the tenant middleware that restores a job's
// tenant scope, periodic maintenance and job visibility.
//
// Tenant roles get no rights on the river schema. A job caused by a
// tenant's write is inserted in the write's transaction by the SQL
// function taruvi.enqueue_job (postgres.JobStatement), which runs as a
// role of its own and stamps the job with the tenant of the calling role,
// so a tenant can enqueue jobs for itself only and can read or write no
// job row, its own or another tenant's. Job rows reach tenants only
// through JobService, which checks the job's tenant against the caller's.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"taruvi"
	"taruvi/internal/postgres"
)

// Schema is the PostgreSQL schema of River's tables.
const Schema = "river"

// schedulerQueue is the queue a scheduler starts with: River needs one to
// run, and nothing is ever inserted into it.
const schedulerQueue = "scheduler"

// Mode says what a Client does besides inserting jobs.
type Mode int

const (
	// InsertOnly inserts and inspects jobs (serve, commands).
	InsertOnly Mode = iota
	// Worker works the queues; it never leads.
	Worker
	// Scheduler takes part in leader election; the leader enqueues the
	// periodic jobs and runs River's maintenance (retries, scheduled jobs,
	// rescue of stuck jobs, cleanup).
	Scheduler
	// WorkerScheduler is both, in one client (taruvi dev).
	WorkerScheduler
)

// Config tunes a Client. Zero durations take the defaults noted.
type Config struct {
	Mode   Mode
	ID     string         // client id; empty: River makes one from the host name
	Queues map[string]int // concurrency per queue; missing queues get 10
	// ShutdownTimeout is how long running jobs may finish after a stop
	// begins; then they are cancelled and retried later. Default 30s.
	ShutdownTimeout time.Duration
	// MaintenanceInterval is how often the maintenance job runs. Default 1h.
	MaintenanceInterval time.Duration
	// HistoryRetention is how long audit history is kept. Default 2160h.
	HistoryRetention time.Duration
	// RescueStuckJobsAfter is how long a job may run before a leader
	// considers its worker dead and retries it. Default 1h.
	RescueStuckJobsAfter time.Duration
	// JobTimeout bounds one attempt. Default 10m.
	JobTimeout time.Duration
	// FetchCooldown is the least time between two fetches of a queue
	// while jobs keep coming; it bounds a queue's rate in one process at
	// its workers per cooldown. Default 5ms (River's own is 100ms).
	FetchCooldown time.Duration
	// FetchPollInterval is how often an idle queue looks for jobs when no
	// notification came (tests); zero keeps River's default, 1s.
	FetchPollInterval time.Duration
	// RetryPolicy replaces River's (attempt⁴ seconds) for every kind; tests.
	RetryPolicy river.ClientRetryPolicy
	Log         *slog.Logger
}

// Client is a River client with the platform's workers, queues and
// middleware.
type Client struct {
	river *river.Client[pgx.Tx]
	cfg   Config
	log   *slog.Logger
	scope *tenantScope
}

// OnFinished has fn hear of every attempt of a job this client works: its
// kind, its outcome ("ok", "error" or "cancelled") and how long it ran.
func (c *Client) OnFinished(fn func(kind, outcome string, d time.Duration)) {
	c.scope.finished.Store(&fn)
}

// Migrate creates the river schema and applies River's migrations to it.
// It returns the versions before and after.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (from, to int, err error) {
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+Schema); err != nil {
		return 0, 0, fmt.Errorf("create schema %s: %w", Schema, err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: Schema})
	if err != nil {
		return 0, 0, err
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read river migrations: %w", err)
	}
	if len(existing) > 0 {
		from = existing[len(existing)-1].Version
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return from, from, fmt.Errorf("river migrations: %w", err)
	}
	if err := grantEnqueue(ctx, pool); err != nil {
		return from, from, err
	}
	to = from
	if len(res.Versions) > 0 {
		to = res.Versions[len(res.Versions)-1].Version
	}
	return from, to, nil
}

// grantEnqueue lets the role of taruvi.enqueue_job (public migration
// 0009) insert jobs, and nothing else of River's: the migration grants it
// when River's tables exist already, this when they were created after it.
// Before the public migrations (no such role yet) it does nothing.
func grantEnqueue(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `DO $$
		DECLARE
			jobs_role text;
		BEGIN
			IF to_regclass('public.taruvi_install') IS NULL THEN
				RETURN;
			END IF;
			jobs_role := (SELECT role_prefix || '_jobs' FROM public.taruvi_install);
			IF jobs_role IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = jobs_role) THEN
				EXECUTE format('GRANT USAGE ON SCHEMA river TO %I', jobs_role);
				EXECUTE format('GRANT INSERT, SELECT (id) ON river.river_job TO %I', jobs_role);
				EXECUTE format('GRANT USAGE ON SEQUENCE river.river_job_id_seq TO %I', jobs_role);
			END IF;
		END
		$$`)
	if err != nil {
		return fmt.Errorf("grant the enqueue role its rights on %s: %w", Schema, err)
	}
	return nil
}

// Check returns EUNAVAILABLE when River's schema is behind this binary.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: Schema})
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil || !res.OK {
		return taruvi.Errorf(taruvi.EUNAVAILABLE, "The river schema is not migrated: run `taruvi migrate` first.")
	}
	return nil
}

// New returns a client over pool (whose search_path need name no schema:
// every River query names the river schema). deps supplies the stores the
// workers use.
func New(pool *pgxpool.Pool, cfg Config, deps Deps) (*Client, error) {
	cfg = withDefaults(cfg)
	// The modules' periodic jobs, indexed once: the same index has the
	// workers run them and, in a scheduling client, the leader enqueue
	// their ticks.
	periodic, err := newModulePeriodic(deps.Modules)
	if err != nil {
		return nil, err
	}
	own, err := newModuleJobs(deps.Modules)
	if err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	if err := registerWorkers(workers, cfg, deps, periodic, own); err != nil {
		return nil, err
	}
	scope := newTenantScope(deps.Tenants, cfg.Log)
	rc := &river.Config{
		ID:                   cfg.ID,
		Schema:               Schema,
		Workers:              workers,
		Logger:               slog.New(warnAndAbove{cfg.Log.Handler()}),
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		FetchCooldown:        cfg.FetchCooldown,
		FetchPollInterval:    cfg.FetchPollInterval,
		Middleware:           []rivertype.Middleware{scope},
		SoftStopTimeout:      cfg.ShutdownTimeout,
		RetryPolicy:          cfg.RetryPolicy,
	}
	switch cfg.Mode {
	case Worker:
		rc.Queues = queueConfig(cfg.Queues)
		rc.LeaderElectionDisabled = true
	case Scheduler:
		rc.Queues = map[string]river.QueueConfig{schedulerQueue: {MaxWorkers: 1}}
		rc.PeriodicJobs = append(periodicJobs(cfg), periodic.periodicJobs()...)
	case WorkerScheduler:
		rc.Queues = queueConfig(cfg.Queues)
		rc.PeriodicJobs = append(periodicJobs(cfg), periodic.periodicJobs()...)
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &Client{river: c, cfg: cfg, log: cfg.Log, scope: scope}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.MaintenanceInterval <= 0 {
		cfg.MaintenanceInterval = time.Hour
	}
	if cfg.HistoryRetention <= 0 {
		cfg.HistoryRetention = 90 * 24 * time.Hour
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = 5 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Queues are the platform's queues, in the order they are configured.
var Queues = []string{taruvi.QueueDefault, taruvi.QueueEmails, taruvi.QueueReports, taruvi.QueueTenantTasks}

func queueConfig(concurrency map[string]int) map[string]river.QueueConfig {
	out := make(map[string]river.QueueConfig)
	for _, q := range Queues {
		n := concurrency[q]
		if n <= 0 {
			n = 10
		}
		out[q] = river.QueueConfig{MaxWorkers: n}
	}
	return out
}

// River returns the underlying River client, for extensions and tests.
func (c *Client) River() *river.Client[pgx.Tx] { return c.river }

// Run works (and, for a scheduler, leads) until ctx ends, then stops
// gracefully: running jobs get ShutdownTimeout to finish, after which
// their contexts are cancelled and River records them for a retry. Jobs
// not yet started stay available for another worker.
func (c *Client) Run(ctx context.Context) error {
	if err := c.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs client: %w", err)
	}
	<-ctx.Done()
	return c.Stop()
}

// Stop lets running jobs finish within ShutdownTimeout, then cancels the
// rest.
func (c *Client) Stop() error {
	c.log.Info("jobs: stopping", "timeout", c.cfg.ShutdownTimeout.String())
	soft, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	err := c.river.Stop(soft)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	c.log.Warn("jobs: shutdown timeout passed; cancelling running jobs, which will be retried")
	hard, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	return c.river.StopAndCancel(hard)
}

// Enqueue inserts jobs in a transaction of their own.
func (c *Client) Enqueue(ctx context.Context, jobs ...taruvi.JobArgs) ([]int64, error) {
	params, err := c.insertParams(ctx, jobs)
	if err != nil {
		return nil, err
	}
	res, err := c.river.InsertMany(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	return ids, nil
}

// jobMetadata is what River's metadata column holds for the platform: the
// tenant (for filtering), its id when the job was enqueued in its scope (a
// tenant created again under the same name neither runs nor sees the job),
// and the user whose request caused the job (who may see it).
type jobMetadata struct {
	Tenant   string `json:"tenant,omitempty"`
	TenantID int64  `json:"tenant_id,omitempty"`
	UserID   int64  `json:"user_id,omitempty"`
}

// ofTenant reports whether a job of this metadata belongs to t: the same
// schema, and the same incarnation when it was recorded.
func (m jobMetadata) ofTenant(t *taruvi.Tenant) bool {
	return m.Tenant == t.Schema && m.ofIncarnation(t)
}

// ofIncarnation reports whether the job was enqueued for this incarnation
// of t. Every job records its tenant's id; jobs enqueued before ids were
// recorded have none and follow the schema name.
func (m jobMetadata) ofIncarnation(t *taruvi.Tenant) bool {
	return m.TenantID == 0 || m.TenantID == t.ID
}

// insertParams records with each job its tenant, by schema and id, and
// the user of ctx. A tenant job enqueued in a tenant's scope must name
// that tenant; one enqueued outside any (the platform, commands) gets the
// id of the tenant its schema names now, looked up past any cache.
func (c *Client) insertParams(ctx context.Context, jobs []taruvi.JobArgs) ([]river.InsertManyParams, error) {
	scope := taruvi.TenantFromContext(ctx)
	var user int64
	if p := taruvi.PrincipalFromContext(ctx); p != nil {
		user = p.UserID
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		meta := jobMetadata{UserID: user}
		if tj, ok := j.(taruvi.TenantJobArgs); ok {
			t, err := c.jobTenant(ctx, scope, tj.JobTenant())
			if err != nil {
				return nil, fmt.Errorf("enqueue %s: %w", j.Kind(), err)
			}
			meta.Tenant, meta.TenantID = t.Schema, t.ID
		}
		opts := optsFor(j)
		opts.Metadata, _ = json.Marshal(meta)
		params[i] = river.InsertManyParams{Args: j, InsertOpts: &opts}
	}
	return params, nil
}

// jobTenant returns the tenant of a job naming schema, enqueued in scope
// (nil outside any tenant's).
func (c *Client) jobTenant(ctx context.Context, scope *taruvi.Tenant, schema string) (*taruvi.Tenant, error) {
	if err := taruvi.ValidateSchemaName(schema); err != nil {
		return nil, err
	}
	switch {
	case scope != nil && scope.Schema != schema:
		return nil, fmt.Errorf("a job for tenant %q from the scope of %q", schema, scope.Schema)
	case scope != nil:
		return scope, nil
	case c.scope.tenants == nil:
		return nil, fmt.Errorf("a job for tenant %q outside its scope, and no tenant finder", schema)
	}
	return findTenant(ctx, c.scope.tenants, schema, true)
}

// optsFor is where each kind runs and how often it is tried: the
// options a tenant's job takes when its write enqueues it
// (postgres.TenantJobOpts, which also reads the options args of other
// kinds give themselves), and for the platform's maintenance job, which
// only this client inserts, unique by its arguments (its tick).
func optsFor(j taruvi.JobArgs) river.InsertOpts {
	if j.Kind() == (taruvi.MaintenanceArgs{}).Kind() {
		return river.InsertOpts{Queue: taruvi.QueueDefault, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}
	return postgres.TenantJobOpts(j)
}

// warnAndAbove passes River's warnings and errors on and drops its routine
// information (job counts every few seconds).
type warnAndAbove struct{ slog.Handler }

func (h warnAndAbove) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnAndAbove) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnAndAbove{h.Handler.WithAttrs(attrs)}
}

func (h warnAndAbove) WithGroup(name string) slog.Handler {
	return warnAndAbove{h.Handler.WithGroup(name)}
}
