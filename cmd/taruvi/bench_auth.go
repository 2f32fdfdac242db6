package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
)

// authBenchResult is the output of `bench auth`; the first three keys are
// stable (dashboards read them).
type authBenchResult struct {
	RefreshPerS  float64 `json:"refresh_per_s"`
	LoginPerS    float64 `json:"login_per_s"`
	VerifyP99US  float64 `json:"verify_p99_us"`
	VerifyP50US  float64 `json:"verify_p50_us"`
	RefreshP99MS float64 `json:"refresh_p99_ms"`
	Refreshes    int     `json:"refreshes"`
	Logins       int     `json:"logins"`
	Users        int     `json:"users"`
	Concurrency  int     `json:"concurrency"`
	DBMaxConns   int     `json:"db_max_conns"`
	// CPU time per refresh in microseconds: this process (server and load
	// generator) and the local PostgreSQL backends, and their share alone.
	RefreshCPUUS   float64 `json:"refresh_cpu_us"`
	RefreshPGCPUUS float64 `json:"refresh_pg_cpu_us,omitempty"`
	// The concurrent sign-in phase: successful sign-ins per second with 2,
	// 16 and 64 clients at once, the p99 with 16, the peak growth of the
	// server's resident memory over the phase, and the 503s answered.
	LoginC2PerS      float64 `json:"login_c2_per_s"`
	LoginC16PerS     float64 `json:"login_c16_per_s"`
	LoginC64PerS     float64 `json:"login_c64_per_s"`
	LoginC16P99MS    float64 `json:"login_c16_p99_ms"`
	LoginRSSGrowthMB float64 `json:"login_rss_growth_mb"`
	LoginRefused     int     `json:"login_refused"`
	// The p99 of a request that hashes no password (GET /api/users/me,
	// one every 5 ms), before the sign-ins and while 16 clients sign in.
	OtherP99MS         float64 `json:"other_p99_ms"`
	LoginC16OtherP99MS float64 `json:"login_c16_other_p99_ms"`
}

const (
	benchAuthSchema   = "bench_auth"
	benchAuthPassword = "bench password"
	// verifyCalls is how many times the verification of one access token
	// is measured.
	verifyCalls = 20_000
)

// authBenchOptions are the parsed flags of `bench auth`.
type authBenchOptions struct {
	users       int
	concurrency int
	duration    time.Duration
	json        bool
	cpuprofile  string
}

func runBenchAuth(ctx context.Context, e env) error {
	fs := newFlags(e, "bench auth", "[--users N] [--concurrency C] [--duration D] [--database URL] [--json]")
	users := fs.Int("users", 50, "users created and signed in in turn")
	concurrency := fs.Int("concurrency", 32, "clients sending requests at once")
	duration := fs.Duration("duration", 10*time.Second, "measured time of the login and the refresh phase, split evenly; the concurrent sign-in phase runs a quarter of it at each of 2, 16 and 64 clients")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "auth"); err != nil {
		return err
	}
	switch {
	case *users < 1 || *users > 10_000:
		return usageError("--users must be from 1 to 10000, got %d", *users)
	case *concurrency < 1 || *concurrency > 1024:
		return usageError("--concurrency must be from 1 to 1024, got %d", *concurrency)
	case *duration < 200*time.Millisecond || *duration > time.Hour:
		return usageError("--duration must be from 200ms to 1h, got %s", *duration)
	}
	opts := authBenchOptions{users: *users, concurrency: *concurrency, duration: *duration, json: *bf.json, cpuprofile: *bf.cpuprofile}
	return withBenchDatabase(ctx, e, *bf.database, func(_ *postgres.DB, url string) error {
		r, err := benchAuth(ctx, e, url, opts)
		if err != nil {
			return err
		}
		if opts.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "bench auth, %d users, %d clients over HTTP: refresh %.0f/s (p99 %.1f ms), login %.1f/s; "+
			"access token verification p99 %.1f µs (p50 %.1f µs); sign-ins with 2, 16, 64 clients %.1f, %.1f, %.1f/s "+
			"(p99 %.0f ms with 16, %d answered 503, resident memory +%.1f MB); other requests p99 %.1f ms, %.1f ms while 16 sign in\n",
			r.Users, r.Concurrency, r.RefreshPerS, r.RefreshP99MS, r.LoginPerS, r.VerifyP99US, r.VerifyP50US,
			r.LoginC2PerS, r.LoginC16PerS, r.LoginC64PerS, r.LoginC16P99MS, r.LoginRefused, r.LoginRSSGrowthMB, r.OtherP99MS, r.LoginC16OtherP99MS)
		return nil
	})
}

