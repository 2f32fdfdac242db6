package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
)

// apiBenchResult is the output of `bench api`; the first four keys are
// stable (dashboards read them). Writes are task creations; project
// writes, project creations.
type apiBenchResult struct {
	ReadRPS            float64 `json:"read_rps"`
	ReadP99MS          float64 `json:"read_p99_ms"`
	WriteRPS           float64 `json:"write_rps"`
	WriteP99MS         float64 `json:"write_p99_ms"`
	ProjectWriteRPS    float64 `json:"project_write_rps"`
	ProjectWriteP99MS  float64 `json:"project_write_p99_ms"`
	ReadP50MS          float64 `json:"read_p50_ms"`
	WriteP50MS         float64 `json:"write_p50_ms"`
	ProjectWriteP50MS  float64 `json:"project_write_p50_ms"`
	Reads              int     `json:"reads"`
	Writes             int     `json:"writes"`
	ProjectWrites      int     `json:"project_writes"`
	ReadCacheTTLSecond float64 `json:"read_cache_ttl_s"` // TARUVI_READ_CACHE_TTL; 0: reads go to the database
	Tenants            int     `json:"tenants"`
	Projects           int     `json:"projects"`
	Concurrency        int     `json:"concurrency"`
	DurationS          float64 `json:"duration_s"`
	DBMaxConns         int     `json:"db_max_conns"`
	// CPU time per request, in microseconds, of this process (server and
	// load generator) and, when the database server is local, of the
	// PostgreSQL backends (the pg_ fields).
	ReadCPUUS           float64 `json:"read_cpu_us"`
	ReadPGCPUUS         float64 `json:"read_pg_cpu_us,omitempty"`
	WriteCPUUS          float64 `json:"write_cpu_us"`
	WritePGCPUUS        float64 `json:"write_pg_cpu_us,omitempty"`
	ProjectWriteCPUUS   float64 `json:"project_write_cpu_us"`
	ProjectWritePGCPUUS float64 `json:"project_write_pg_cpu_us,omitempty"`
}

const benchAPIPassword = "bench password"

// apiBenchOptions are the parsed flags of `bench api`.
type apiBenchOptions struct {
	tenants     int
	projects    int
	concurrency int
	duration    time.Duration
	json        bool
	cpuprofile  string
}

// apiTenant is one seeded tenant as the load generator sees it.
type apiTenant struct {
	schema   string
	host     string
	email    string
	tenant   *taruvi.Tenant
	owner    int64   // the owner's user id
	projects []int64 // bench api
	bearer   string  // "Bearer <access token>" once signed in
}

func runBenchAPI(ctx context.Context, e env) error {
	fs := newFlags(e, "bench api", "[--tenants N] [--projects N] [--concurrency C] [--duration D] [--database URL] [--json]")
	tenants := fs.Int("tenants", 100, "tenants seeded, each with one owner and its projects")
	projects := fs.Int("projects", 200, "projects seeded in each tenant")
	concurrency := fs.Int("concurrency", 32, "clients sending requests at once, spread across the tenants")
	duration := fs.Duration("duration", 15*time.Second, "measured time, split evenly between the phases: reads, task creations, project creations")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "api"); err != nil {
		return err
	}
	switch {
	case *tenants < 1 || *tenants > 10_000:
		return usageError("--tenants must be from 1 to 10000, got %d", *tenants)
	case *projects < 1 || *projects > 10_000:
		return usageError("--projects must be from 1 to 10000, got %d", *projects)
	case *concurrency < 1 || *concurrency > 1024:
		return usageError("--concurrency must be from 1 to 1024, got %d", *concurrency)
	case *duration < 200*time.Millisecond || *duration > time.Hour:
		return usageError("--duration must be from 200ms to 1h, got %s", *duration)
	}
	opts := apiBenchOptions{tenants: *tenants, projects: *projects, concurrency: *concurrency, duration: *duration, json: *bf.json, cpuprofile: *bf.cpuprofile}
	return withBenchDatabase(ctx, e, *bf.database, func(_ *postgres.DB, url string) error {
		r, err := benchAPI(ctx, e, url, opts)
		if err != nil {
			return err
		}
		if opts.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "bench api, %d tenants of %d projects, %d clients over HTTP: "+
			"reads %.0f/s (p99 %.1f ms, p50 %.1f ms), writes %.0f/s (p99 %.1f ms, p50 %.1f ms), "+
			"project writes %.0f/s (p99 %.1f ms, p50 %.1f ms)\n",
			r.Tenants, r.Projects, r.Concurrency, r.ReadRPS, r.ReadP99MS, r.ReadP50MS, r.WriteRPS, r.WriteP99MS, r.WriteP50MS,
			r.ProjectWriteRPS, r.ProjectWriteP99MS, r.ProjectWriteP50MS)
		return nil
	})
}

