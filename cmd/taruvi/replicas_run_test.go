package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/postgres/postgrestest"
)

// TestReplicas runs three serve processes, two workers and a scheduler
// against one database and Redis: a tenant created through one replica is
// served by the others within a second; a job queued through a replica is
// run by a worker; a project created through one shows in the cached lists
// of the others within a second; SIGTERM on one during a write load loses
// no acknowledged write; /metrics and /health/ show their series and
// checks.
func TestReplicas(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil)
	replicas := []*replica{d.serve(t), d.serve(t), d.serve(t)}
	admin := "ops-admin@platform.test"
	d.run(t, "platform admin password\n", "users", "create-platform-admin", "--email", admin, "--password-stdin")
	pa := replicas[0].login(t, "localhost", admin, "platform admin password")

	schema := postgrestest.SchemaName()
	host := schema + ".localhost"
	for _, r := range replicas[1:] { // the others remember that the host is unknown
		if status, _ := r.tryGet("/api/tenant/", host, ""); status != 404 {
			t.Fatalf("before creation: %d", status)
		}
	}
	if status, body := replicas[0].send("POST", "/api/tenants/", "localhost", pa, `{"schema":"`+schema+`"}`); status != 201 {
		t.Fatalf("create tenant: %d %s", status, body)
	}
	for i, r := range replicas[1:] {
		took := within(t, time.Second, "tenant served by another replica", func() bool {
			status, _ := r.tryGet("/api/tenant/", host, "")
			return status == 200
		})
		t.Logf("replica %d serves the new tenant after %s", i+1, took)
	}

	d.run(t, "owner password\n", "users", "create", "--tenant", schema, "--email", "owner@t.test", "--owner", "--password-stdin")
	owner := replicas[1].login(t, host, "owner@t.test", "owner password")

	// Two workers and a scheduler: a user created through a replica gets
	// the welcome email, queued in the creating transaction and sent (to
	// the outbox, as no SMTP server is configured) by a worker.
	d.background(t, "worker")
	d.background(t, "worker")
	d.background(t, "scheduler")
	if status, body := replicas[2].send("POST", "/api/users/", host, owner,
		`{"email":"newcomer@t.test","password":"newcomer password"}`); status != 201 {
		t.Fatalf("create user: %d %s", status, body)
	}
	within(t, 15*time.Second, "a worker sends the welcome email", func() bool {
		_, body := replicas[0].tryGet("/api/outbox/?to=newcomer@t.test", host, owner)
		return strings.Contains(body, `"subject":"Welcome to `)
	})
	for _, r := range replicas { // warm every replica's cache with the empty first page
		if status, body := r.tryGet("/api/projects/", host, owner); status != 200 || !strings.Contains(body, `"total":0`) {
			t.Fatalf("first list: %d %s", status, body)
		}
	}
	if status, body := replicas[0].send("POST", "/api/projects/", host, owner, `{"name":"Apollo"}`); status != 201 {
		t.Fatalf("create project: %d %s", status, body)
	}
	for _, r := range replicas {
		within(t, time.Second, "the cached first page shows the new project", func() bool {
			_, body := r.tryGet("/api/projects/", host, owner)
			return strings.Contains(body, `"name":"Apollo"`)
		})
	}
	replicas[0].tryGet("/api/projects/", host, owner) // a hit of the memory tier

	acked := writeLoadWithSIGTERM(t, replicas, host, owner)
	ids := make([]int64, 0, len(acked))
	for _, id := range acked {
		ids = append(ids, id)
	}
	var found int
	err := d.db.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM "+pgx.Identifier{schema, "projects"}.Sanitize()+" WHERE id = ANY($1)", ids).Scan(&found)
	if err != nil {
		t.Fatal(err)
	}
	if found != len(ids) || len(ids) < 20 {
		t.Fatalf("%d writes acknowledged, %d of them in the database", len(ids), found)
	}
	t.Logf("%d acknowledged writes during SIGTERM, all in the database", len(ids))

	// Redis away: the cache and the limits work in process, no request
	// fails, health says degraded; all of it comes back with Redis.
	live := replicas[:2]
	d.redis.Stop()
	for i, r := range live {
		for _, req := range [][2]string{{"GET", ""}, {"POST", `{"name":"while Redis is down"}`}, {"GET", ""}} {
			if status, body := r.send(req[0], "/api/projects/", host, owner, req[1]); status >= 500 || status == 0 {
				t.Errorf("replica %d, Redis down: %s /api/projects/: %d %s", i, req[0], status, body)
			}
		}
		waitHealth(t, r, "degraded")
	}
	d.redis.Restart()
	for _, r := range live {
		waitHealth(t, r, "ok")
		within(t, time.Second, "lists after Redis returned", func() bool {
			_, body := r.tryGet("/api/projects/", host, owner)
			return strings.Contains(body, "while Redis is down")
		})
	}
	// The same page twice, with no write between, so that the read cache
	// has a hit to count whatever the writes above made it forget.
	for range 2 {
		if status, body := replicas[0].send("GET", "/api/projects/", host, owner, ""); status != 200 {
			t.Fatalf("GET /api/projects/: %d %s", status, body)
		}
	}
	checkMetricsAndHealth(t, replicas[0])
}

