package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/config"
	"taruvi/internal/jobs"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

func runWorker(ctx context.Context, e env) error {
	return runJobs(ctx, e, "worker", jobs.Worker)
}

func runScheduler(ctx context.Context, e env) error {
	return runJobs(ctx, e, "scheduler", jobs.Scheduler)
}

// runJobs runs a worker or a scheduler until SIGTERM or SIGINT, then lets
// running jobs finish within TARUVI_JOB_SHUTDOWN_TIMEOUT.
func runJobs(ctx context.Context, e env, name string, mode jobs.Mode) error {
	fs := newFlags(e, name, "")
	if rest, err := parseFlags(fs, e.args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError("%s takes no arguments, got %q", name, rest)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// A suspended or deleted tenant's jobs are cancelled within a second:
	// the tenant cache follows the change feed, which also tells the
	// servers' read caches what jobs write.
	feed := db.Feed()
	tenants := web.NewTenantCache(postgres.NewTenants(db), time.Minute, feed)
	blobs, _, err := openStorage(ctx, cfg, log, db)
	if err != nil {
		return err
	}
	// The modules' periodic jobs need the database only; the permission
	// answers a worker reads are not cached across processes.
	mods := modules.Build(moduleList(), modules.Core{DB: db, Authz: auth.NewAuthz(postgres.NewAuthStore(db), log, nil), Blobs: blobs,
		MaxUploadBytes: cfg.MaxUploadBytes, Log: log})
	client, _, err := newJobs(cfg, log, db, blobs, tenants, mode, mods)
	if err != nil {
		return err
	}
	m := newMetrics(db)
	client.OnFinished(m.JobFinished)
	backgroundCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	defer startFeed(backgroundCtx, log, db)()
	if _, err := startDebug(backgroundCtx, cfg, log, m); err != nil {
		return err
	}
	log.Info(name+" running", "version", taruvi.Version, "queues", jobs.Queues)
	return client.Run(ctx)
}

// startFeed runs db's change feed until ctx ends, once every cache that
// follows it is made. The function it returns ends the feed and waits for
// it, so that what this process wrote is published before the pool
// closes.
func startFeed(ctx context.Context, log *slog.Logger, db *postgres.DB) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = db.Feed().Run(ctx, log)
	}()
	return func() {
		cancel()
		<-done
	}
}

// checkSchemas refuses to start on a public or river schema older than
// this binary.
func checkSchemas(ctx context.Context, db *postgres.DB) error {
	if err := db.CheckPublic(ctx); err != nil {
		return err
	}
	return jobs.Check(ctx, db.Pool())
}

// openStorage checks the schemas and opens the blob store, returning it
// and the name of its backend: what serve, worker and scheduler all start
// with.
func openStorage(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB) (taruvi.BlobStore, string, error) {
	if err := checkSchemas(ctx, db); err != nil {
		return nil, "", err
	}
	return openBlobStore(ctx, cfg, log)
}

// migrateJobs applies River's migrations to the river schema.
func migrateJobs(ctx context.Context, db *postgres.DB) (from, to int, err error) {
	return jobs.Migrate(ctx, db.Pool())
}

// newJobs returns the jobs client of mode over db, with every store its
// workers use and the periodic jobs of mods, made the enqueuer of db's
// stores, and the report service built on it.
func newJobs(cfg config.Config, log *slog.Logger, db *postgres.DB, blobs taruvi.BlobStore, tenants jobs.TenantFinder, mode jobs.Mode, mods []taruvi.Module) (*jobs.Client, *jobs.Reports, error) {
	var mailer jobs.Mailer
	if cfg.Jobs.SMTPURL != "" {
		smtp, err := jobs.NewSMTP(cfg.Jobs.SMTPURL)
		if err != nil {
			return nil, nil, fmt.Errorf("TARUVI_SMTP_URL: %w", err)
		}
		mailer = smtp
	}
	reports := postgres.NewReports(db, blobs)
	client, err := jobs.New(db.Pool(), jobs.Config{
		Mode: mode,
		Queues: map[string]int{taruvi.QueueDefault: cfg.Jobs.DefaultWorkers, taruvi.QueueEmails: cfg.Jobs.EmailsWorkers,
			taruvi.QueueReports: cfg.Jobs.ReportsWorkers, taruvi.QueueTenantTasks: cfg.Jobs.TenantTasksWorkers},
		ShutdownTimeout:     cfg.Jobs.ShutdownTimeout,
		JobTimeout:          cfg.Jobs.JobTimeout,
		FetchCooldown:       cfg.Jobs.FetchCooldown,
		HistoryRetention:    cfg.Jobs.HistoryRetention,
		MaintenanceInterval: cfg.Jobs.MaintenanceInterval,
		Log:                 log,
	}, jobs.Deps{
		Tenants: tenants,
		Mailer:  mailer,
		Outbox:  postgres.NewOutbox(db, auth.NewAuthz(postgres.NewAuthStore(db), log, nil)),
		Reports: reports,
		Maint:   postgres.NewMaintenance(db, blobs, log),
		Modules: mods,
	})
	if err != nil {
		return nil, nil, err
	}
	return client, &jobs.Reports{Store: reports, Jobs: client}, nil
}
