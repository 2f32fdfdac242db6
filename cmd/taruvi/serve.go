package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/config"
	"taruvi/internal/jobs"
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
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return serve(ctx, cfg, log, db, func(addr net.Addr) {
		log.Info("serving", "addr", addr.String(), "version", taruvi.Version)
	})
}

// serve runs the HTTP server on cfg.HTTPAddr until ctx ends, then lets
// requests in flight finish within cfg.ShutdownTimeout. It refuses to start
// on a public schema older than this binary.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB, ready func(net.Addr)) error {
	return serveWith(ctx, cfg, log, db, ready, jobs.InsertOnly)
}

// serveWith is serve with a jobs client of the given mode: InsertOnly for
// `serve`, WorkerScheduler for `dev`, which then works jobs in process and
// stops them after the server.
func serveWith(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB, ready func(net.Addr), mode jobs.Mode) error {
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Minute)
	jobClient, reports, blobs, err := openJobs(ctx, cfg, log, db, cache, mode)
	if err != nil {
		return err
	}
	id, err := newIdentity(ctx, cfg, db, log)
	if err != nil {
		return err
	}
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
	backgroundCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	go db.Listen(backgroundCtx, log, map[string]func(string){
		postgres.TenancyChannel:     func(string) { cache.Invalidate() },
		postgres.RevocationsChannel: id.auth.HandleRevocation,
	}, func() {
		cache.Invalidate()
		id.auth.ResetSessions()
	})
	go id.reloadKeysEvery(backgroundCtx, log, time.Minute)

	handler := web.NewServer(web.Config{
		BaseDomain:        cfg.BaseDomain,
		PlatformHosts:     cfg.PlatformHosts,
		TrustTenantHeader: cfg.TrustTenantHeader,
		TenantVersion:     db.TenantVersion(),
		Auth:              id.auth,
	}, log, cache)
	surface := &api.API{Auth: id.auth, Users: id.users, Keys: id.keys, Log: log, Projects: postgres.NewProjects(db, id.authz),
		Tasks: postgres.NewTasks(db, id.authz), History: postgres.NewHistory(db, id.authz),
		Files: postgres.NewFiles(db, id.authz, blobs, cfg.MaxUploadBytes, log), MaxUploadBytes: cfg.MaxUploadBytes,
		Jobs: jobClient, Reports: reports, Outbox: postgres.NewOutbox(db, id.authz)}
	surface.Register(handler)
	surface.RegisterDocs(handler)
	ui, err := jobClient.UI(backgroundCtx, log)
	if err != nil {
		return err
	}
	surface.RegisterJobsUI(handler, ui)
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
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
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
func openBlobStore(ctx context.Context, cfg config.Config, log *slog.Logger) (taruvi.BlobStore, error) {
	if cfg.S3.Bucket != "" {
		store, err := blob.NewS3(ctx, blob.S3Config{Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, Bucket: cfg.S3.Bucket,
			AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, PathStyle: cfg.S3.PathStyle})
		if err != nil {
			return nil, fmt.Errorf("file storage (TARUVI_S3_*): %w", err)
		}
		log.Info("files in S3", "bucket", cfg.S3.Bucket, "endpoint", cfg.S3.Endpoint)
		return store, nil
	}
	dir := cfg.StorageDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "storage")
	}
	store, err := blob.NewLocal(dir)
	if err != nil {
		return nil, fmt.Errorf("file storage (TARUVI_STORAGE_DIR): %w", err)
	}
	log.Info("files on the local disk", "dir", dir)
	return store, nil
}