// benchAuth provisions a tenant and its users in the database at url,
// serves the API on a loopback port and measures it.
func benchAuth(ctx context.Context, e env, url string, opts authBenchOptions) (*authBenchResult, error) {
	cfg, err := benchServerConfig(e, url)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, e.stderr)
	// Opened as the server opens it, so the tenant gets every migration
	// the server expects.
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: benchAuthSchema})
	if err != nil {
		return nil, fmt.Errorf("provision tenant: %w", err)
	}
	tctx := taruvi.NewContextWithTenant(ctx, tenant)
	// This stack shares the server's database, keys and secret: it makes
	// the users and measures verification as the server's middleware does.
	id, err := newIdentity(ctx, cfg, db, nil, nil, log)
	if err != nil {
		return nil, err
	}
	emails, err := createBenchUsers(tctx, id.users, opts.users, newProgress(e.stderr, "created users", opts.users))
	if err != nil {
		return nil, err
	}

	r := &authBenchResult{Users: opts.users, Concurrency: opts.concurrency, DBMaxConns: cfg.DBMaxConns}
	err = withBenchServer(ctx, cfg, log, func(base string) error {
		host := benchAuthSchema + "." + cfg.BaseDomain
		if err := benchConcurrentSignIns(ctx, base, host, signInBodies(emails), opts.duration/4, r); err != nil {
			return err
		}
		c := newBenchClient(base, host, opts.concurrency)
		defer c.close()
		chains, err := benchLogins(ctx, c, emails, opts, r)
		if err != nil {
			return err
		}
		meter, err := newCPUMeter(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer meter.close()
		return profile(opts.cpuprofile, func() error {
			return meter.measure(ctx, func() error { return benchRefreshes(ctx, c, chains, opts, r) },
				&r.Refreshes, &r.RefreshCPUUS, &r.RefreshPGCPUUS)
		})
	})
	if err != nil {
		return nil, err
	}
	p50, p99, err := benchVerify(tctx, id, emails[0])
	if err != nil {
		return nil, err
	}
	r.VerifyP50US, r.VerifyP99US = p50, p99
	return r, nil
}

// benchServerConfig is the configuration of the server under test: the
// bench database, a fresh secret, a loopback port and quiet logs. A pool
// size set in TARUVI_DB_MAX_CONNS is kept.
func benchServerConfig(e env, url string) (config.Config, error) {
	var secret [36]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return config.Config{}, err
	}
	vars := map[string]string{
		"TARUVI_DATABASE_URL":     url,
		"TARUVI_SECRET_KEY":       base64.RawURLEncoding.EncodeToString(secret[:]),
		"TARUVI_HTTP_ADDR":        "127.0.0.1:0",
		"TARUVI_LOG_LEVEL":        "error",
		"TARUVI_SHUTDOWN_TIMEOUT": "5s",
		"TARUVI_DB_MAX_CONNS":     e.getenv("TARUVI_DB_MAX_CONNS"),
		"TARUVI_READ_CACHE_TTL":   e.getenv("TARUVI_READ_CACHE_TTL"),
		// One client address sends every request of a bench: rate limits
		// would measure themselves.
		"TARUVI_RATE_LIMIT_AUTH":    "0",
		"TARUVI_RATE_LIMIT_API":     "0",
		"TARUVI_RATE_LIMIT_UPLOADS": "0",
	}
	cfg, err := config.Load(func(name string) string { return vars[name] })
	if err != nil {
		return cfg, fmt.Errorf("bench configuration: %w", err)
	}
	return cfg, nil
}

// createBenchUsers makes n users with the bench password and returns their
// emails.
func createBenchUsers(ctx context.Context, users taruvi.UserService, n int, p *progress) ([]string, error) {
	ctx = taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: taruvi.AudienceFromContext(ctx), IsOwner: true, IsAdmin: true})
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%05d@bench.test", i+1)
	}
	jobs := make(chan string)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	// As many creators as there are cores: every user costs a password
	// hash, and the hasher runs about that many at once, so more creators
	// would only queue, and a long queue is refused (503) after a wait.
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for email := range jobs {
				if _, err := users.CreateUser(ctx, taruvi.UserCreate{Email: email, Password: benchAuthPassword}); err != nil {
					errs <- fmt.Errorf("create user %s: %w", email, err)
					return
				}
				p.add()
			}
		})
	}
	var err error
feed:
	for _, email := range emails {
		select {
		case jobs <- email:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return emails, errors.Join(err, <-errs)
}

// withBenchServer runs serve on a loopback port while fn uses it, then
// stops it and waits until it is gone.
func withBenchServer(ctx context.Context, cfg config.Config, log *slog.Logger, fn func(base string) error) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	serverCtx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(serverCtx, cfg, log, db, func(a net.Addr) { ready <- a }) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		return fmt.Errorf("start server: %w", err)
	}
	err = fn("http://" + addr.String())
	stop()
	return errors.Join(err, <-done)
}

// benchClient sends the bench's requests to the server under test.
type benchClient struct {
	http      *http.Client
	transport *http.Transport
	base      string // http://127.0.0.1:port
	host      string // the tenant's host
}

func newBenchClient(base, host string, concurrency int) *benchClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &benchClient{http: &http.Client{Transport: tr, Timeout: time.Minute}, transport: tr, base: base, host: host}
}

func (c *benchClient) close() { c.transport.CloseIdleConnections() }