// waitHealth waits up to five seconds for /health/ to report status,
// always with 200.
func waitHealth(t *testing.T, r *replica, status string) {
	t.Helper()
	within(t, 5*time.Second, "health "+status, func() bool {
		code, body := r.tryGet("/health/", "localhost", "")
		if code != 200 {
			t.Fatalf("/health/: %d %s", code, body)
		}
		var report struct {
			Status string `json:"status"`
		}
		return json.Unmarshal([]byte(body), &report) == nil && report.Status == status
	})
}

// TestReplicasShareRateLimits runs two replicas sharing Redis with a limit
// of 10 requests a window: the eleventh, on either, is refused.
func TestReplicasShareRateLimits(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, map[string]string{"TARUVI_RATE_LIMIT_API": "10", "TARUVI_RATE_LIMIT_WINDOW": "1m"})
	replicas := []*replica{d.serve(t), d.serve(t)}
	for i := range 10 {
		if status, body := replicas[i%2].tryGet("/api/tenant/", "localhost", ""); status != 200 {
			t.Fatalf("request %d: %d %s", i+1, status, body)
		}
	}
	for i, r := range replicas {
		status, body := r.tryGet("/api/tenant/", "localhost", "")
		if status != 429 || !strings.Contains(body, `"code":"RATE_LIMITED"`) {
			t.Errorf("request %d on replica %d: %d %s, want 429 RATE_LIMITED", 11+i, i, status, body)
		}
	}
}

// TestReplicasShareLoginThrottle: failed sign-ins of one account spread
// over two replicas sharing Redis count together, so the account is
// throttled on both after ten, not after ten on each.
func TestReplicasShareLoginThrottle(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil)
	replicas := []*replica{d.serve(t), d.serve(t)}
	admin := "throttled@platform.test"
	d.run(t, "the right password\n", "users", "create-platform-admin", "--email", admin, "--password-stdin")
	wrong := fmt.Sprintf(`{"email":%q,"password":"a wrong password"}`, admin)
	for i := range 10 {
		if status, body := replicas[i%2].send("POST", "/api/auth/jwt/token/", "localhost", "", wrong); status != 401 {
			t.Fatalf("failed sign-in %d: %d %s, want 401", i+1, status, body)
		}
	}
	right := fmt.Sprintf(`{"email":%q,"password":"the right password"}`, admin)
	for i, r := range replicas {
		status, body := r.send("POST", "/api/auth/jwt/token/", "localhost", "", right)
		if status != 429 || !strings.Contains(body, `"code":"RATE_LIMITED"`) {
			t.Errorf("sign-in on replica %d after ten failures over both: %d %s, want 429 RATE_LIMITED", i, status, body)
		}
	}
}

// writeLoadWithSIGTERM sends project creations round-robin to every
// replica from four clients, sends SIGTERM to the last replica mid-way,
// and returns the id of every creation answered 201. The stopped replica
// must exit cleanly.
func writeLoadWithSIGTERM(t *testing.T, replicas []*replica, host, cred string) map[string]int64 {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]int64{}
	var serverErrors []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("load-%d-%d", c, n)
				status, body := replicas[n%len(replicas)].send("POST", "/api/projects/", host, cred, `{"name":"`+name+`"}`)
				var res struct {
					Data struct {
						ID int64 `json:"id"`
					} `json:"data"`
				}
				mu.Lock()
				switch {
				case status == 201 && json.Unmarshal([]byte(body), &res) == nil:
					acked[name] = res.Data.ID
				case status >= 500:
					serverErrors = append(serverErrors, strconv.Itoa(status)+" "+body)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	victim := replicas[len(replicas)-1]
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-victim.done:
		victim.done <- err // for the cleanup
		if err != nil {
			t.Errorf("replica after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("replica did not exit after SIGTERM")
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(serverErrors) > 0 {
		t.Errorf("server errors during the load: %q", serverErrors[:min(len(serverErrors), 5)])
	}
	return acked
}

func checkMetricsAndHealth(t *testing.T, r *replica) {
	t.Helper()
	res, err := replicaClient.Get(r.debug + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(t, res))
	metrics := b.String()
	for _, want := range []string{
		`taruvi_http_requests_total{method="POST",route="POST /api/projects",status="201"}`,
		`taruvi_http_request_duration_seconds_bucket{method="GET",route="GET /api/projects"`,
		`taruvi_db_pool_connections{state="acquired"}`,
		`taruvi_db_pool_max_connections 8`, // the main pool and two lanes of two
		`taruvi_cache_requests_total{cache="reads",result="hit",tier="memory"}`,
		"taruvi_tenants 1",
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if strings.Contains(metrics, `route="/api/`) || strings.Contains(metrics, "t_") && strings.Contains(metrics, `tenant=`) {
		t.Error("/metrics labels a raw path or a tenant")
	}
	if res, err := replicaClient.Get(r.debug + "/debug/pprof/"); err != nil || res.StatusCode != 200 {
		t.Errorf("pprof: %v %v", res, err)
	}
	status, body := r.tryGet("/health/", "localhost", "")
	var report struct {
		Status string                    `json:"status"`
		Checks map[string]map[string]any `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &report); err != nil || status != 200 || report.Status != "ok" {
		t.Fatalf("/health/: %d %s", status, body)
	}
	for name, want := range map[string]string{"database": "ok", "cache": "ok", "storage": "ok", "jobs": ""} {
		c, ok := report.Checks[name]
		if !ok || (want != "" && c["status"] != want) || c["latency_ms"] == nil {
			t.Errorf("/health/ check %s: %v", name, c)
		}
	}
}
