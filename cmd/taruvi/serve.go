package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/config"
	"taruvi/internal/jobs"
	"taruvi/internal/metrics"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

func runServe(ctx context.Context, e env) error {
	fs := newFlags(e, "serve", "")
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if err := checkSecretKey(cfg); err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	// The registry comes first: the read cache counts its lookups in it
	// from the moment the database is open.
	m := metrics.New()
	db, err := openDBLogging(ctx, cfg, log, countReads(m))
	if err != nil {
		return err
	}
	defer db.Close()
	return serveWith(ctx, cfg, log, db, m, func(addr net.Addr) {
		log.Info("serving", "addr", addr.String(), "version", taruvi.Version)
	}, jobs.InsertOnly, moduleList())
}

// serve runs the HTTP server on cfg.HTTPAddr until ctx ends, then lets
// requests in flight finish within cfg.ShutdownTimeout. It refuses to start
// on a public schema older than this binary.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB, ready func(net.Addr)) error {
	return serveWith(ctx, cfg, log, db, metrics.New(), ready, jobs.InsertOnly, moduleList())
}

// countReads counts the read cache's lookups in m (Options.ObserveReads).
func countReads(m *metrics.Metrics) func(hit bool) {
	return func(hit bool) { m.CacheLookup("reads", "memory", hit) }
}

