package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/cache"
	"taruvi/internal/config"
	"taruvi/internal/metrics"
	"taruvi/internal/postgres"
	"taruvi/internal/redis"
	"taruvi/internal/web"
)

// newMetrics returns the process's registry watching the database pool and
// the tenant count.
func newMetrics(db *postgres.DB) *metrics.Metrics { return watchDB(metrics.New(), db) }

// watchDB has m watch db's pools and tenant count, and returns m.
func watchDB(m *metrics.Metrics, db *postgres.DB) *metrics.Metrics {
	m.WatchPool(func() metrics.PoolStats {
		var sum metrics.PoolStats
		for _, p := range db.Pools() {
			s := p.Stat()
			sum.Acquired += s.AcquiredConns()
			sum.Idle += s.IdleConns()
			sum.Total += s.TotalConns()
			sum.Max += s.MaxConns()
			sum.Acquires += s.AcquireCount()
			sum.EmptyAcquires += s.EmptyAcquireCount()
			sum.AcquireWait += s.AcquireDuration()
		}
		return sum
	})
	m.WatchTenants(db.CountTenants)
	return m
}

// healthChecks are the checks of GET /health/: the database, the job queue
// and the file store. The cache adds its own.
func healthChecks(db *postgres.DB, blobs taruvi.BlobStore, storage string) []web.HealthCheck {
	return []web.HealthCheck{
		{Name: "database", Check: func(ctx context.Context) web.HealthResult {
			s := db.Pool().Stat()
			return web.CheckResult(db.Ping(ctx), map[string]any{"connections": s.TotalConns(), "acquired": s.AcquiredConns(), "max": s.MaxConns()})
		}},
		{Name: "jobs", Check: func(ctx context.Context) web.HealthResult {
			q, err := db.JobQueueStats(ctx)
			if err == nil && !q.Configured {
				return web.HealthResult{Status: web.HealthNotConfigured}
			}
			return web.CheckResult(err, map[string]any{"available": q.Available, "oldest_available_seconds": q.OldestAge.Seconds()})
		}},
		{Name: "storage", Check: func(ctx context.Context) web.HealthResult {
			return web.CheckResult(blobs.Ping(ctx), map[string]any{"backend": storage})
		}},
	}
}

// startDebug serves /metrics and /debug/pprof/ on cfg.Ops.DebugAddr until
// ctx ends. The listener is separate from the API's so that it can stay
// on a private network.
func startDebug(ctx context.Context, cfg config.Config, log *slog.Logger, m *metrics.Metrics) (net.Addr, error) {
	if cfg.Ops.DebugAddr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", cfg.Ops.DebugAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (TARUVI_DEBUG_ADDR): %w", cfg.Ops.DebugAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug listener stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("debug listener", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// sharedState is what replicas share through Redis when it is configured:
// the cache's second tier and the rate limits.
type sharedState struct {
	redis   *redis.Client // nil without TARUVI_REDIS_URL
	cache   *cache.Cache
	limiter *redis.Limiter
}

// openShared connects to Redis when TARUVI_REDIS_URL is set (a Redis that
// does not answer yet is not fatal) and builds the cache and the limiter
// over it; invalidations travel by db's change feed, so they reach every
// replica with or without Redis, and the permission answers it holds go
// with every write to their tenant.
func openShared(ctx context.Context, cfg config.Config, log *slog.Logger, db *postgres.DB, m *metrics.Metrics) (*sharedState, error) {
	s := &sharedState{}
	opts := cache.Options{
		Feed:          db.Feed(),
		ForgetOnWrite: []string{auth.AuthzNamespace},
		Observe:       func(tier string, hit bool) { m.CacheLookup("app", tier, hit) },
	}
	if cfg.Ops.RedisURL != "" {
		client, err := redis.Open(ctx, cfg.Ops.RedisURL, log)
		if err != nil {
			return nil, fmt.Errorf("TARUVI_REDIS_URL: %w", err)
		}
		s.redis, opts.Remote = client, client
		go client.Watch(ctx, time.Second)
	}
	s.cache = cache.New(opts)
	s.limiter = redis.NewLimiter(s.redis)
	return s, nil
}

func (s *sharedState) close() {
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

// healthCheck reports the cache: ok with Redis answering (or without Redis
// configured, in process by design), degraded while Redis is away.
func (s *sharedState) healthCheck() web.HealthCheck {
	return web.HealthCheck{Name: "cache", Check: func(ctx context.Context) web.HealthResult {
		if s.redis == nil {
			return web.HealthResult{Status: web.HealthOK, Detail: map[string]any{"tiers": "memory"}}
		}
		if err := s.redis.Ping(ctx); err != nil {
			return web.HealthResult{Status: web.HealthDegraded, Error: "Redis: " + err.Error(),
				Detail: map[string]any{"tiers": "memory", "redis": "down"}}
		}
		return web.HealthResult{Status: web.HealthOK, Detail: map[string]any{"tiers": "memory+redis", "redis": "up"}}
	}}
}

// ping checks Redis when it is configured; the in-process tier needs no
// check.
func (s *sharedState) ping(ctx context.Context) error {
	if s.redis == nil {
		return nil
	}
	return s.redis.Ping(ctx)
}
