package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/web"
)

// TestRateLimits checks the per-address limit by class, the headers, the
// 429 envelope, and that anonymous requests never use up a tenant's quota.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	quota := postgrestest.NewTenant(t, f.db)
	other := postgrestest.NewTenant(t, f.db)
	three := 3
	if _, err := f.tenants.UpdateTenantSettings(context.Background(), quota.Schema, taruvi.TenantSettings{RequestQuota: &three}); err != nil {
		t.Fatal(err)
	}
	obs := &observer{}
	cfg := f.config()
	cfg.Limiter = redis.NewMemoryLimiter()
	cfg.Limits = web.RateLimits{Window: time.Minute, Auth: 2, API: 5, Uploads: 1}
	cfg.Metrics = obs
	srv := f.server(cfg)
	send := func(method, path, host, ip string) *recorder {
		r, _ := http.NewRequest(method, path, nil)
		r.Host, r.RemoteAddr = host, ip+":4000"
		w := &recorder{header: http.Header{}}
		srv.ServeHTTP(w, r)
		return w
	}
	for i := 1; i <= 5; i++ {
		w := send("GET", "/api/tenant/", other.Schema+".localhost", "192.0.2.10")
		if w.status != 200 || w.header.Get("RateLimit-Limit") != "5" || w.header.Get("RateLimit-Remaining") != strconv.Itoa(5-i) {
			t.Fatalf("request %d: %d, RateLimit-Limit %q, -Remaining %q", i, w.status, w.header.Get("RateLimit-Limit"), w.header.Get("RateLimit-Remaining"))
		}
	}
	w := send("GET", "/api/tenant/", other.Schema+".localhost", "192.0.2.10")
	if w.status != 429 || w.header.Get("Retry-After") == "" || w.header.Get("RateLimit-Remaining") != "0" ||
		!strings.Contains(w.body.String(), `"code":"RATE_LIMITED"`) {
		t.Errorf("6th request: %d %v %s", w.status, w.header, w.body.String())
	}
	if w := send("GET", "/api/tenant/", other.Schema+".localhost", "192.0.2.11"); w.status != 200 {
		t.Errorf("another address: %d", w.status)
	}
	if w := send("GET", "/health/", other.Schema+".localhost", "192.0.2.10"); w.status != 200 {
		t.Errorf("health is never limited: %d", w.status)
	}
	// The auth class has its own, smaller budget.
	for i := 1; i <= 3; i++ {
		w := send("POST", "/api/auth/jwt/token", other.Schema+".localhost", "192.0.2.20")
		if limited := w.status == 429; limited != (i == 3) {
			t.Errorf("auth request %d: %d", i, w.status)
		}
	}
	// The allauth-style sign-in is in the auth class: one budget with the
	// token sign-in.
	send("POST", "/api/auth/jwt/token", other.Schema+".localhost", "192.0.2.21")
	if w := send("POST", "/sites/"+other.Schema+"/_allauth/app/v1/auth/login", "localhost", "192.0.2.21"); w.status == 429 {
		t.Errorf("second auth request: %d", w.status)
	}
	if w := send("GET", "/_allauth/app/v1/auth/session", other.Schema+".localhost", "192.0.2.21"); w.status != 429 ||
		w.header.Get("RateLimit-Limit") != "2" {
		t.Errorf("third auth request, the allauth session: %d, RateLimit-Limit %q", w.status, w.header.Get("RateLimit-Limit"))
	}
	// The tenant's quota counts signed-in requests only (see the API's
	// tests): anonymous ones from many addresses never use it up.
	for i := 1; i <= 4; i++ {
		w := send("GET", "/api/tenant/", quota.Schema+".localhost", "198.51.100."+strconv.Itoa(i))
		if w.status != 200 {
			t.Errorf("anonymous request %d on a tenant with a quota: %d %s", i, w.status, w.body.String())
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.limited) != 3 || obs.limited[0] != "api/ip" || obs.limited[1] != "auth/ip" || obs.limited[2] != "auth/ip" {
		t.Errorf("rejections observed: %v", obs.limited)
	}
}
