package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

// TestSecurityHeaders checks the headers on answers written by the
// handler, the error adapter, the router, panic recovery and tenant
// resolution, and HSTS on HTTPS only.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tenant := postgrestest.NewTenant(t, f.db)
	cfg := f.config()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	srv := f.server(cfg)
	srv.Handle("GET /test/html", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, err := w.Write([]byte("<p>admin page</p>"))
		return err
	})
	srv.Handle("GET /test/panic", func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	srv.Handle("GET /test/scheme", func(w http.ResponseWriter, r *http.Request) error {
		_, err := fmt.Fprint(w, web.IsHTTPS(r))
		return err
	})
	host := tenant.Schema + ".localhost"
	for _, c := range []struct{ name, method, path, host string }{
		{"JSON", "GET", "/api/tenant/", host},
		{"platform JSON", "GET", "/api/tenant/", "localhost"},
		{"HTML page", "GET", "/test/html", host},
		{"panic", "GET", "/test/panic", host},
		{"no route", "GET", "/api/none", host},
		{"wrong method", "DELETE", "/api/tenant", host},
		{"unknown host", "GET", "/api/tenant", "nowhere.example.test"},
		{"health", "GET", "/health/", host},
	} {
		w := get(srv, c.method, c.path, c.host, nil)
		h := w.Header()
		if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s (%d): security headers missing: %v", c.name, w.Code, h)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", c.name)
		}
	}
	// HTTPS reported by a trusted proxy gets HSTS, and handlers see it
	// as HTTPS; reported by anyone else, neither.
	for _, c := range []struct {
		remote, proto string
		want          bool
	}{
		{"10.1.2.3:5555", "https", true}, {"10.1.2.3:5555", "HTTPS, http", true}, {"10.1.2.3:5555", "http", false},
		{"192.0.2.1:5555", "https", false},
	} {
		r, _ := http.NewRequest("GET", "/test/scheme", nil)
		r.Host, r.RemoteAddr = host, c.remote
		r.Header.Set("X-Forwarded-Proto", c.proto)
		w := &recorder{header: http.Header{}}
		srv.ServeHTTP(w, r)
		if got := w.header.Get("Strict-Transport-Security") != ""; got != c.want {
			t.Errorf("X-Forwarded-Proto %q from %s: HSTS %v, want %v", c.proto, c.remote, got, c.want)
		}
		if got := w.body.String(); got != fmt.Sprint(c.want) {
			t.Errorf("X-Forwarded-Proto %q from %s: IsHTTPS %s, want %v", c.proto, c.remote, got, c.want)
		}
	}
}

// recorder is a minimal ResponseWriter for requests with a RemoteAddr of
// the test's choosing.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}

// TestTrustedProxyClientAddress checks that X-Forwarded-For is believed
// from trusted proxies only, and only for the hops they appended.
func TestTrustedProxyClientAddress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cfg := f.config()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	srv := f.server(cfg)
	var seen string
	srv.Handle("GET /test/ip", func(w http.ResponseWriter, r *http.Request) error {
		seen = web.ClientOf(r).IP
		return nil
	})
	for _, c := range []struct{ remote, xff, want string }{
		{"10.0.0.5:1", "203.0.113.7", "203.0.113.7"},
		{"10.0.0.5:1", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"}, // a spoofed first hop is ignored
		{"192.0.2.1:1", "203.0.113.7", "192.0.2.1"},                          // not a trusted proxy
		{"10.0.0.5:1", "", "10.0.0.5"},
		{"10.0.0.5:1", "garbage", "10.0.0.5"},
	} {
		r, _ := http.NewRequest("GET", "/test/ip", nil)
		r.Host, r.RemoteAddr = "localhost", c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		srv.ServeHTTP(&recorder{header: http.Header{}}, r)
		if seen != c.want {
			t.Errorf("from %s with X-Forwarded-For %q: client %q, want %q", c.remote, c.xff, seen, c.want)
		}
	}
}