// pair posts body to path and returns the token pair of a 200 answer.
func (c *benchClient) pair(ctx context.Context, path string, body []byte) (*taruvi.TokenPair, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Host = c.host
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		return nil, &statusError{status: res.StatusCode, retryAfter: time.Duration(retry) * time.Second,
			msg: fmt.Sprintf("POST %s: status %d: %.300s", path, res.StatusCode, b)}
	}
	var env struct{ Data taruvi.TokenPair }
	if err := json.Unmarshal(b, &env); err != nil || env.Data.Access == "" || env.Data.Refresh == "" {
		return nil, fmt.Errorf("POST %s: no token pair in %.300s", path, b)
	}
	return &env.Data, nil
}

// errNotCounted, returned by a phase's op, neither counts the operation
// nor stops the worker (a refusal the client waits out).
var errNotCounted = errors.New("not counted")

// phase runs op on workers goroutines until d has passed, each at least
// once. A worker stops at its first failure. It returns the latencies of
// the operations that succeeded, the time the phase took, how many
// failed and the first failure.
func phase(ctx context.Context, workers int, d time.Duration, op func(ctx context.Context, worker int) error) (ok []time.Duration, took time.Duration, failed int, first error) {
	var mu sync.Mutex
	var failures atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; i == 0 || time.Now().Before(deadline); i++ {
				t0 := time.Now()
				err := op(ctx, w)
				if errors.Is(err, errNotCounted) {
					continue
				}
				if err != nil {
					failures.Add(1)
					mu.Lock()
					first = cmpFirst(first, err)
					mu.Unlock()
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			ok = append(ok, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok, time.Since(start), int(failures.Load()), first
}

func cmpFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// benchLogins signs users in, in turn, for half the duration, and returns
// the last refresh token each client got.
func benchLogins(ctx context.Context, c *benchClient, emails []string, opts authBenchOptions, r *authBenchResult) ([]string, error) {
	bodies := signInBodies(emails)
	chains := make([]string, opts.concurrency)
	var next atomic.Int64
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/2, func(ctx context.Context, w int) error {
		i := int(next.Add(1)-1) % len(bodies)
		p, err := c.signIn(ctx, bodies[i])
		if err != nil {
			return fmt.Errorf("sign in as %s: %w", emails[i], err)
		}
		chains[w] = p.Refresh
		return nil
	})
	if failed > 0 {
		return nil, fmt.Errorf("%d sign-ins failed; the first: %w", failed, first)
	}
	r.Logins, r.LoginPerS = len(ok), rate(len(ok), took)
	return chains, nil
}

// signInBodies are the bodies of the sign-ins of each of emails.
func signInBodies(emails []string) [][]byte {
	bodies := make([][]byte, len(emails))
	for i, email := range emails {
		bodies[i], _ = json.Marshal(taruvi.Credentials{Email: email, Password: benchAuthPassword})
	}
	return bodies
}

// benchRefreshes has each client rotate its own refresh token chain for
// half the duration. Every refresh must succeed and rotate.
func benchRefreshes(ctx context.Context, c *benchClient, chains []string, opts authBenchOptions, r *authBenchResult) error {
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/2, func(ctx context.Context, w int) error {
		body, _ := json.Marshal(map[string]string{"refresh": chains[w]})
		p, err := c.pair(ctx, "/api/auth/jwt/refresh", body)
		if err != nil {
			return err
		}
		if p.Refresh == chains[w] {
			return errors.New("refresh returned the same refresh token: no rotation")
		}
		chains[w] = p.Refresh
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d of %d refreshes failed; the first: %w", failed, failed+len(ok), first)
	}
	r.Refreshes, r.RefreshPerS = len(ok), rate(len(ok), took)
	r.RefreshP99MS = round(float64(percentile(ok, 99).Microseconds())/1000, 10)
	return nil
}

// benchVerify signs email in and measures verifyCalls checks of the access
// token by Authenticate, the work of the request path's middleware once the
// session is cached. It returns p50 and p99 in microseconds.
func benchVerify(ctx context.Context, id *identity, email string) (p50, p99 float64, err error) {
	pair, err := id.auth.Login(ctx, taruvi.Credentials{Email: email, Password: benchAuthPassword}, taruvi.Client{IP: "127.0.0.1"})
	if err != nil {
		return 0, 0, fmt.Errorf("sign in for verification: %w", err)
	}
	header := "Bearer " + pair.Access
	// The first check loads the session into the cache.
	if _, err := id.auth.Authenticate(ctx, header); err != nil {
		return 0, 0, fmt.Errorf("verify access token: %w", err)
	}
	took := make([]time.Duration, verifyCalls)
	for i := range took {
		start := time.Now()
		_, err := id.auth.Authenticate(ctx, header)
		took[i] = time.Since(start)
		if err != nil {
			return 0, 0, fmt.Errorf("verify access token: %w", err)
		}
	}
	us := func(d time.Duration) float64 { return round(float64(d.Nanoseconds())/1000, 10) }
	return us(percentile(took, 50)), us(percentile(took, 99)), nil
}

// percentile returns the p-th percentile (nearest rank) of ds, which it
// sorts; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(p/100*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

// rate is n per second of d, to a tenth.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 10)
}

// round rounds x to 1/scale.
func round(x, scale float64) float64 { return math.Round(x*scale) / scale }
