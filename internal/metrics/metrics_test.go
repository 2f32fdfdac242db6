package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"taruvi/internal/metrics"
)

// TestSeries checks the exposition of every platform series once it has a
// value, under its taruvi_ name and labels.
func TestSeries(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ObserveRequest("GET /api/projects/{id}", "GET", 200, 3*time.Millisecond)
	m.RateLimited("auth", "ip")
	m.CacheLookup("app", "memory", true)
	m.CacheLookup("app", "redis", false)
	m.JobFinished("send_email", "completed", time.Second)
	m.WatchPool(func() metrics.PoolStats {
		return metrics.PoolStats{Acquired: 2, Idle: 3, Total: 5, Max: 8, Acquires: 40}
	})
	m.WatchTenants(func(context.Context) (int, error) { return 7, nil })

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, want := range []string{
		`taruvi_http_requests_total{method="GET",route="GET /api/projects/{id}",status="200"} 1`,
		`taruvi_http_request_duration_seconds_count{method="GET",route="GET /api/projects/{id}"} 1`,
		`taruvi_rate_limit_rejections_total{class="auth",scope="ip"} 1`,
		`taruvi_cache_requests_total{cache="app",result="hit",tier="memory"} 1`,
		`taruvi_cache_requests_total{cache="app",result="miss",tier="redis"} 1`,
		`taruvi_jobs_total{kind="send_email",outcome="completed"} 1`,
		`taruvi_job_duration_seconds_count{kind="send_email"} 1`,
		`taruvi_db_pool_connections{state="acquired"} 2`,
		`taruvi_db_pool_max_connections 8`,
		`taruvi_db_pool_acquires_total 40`,
		`taruvi_tenants 7`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in:\n%s", want, body)
		}
	}
}