// TestCORSPreflight checks preflights and simple requests against the
// global list and each tenant's own: tenant A's origin is allowed on A
// only.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := postgrestest.NewTenant(t, f.db)
	b := postgrestest.NewTenant(t, f.db)
	origins := []string{"https://app.a.example"}
	if _, err := f.tenants.UpdateTenantSettings(context.Background(), a.Schema, taruvi.TenantSettings{CORSOrigins: &origins}); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.CORSOrigins = []string{"https://console.example"}
	srv := f.server(cfg)
	hostA, hostB := a.Schema+".localhost", b.Schema+".localhost"
	preflight := func(host, origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
	}
	for _, c := range []struct {
		name, host, origin string
		allowed            bool
	}{
		{"tenant origin on its tenant", hostA, "https://app.a.example", true},
		{"tenant origin in capitals", hostA, "HTTPS://APP.A.EXAMPLE", true},
		{"tenant origin on another tenant", hostB, "https://app.a.example", false},
		{"tenant origin on the platform", "localhost", "https://app.a.example", false},
		{"global origin on a tenant", hostB, "https://console.example", true},
		{"global origin on the platform", "localhost", "https://console.example", true},
		{"unknown origin", hostA, "https://evil.example", false},
		{"origin with another scheme", hostA, "http://app.a.example", false},
	} {
		w := get(srv, "OPTIONS", "/api/tenant/", c.host, preflight(c.host, c.origin))
		acao := w.Header().Get("Access-Control-Allow-Origin")
		if c.allowed {
			allowHeaders := w.Header().Get("Access-Control-Allow-Headers")
			if w.Code != http.StatusNoContent || acao != c.origin || !strings.Contains(allowHeaders, "Authorization") ||
				!strings.Contains(allowHeaders, "X-Session-Token") || !strings.Contains(allowHeaders, "X-Taruvi-Client") {
				t.Errorf("%s: preflight %d, Allow-Origin %q, Allow-Headers %q", c.name, w.Code, acao, w.Header().Get("Access-Control-Allow-Headers"))
			}
		} else {
			if w.Code != http.StatusForbidden || acao != "" {
				t.Errorf("%s: preflight %d, Allow-Origin %q: want 403 and none", c.name, w.Code, acao)
			}
			checkEnvelope(t, w, taruvi.EFORBIDDEN)
		}
		simple := get(srv, "GET", "/api/tenant/", c.host, map[string]string{"Origin": c.origin})
		if got := simple.Header().Get("Access-Control-Allow-Origin"); (got != "") != c.allowed {
			t.Errorf("%s: GET Allow-Origin %q", c.name, got)
		}
		if !strings.Contains(simple.Header().Get("Vary"), "Origin") {
			t.Errorf("%s: no Vary: Origin", c.name)
		}
	}
	// Removing the origin takes effect once the tenant cache is told.
	none := []string{}
	if _, err := f.tenants.UpdateTenantSettings(context.Background(), a.Schema, taruvi.TenantSettings{CORSOrigins: &none}); err != nil {
		t.Fatal(err)
	}
	fresh := f.server(cfg)
	if w := get(fresh, "OPTIONS", "/api/tenant/", hostA, preflight(hostA, "https://app.a.example")); w.Code != http.StatusForbidden {
		t.Errorf("removed origin: preflight %d, want 403", w.Code)
	}
	bad := []string{"https://x.example/path"}
	if _, err := f.tenants.UpdateTenantSettings(context.Background(), a.Schema, taruvi.TenantSettings{CORSOrigins: &bad}); taruvi.ErrorCode(err) != taruvi.EINVALID {
		t.Errorf("origin with a path: %v, want EINVALID", err)
	}
}