// serveWith is serve counting in the registry m, with a jobs client of the
// given mode: InsertOnly for `serve`, WorkerScheduler for `dev`, which then
// works jobs in process and stops them after the server. The modules of
// list are built once every service they use is, and serve every surface.
//
// Every cache of tenant data follows db's change feed, subscribing as it
// is made: the read cache (in postgres.Open), the tenant cache, the shared
// cache with the permission answers, and the session cache. The feed runs
// once they all are, before any other goroutine of the server starts.
func serveWith(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB, m *metrics.Metrics, ready func(net.Addr), mode jobs.Mode, list []modules.Constructor) error {
	feed := db.Feed()
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Minute, feed)
	blobs, storage, err := openStorage(ctx, cfg, log, db)
	if err != nil {
		return err
	}
	watchDB(m, db)
	backgroundCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	shared, err := openShared(backgroundCtx, cfg, log, db, m)
	if err != nil {
		return err
	}
	defer shared.close()
	// Permission answers are remembered in the shared cache until the
	// tenant is written to, as the feed tells (cache.Options.ForgetOnWrite).
	id, err := newIdentity(ctx, cfg, db, shared.redis, shared.cache, log)
	if err != nil {
		return err
	}
	feed.Subscribe(postgres.RevocationSubscriber(id.auth.HandleRevocation, id.auth.ResetSessions))
	// One bound for both surfaces: it is the process's disk it spares.
	spools, err := web.NewSpools(cfg.UploadTempDir, cfg.UploadSpools)
	if err != nil {
		return err
	}
	mods := modules.Build(list, modules.Core{DB: db, Authz: id.authz, Blobs: blobs,
		MaxUploadBytes: cfg.MaxUploadBytes, Spools: spools, Log: log})
	jobClient, reports, err := newJobs(cfg, log, db, blobs, cache, mode, mods)
	if err != nil {
		return err
	}
	jobClient.OnFinished(m.JobFinished)
	// Stopped after the jobs (deferred first, runs last).
	defer startFeed(backgroundCtx, log, db)()
	if mode != jobs.InsertOnly {
		jobsDone := make(chan error, 1)
		jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
		go func() { jobsDone <- jobClient.Run(jobsCtx) }()
		defer func() {
			stopJobs()
			if err := <-jobsDone; err != nil {
				log.Error("jobs stopped with an error", "err", err)
			}
		}()
	}
	go id.reloadKeysEvery(backgroundCtx, log, time.Minute)
	if _, err := startDebug(backgroundCtx, cfg, log, m); err != nil {
		return err
	}

	handler := web.NewServer(web.Config{
		BaseDomain:        cfg.BaseDomain,
		PlatformHosts:     cfg.PlatformHosts,
		TrustTenantHeader: cfg.TrustTenantHeader,
		TenantVersion:     db.TenantVersion(),
		Auth:              id.auth,
		TrustedProxies:    cfg.Ops.TrustedProxies,
		CORSOrigins:       cfg.Ops.CORSOrigins,
		Health:            append(healthChecks(db, blobs, storage), shared.healthCheck()),
		Metrics:           m,
		Limiter:           shared.limiter,
		Limits: web.RateLimits{Window: cfg.Ops.RateWindow, Auth: cfg.Ops.RateAuth, API: cfg.Ops.RateAPI,
			Uploads: cfg.Ops.RateUploads},
	}, log, cache)
	surface := &api.API{Modules: mods, Auth: id.auth, Tenants: postgres.NewTenants(db), Users: id.users, Keys: id.keys, Log: log, BaseDomain: cfg.BaseDomain,
		History: postgres.NewHistory(db, id.authz, taruvi.HistoryObjectTypes(mods), taruvi.HistoryFamilies(mods)...),
		Jobs:    jobClient, Reports: reports, Outbox: postgres.NewOutbox(db, id.authz)}
	surface.Register(handler)
	surface.RegisterDocs(handler)
	ui, err := jobClient.UI(backgroundCtx, log)
	if err != nil {
		return err
	}
	console := &admin.Admin{Modules: mods, Sessions: id.auth, Auth: id.auth, Users: id.users, Tenants: postgres.NewTenants(db),
		Platform: postgres.NewConsole(db, id.authz), History: surface.History, Branding: postgres.NewBrandings(db, id.authz), Outbox: surface.Outbox, Reports: surface.Reports, Log: log,
		Checks: []admin.Check{{Name: "storage", Detail: storageDetail(cfg), Ping: blobs.Ping}, {Name: "cache", Detail: cacheDetail(cfg), Ping: shared.ping}},
		Secret: adminSecret(cfg), SessionTTL: cfg.Admin.SessionTTL}
	if err := console.Register(handler); err != nil {
		return fmt.Errorf("admin pages: %w", err)
	}
	surface.RegisterJobsUI(handler, ui, console.SessionPrincipal)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // uploads
		WriteTimeout:      5 * time.Minute, // downloads
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (TARUVI_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	ready(ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if cfg.Ops.TLS() {
			errc <- srv.ServeTLS(ln, cfg.Ops.TLSCertFile, cfg.Ops.TLSKeyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Load balancers polling /health/ready see 503 from now on; Shutdown
	// stops accepting and lets the requests in flight finish.
	handler.SetDraining(true)
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openBlobStore returns the store of file contents: S3 when
// TARUVI_S3_BUCKET is set, else the local disk under TARUVI_STORAGE_DIR
// (by default <TARUVI_DATA_DIR>/storage).
func openBlobStore(ctx context.Context, cfg config.Config, log *slog.Logger) (taruvi.BlobStore, string, error) {
	if cfg.S3.Bucket != "" {
		store, err := blob.NewS3(ctx, blob.S3Config{Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, Bucket: cfg.S3.Bucket,
			AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, PathStyle: cfg.S3.PathStyle})
		if err != nil {
			return nil, "", fmt.Errorf("file storage (TARUVI_S3_*): %w", err)
		}
		log.Info("files in S3", "bucket", cfg.S3.Bucket, "endpoint", cfg.S3.Endpoint)
		return store, "s3", nil
	}
	dir := cfg.StorageDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "storage")
	}
	store, err := blob.NewLocal(dir)
	if err != nil {
		return nil, "", fmt.Errorf("file storage (TARUVI_STORAGE_DIR): %w", err)
	}
	log.Info("files on the local disk", "dir", dir)
	return store, "local", nil
}

// cacheDetail names the cache tiers the dashboard reports on.
func cacheDetail(cfg config.Config) string {
	if cfg.Ops.RedisURL != "" {
		return "in process and Redis"
	}
	return "in process"
}

// storageDetail names the file store the dashboard reports on.
func storageDetail(cfg config.Config) string {
	if cfg.S3.Bucket != "" {
		return "S3 bucket " + cfg.S3.Bucket
	}
	return "local disk"
}

// adminSecret derives the key of admin cookies and CSRF tokens from
// TARUVI_SECRET_KEY, so that it is the same on every replica and useless
// for anything else.
func adminSecret(cfg config.Config) []byte {
	m := hmac.New(sha256.New, []byte(cfg.SecretKey))
	m.Write([]byte("taruvi admin sessions"))
	return m.Sum(nil)
}