// benchAPI seeds the tenants in the database at url, serves the API on a
// loopback port, signs every owner in and measures reads, then writes.
func benchAPI(ctx context.Context, e env, url string, opts apiBenchOptions) (*apiBenchResult, error) {
	r := &apiBenchResult{Tenants: opts.tenants, Projects: opts.projects, Concurrency: opts.concurrency,
		DurationS: opts.duration.Seconds()}
	seed := func(ctx context.Context, db *postgres.DB, users taruvi.UserService, baseDomain string) ([]*apiTenant, error) {
		return seedAPITenants(ctx, db, users, baseDomain, opts, newProgress(e.stderr, "seeded tenants", opts.tenants))
	}
	err := withSignedInTenants(ctx, e, url, opts.duration, opts.concurrency, seed, func(h *apiHarness) error {
		r.DBMaxConns, r.ReadCacheTTLSecond = h.cfg.DBMaxConns, h.cfg.ReadCacheTTL.Seconds()
		c, tenants, meter := h.client, h.tenants, h.meter
		return profile(opts.cpuprofile, func() error {
			err := meter.measure(ctx, func() error { return benchReads(ctx, c, tenants, opts, r) }, &r.Reads, &r.ReadCPUUS, &r.ReadPGCPUUS)
			if err != nil {
				return err
			}
			err = meter.measure(ctx, func() error { return benchWrites(ctx, c, tenants, opts, r) }, &r.Writes, &r.WriteCPUUS, &r.WritePGCPUUS)
			if err != nil {
				return err
			}
			return meter.measure(ctx, func() error { return benchProjectWrites(ctx, c, tenants, opts, r) },
				&r.ProjectWrites, &r.ProjectWriteCPUUS, &r.ProjectWritePGCPUUS)
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// apiHarness is what a bench of the tenant API measures with: the
// server's configuration and database, a client of the server under test,
// the seeded tenants with their owners signed in, and a CPU meter.
type apiHarness struct {
	cfg     config.Config
	db      *postgres.DB
	client  *benchClient
	tenants []*apiTenant
	meter   *cpuMeter
}

// seedFunc provisions a bench's tenants, each with an owner who signs in
// with benchAPIPassword.
type seedFunc func(ctx context.Context, db *postgres.DB, users taruvi.UserService, baseDomain string) ([]*apiTenant, error)

// withSignedInTenants opens the bench database at url as the server opens
// it (so the tenants get every migration the server expects), seeds the
// tenants, checkpoints, serves the API on a loopback port, signs every
// owner in through it and runs measure. The owners' tokens outlive the
// measured time d by half an hour, for the setup a bench does between its
// phases.
func withSignedInTenants(ctx context.Context, e env, url string, d time.Duration, concurrency int, seed seedFunc, measure func(h *apiHarness) error) error {
	cfg, err := benchServerConfig(e, url)
	if err != nil {
		return err
	}
	cfg.AccessTokenTTL = max(cfg.AccessTokenTTL, d+30*time.Minute)
	log := newLogger(cfg, e.stderr)
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := newIdentity(ctx, cfg, db, nil, nil, log)
	if err != nil {
		return err
	}
	tenants, err := seed(ctx, db, id.users, cfg.BaseDomain)
	if err != nil {
		return err
	}
	if err := checkpoint(ctx, e.stderr, db.Pool()); err != nil {
		return err
	}
	return withBenchServer(ctx, cfg, log, func(base string) error {
		c := newBenchClient(base, "", concurrency)
		defer c.close()
		if err := signInOwners(ctx, c, tenants, newProgress(e.stderr, "signed in owners", len(tenants))); err != nil {
			return err
		}
		meter, err := newCPUMeter(ctx, url)
		if err != nil {
			return err
		}
		defer meter.close()
		return measure(&apiHarness{cfg: cfg, db: db, client: c, tenants: tenants, meter: meter})
	})
}

// seedAPITenants provisions opts.tenants tenants, setupWorkers at a time,
// each with an owner and opts.projects projects.
func seedAPITenants(ctx context.Context, db *postgres.DB, users taruvi.UserService, baseDomain string, opts apiBenchOptions, p *progress) ([]*apiTenant, error) {
	return seedTenants(ctx, opts.tenants, baseDomain, p, func(ctx context.Context, t *apiTenant) error {
		ctx, err := createTenantOwner(ctx, db, users, t)
		if err != nil {
			return err
		}
		return seedProjects(ctx, db, t, opts.projects)
	})
}

// seedTenants names n tenants t000001... on baseDomain, each with its
// owner's email, and runs seed for each, setupWorkers at a time.
func seedTenants(ctx context.Context, n int, baseDomain string, p *progress, seed func(ctx context.Context, t *apiTenant) error) ([]*apiTenant, error) {
	tenants := make([]*apiTenant, n)
	for i, schema := range schemaNames("t", n) {
		tenants[i] = &apiTenant{schema: schema, host: schema + "." + baseDomain, email: "owner@" + schema + ".bench.test"}
	}
	err := forEachParallel(ctx, len(tenants), setupWorkers, func(ctx context.Context, i int) error {
		if err := seed(ctx, tenants[i]); err != nil {
			return fmt.Errorf("seed tenant %s: %w", tenants[i].schema, err)
		}
		p.add()
		return nil
	})
	return tenants, err
}

// createTenantOwner provisions the tenant t names and its owner, and
// returns ctx carrying the tenant and the owner as its principal.
func createTenantOwner(ctx context.Context, db *postgres.DB, users taruvi.UserService, t *apiTenant) (context.Context, error) {
	tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: t.schema})
	if err != nil {
		return nil, err
	}
	t.tenant = tenant
	ctx = taruvi.NewContextWithTenant(ctx, tenant)
	operator := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: t.schema, IsOwner: true, IsAdmin: true})
	owner, err := users.CreateUser(operator, taruvi.UserCreate{Email: t.email, Password: benchAPIPassword, IsOwner: true})
	if err != nil {
		return nil, fmt.Errorf("create owner: %w", err)
	}
	t.owner = owner.ID
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: t.schema, UserID: owner.ID, IsOwner: true}), nil
}