// TestHealth checks the report's statuses: all ok is 200, a degraded
// dependency 200 "degraded", a down one 503; and readiness while draining.
func TestHealth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	check := func(name, status string, err error) web.HealthCheck {
		return web.HealthCheck{Name: name, Check: func(ctx context.Context) web.HealthResult {
			if err != nil {
				return web.CheckResult(err, nil)
			}
			return web.HealthResult{Status: status}
		}}
	}
	for _, c := range []struct {
		name   string
		checks []web.HealthCheck
		code   int
		status string
	}{
		{"all ok", []web.HealthCheck{check("database", web.HealthOK, nil), check("jobs", web.HealthNotConfigured, nil)}, 200, "ok"},
		{"degraded", []web.HealthCheck{check("database", web.HealthOK, nil), check("cache", web.HealthDegraded, nil)}, 200, "degraded"},
		{"down", []web.HealthCheck{check("database", "", errors.New("connection refused")), check("cache", web.HealthDegraded, nil)}, 503, "down"},
	} {
		cfg := f.config()
		cfg.Health = c.checks
		srv := f.server(cfg)
		w := get(srv, "GET", "/health/", "nowhere.example.test", nil) // health needs no tenant
		var report web.HealthReport
		if err := json.Unmarshal(w.Body.Bytes(), &report); err != nil {
			t.Fatalf("%s: %v: %s", c.name, err, w.Body)
		}
		if w.Code != c.code || report.Status != c.status || len(report.Checks) != len(c.checks) {
			t.Errorf("%s: %d %+v, want %d %s", c.name, w.Code, report, c.code, c.status)
		}
		for _, hc := range c.checks {
			if _, ok := report.Checks[hc.Name]; !ok {
				t.Errorf("%s: no check %s in %s", c.name, hc.Name, w.Body)
			}
		}
	}
	srv := f.server(f.config())
	if w := get(srv, "GET", "/health/ready", "localhost", nil); w.Code != 200 {
		t.Errorf("ready: %d", w.Code)
	}
	srv.SetDraining(true)
	if w := get(srv, "GET", "/health/ready/", "localhost", nil); w.Code != 503 || !strings.Contains(w.Body.String(), `"ready":false`) {
		t.Errorf("ready while draining: %d %s", w.Code, w.Body)
	}
	if w := get(srv, "GET", "/health/live", "localhost", nil); w.Code != 200 {
		t.Errorf("live while draining: %d", w.Code)
	}
}

// observer records what the server observes.
type observer struct {
	mu       sync.Mutex
	requests []string
	limited  []string
}

func (o *observer) ObserveRequest(route, method string, status int, _ time.Duration) {
	o.mu.Lock()
	o.requests = append(o.requests, method+" "+route+" "+http.StatusText(status))
	o.mu.Unlock()
}

func (o *observer) RateLimited(class, scope string) {
	o.mu.Lock()
	o.limited = append(o.limited, class+"/"+scope)
	o.mu.Unlock()
}

// TestMetricsRouteLabels checks that requests are observed by route
// pattern, never by raw path or tenant.
func TestMetricsRouteLabels(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tenant := postgrestest.NewTenant(t, f.db)
	obs := &observer{}
	cfg := f.config()
	cfg.Metrics = obs
	srv := f.server(cfg)
	srv.Handle("GET /api/items/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return taruvi.Errorf(taruvi.ENOTFOUND, "No item.")
	})
	get(srv, "GET", "/api/tenant/", tenant.Schema+".localhost", nil)
	get(srv, "GET", "/api/items/12345", tenant.Schema+".localhost", nil)
	get(srv, "GET", "/sites/"+tenant.Schema+"/api/items/9", "localhost", nil)
	get(srv, "GET", "/no/such/path", "localhost", nil)
	want := []string{"GET GET /api/tenant OK", "GET GET /api/items/{id} Not Found", "GET GET /api/items/{id} Not Found", "GET unmatched Not Found"}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if strings.Join(obs.requests, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q, want %q", obs.requests, want)
	}
	for _, r := range obs.requests {
		if strings.Contains(r, tenant.Schema) || strings.Contains(r, "12345") {
			t.Errorf("label carries a tenant or raw path: %q", r)
		}
	}
}