// seedProjects makes the tenant's projects by one statement that adds the
// owner as a manager of each, as CreateProject does; the history triggers
// record them.
func seedProjects(ctx context.Context, db *postgres.DB, t *apiTenant, projects int) error {
	return db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `WITH p AS (
				INSERT INTO projects (name, description, owner_id)
				SELECT 'Project ' || i, 'Seeded by the API benchmark.', $1 FROM generate_series(1, $2) i
				RETURNING id)
			INSERT INTO project_members (project_id, user_id, role) SELECT id, $1, $3 FROM p RETURNING project_id`,
			t.owner, projects, taruvi.RoleManager)
		var err error
		t.projects, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("insert projects: %w", err)
		}
		if len(t.projects) != projects {
			return fmt.Errorf("inserted %d projects, want %d", len(t.projects), projects)
		}
		return nil
	})
}

// signInOwners gets a JWT for each tenant's owner through the API, as a
// client would, setupWorkers at a time: each sign-in hashes the password
// with 7 MiB of memory.
func signInOwners(ctx context.Context, c *benchClient, tenants []*apiTenant, p *progress) error {
	return forEachParallel(ctx, len(tenants), setupWorkers, func(ctx context.Context, i int) error {
		t := tenants[i]
		body, err := json.Marshal(taruvi.Credentials{Email: t.email, Password: benchAPIPassword})
		if err != nil {
			return err
		}
		tc := &benchClient{http: c.http, transport: c.transport, base: c.base, host: t.host}
		pair, err := tc.pair(ctx, "/api/auth/jwt/token/", body)
		if err != nil {
			return fmt.Errorf("sign in as the owner of %s: %w", t.schema, err)
		}
		t.bearer = "Bearer " + pair.Access
		p.add()
		return nil
	})
}

// benchReads has the clients list the first page of projects of one tenant
// after another for a third of the duration. Every answer must be the full page.
func benchReads(ctx context.Context, c *benchClient, tenants []*apiTenant, opts apiBenchOptions, r *apiBenchResult) error {
	want := min(opts.projects, taruvi.DefaultPageSize)
	var next atomic.Int64
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, _ int) error {
		t := tenants[int(next.Add(1)-1)%len(tenants)]
		var page struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
			Total int `json:"total"`
		}
		if err := apiCall(ctx, c, http.MethodGet, "/api/projects/", t, nil, http.StatusOK, &page); err != nil {
			return err
		}
		if len(page.Data) != want || page.Total != opts.projects || page.Data[0].ID <= 0 {
			return fmt.Errorf("GET /api/projects/ on %s: %d projects of %d, want %d of %d",
				t.schema, len(page.Data), page.Total, want, opts.projects)
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d project lists failed; the first: %w", failed, first)
	}
	r.Reads, r.ReadRPS, r.ReadP50MS, r.ReadP99MS = phaseFigures(ok, took)
	return nil
}

// benchWrites has the clients create tasks in the projects of one tenant
// after another for a third of the duration.
func benchWrites(ctx context.Context, c *benchClient, tenants []*apiTenant, opts apiBenchOptions, r *apiBenchResult) error {
	var next atomic.Int64
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, _ int) error {
		n := int(next.Add(1) - 1)
		t := tenants[n%len(tenants)]
		project := t.projects[n/len(tenants)%len(t.projects)]
		body := []byte(`{"project_id":` + strconv.FormatInt(project, 10) + `,"title":"Bench task ` + strconv.Itoa(n) + `","priority":2}`)
		var task struct {
			Data struct {
				ID        int64 `json:"id"`
				ProjectID int64 `json:"project_id"`
			} `json:"data"`
		}
		if err := apiCall(ctx, c, http.MethodPost, "/api/tasks/", t, body, http.StatusCreated, &task); err != nil {
			return err
		}
		if task.Data.ID <= 0 || task.Data.ProjectID != project {
			return fmt.Errorf("POST /api/tasks/ on %s: task %d in project %d, want a task in project %d",
				t.schema, task.Data.ID, task.Data.ProjectID, project)
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d task creations failed; the first: %w", failed, first)
	}
	r.Writes, r.WriteRPS, r.WriteP50MS, r.WriteP99MS = phaseFigures(ok, took)
	return nil
}

// benchProjectWrites has the clients create projects in one tenant after
// another for a third of the duration. Each must come back with its
// creator, the owner, as its one member.
func benchProjectWrites(ctx context.Context, c *benchClient, tenants []*apiTenant, opts apiBenchOptions, r *apiBenchResult) error {
	var next atomic.Int64
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, _ int) error {
		n := int(next.Add(1) - 1)
		t := tenants[n%len(tenants)]
		body := []byte(`{"name":"Bench project ` + strconv.Itoa(n) + `","description":"Created by the API benchmark."}`)
		var project struct {
			Data struct {
				ID      int64 `json:"id"`
				Members []struct {
					Role string `json:"role"`
				} `json:"members"`
			} `json:"data"`
		}
		if err := apiCall(ctx, c, http.MethodPost, "/api/projects/", t, body, http.StatusCreated, &project); err != nil {
			return err
		}
		if project.Data.ID <= 0 || len(project.Data.Members) != 1 || project.Data.Members[0].Role != taruvi.RoleManager {
			return fmt.Errorf("POST /api/projects/ on %s: project %d with members %+v, want a new project managed by its creator",
				t.schema, project.Data.ID, project.Data.Members)
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d project creations failed; the first: %w", failed, first)
	}
	r.ProjectWrites, r.ProjectWriteRPS, r.ProjectWriteP50MS, r.ProjectWriteP99MS = phaseFigures(ok, took)
	return nil
}

// apiCall sends a request as the tenant's owner and decodes the answer
// into out when its status is want.
func apiCall(ctx context.Context, c *benchClient, method, path string, t *apiTenant, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = t.host
	req.Header.Set("Authorization", t.bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", method, path, t.schema, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s on %s: read answer: %w", method, path, t.schema, err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s on %s: status %d, want %d: %.300s", method, path, t.schema, res.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s on %s: decode answer: %w", method, path, t.schema, err)
	}
	return nil
}

// forEachParallel calls fn for 0 to n-1 on up to workers goroutines. The
// first error cancels the calls not yet started and is returned.
func forEachParallel(parent context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var once sync.Once
	var first error
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range jobs {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		return parent.Err()
	}
	return first
}

// phaseFigures is what the latencies ok of a phase that took took come
// to: how many operations, per second, and the p50 and p99 in
// milliseconds.
func phaseFigures(ok []time.Duration, took time.Duration) (n int, perS, p50, p99 float64) {
	return len(ok), rate(len(ok), took), millis(percentile(ok, 50)), millis(percentile(ok, 99))
}

// millis is d in milliseconds, to a hundredth.
func millis(d time.Duration) float64 { return round(float64(d.Nanoseconds())/1e6, 100) }
