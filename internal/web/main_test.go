package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

// syncBuffer is a log sink the server's goroutines and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is what most tests of this package start from: the shared
// database, its tenant service and a log buffer.
type fixture struct {
	db      *postgres.DB
	tenants *postgres.Tenants
	log     *syncBuffer
	logger  *slog.Logger
}

func setup(t *testing.T) fixture {
	t.Helper()
	db := postgrestest.DB(t)
	log := &syncBuffer{}
	return fixture{db: db, tenants: postgres.NewTenants(db), log: log, logger: slog.New(slog.NewJSONHandler(log, nil))}
}

// config is the configuration of a server on the default deployment:
// base domain localhost, the default platform hosts, and the tenant version
// of this binary.
func (f fixture) config() web.Config {
	return web.Config{
		BaseDomain:    "localhost",
		PlatformHosts: []string{"localhost", "127.0.0.1", "::1"},
		TenantVersion: f.db.TenantVersion(),
	}
}

// server returns a server resolving through a cache of its own over the
// real tenant service.
func (f fixture) server(cfg web.Config) *web.Server {
	return web.NewServer(cfg, f.logger, web.NewTenantCache(f.tenants, time.Hour, nil))
}

// domainFor returns a domain name unique to tenant t.
func domainFor(t *taruvi.Tenant, prefix string) string {
	return prefix + strings.ReplaceAll(t.Schema, "_", "-") + ".example.test"
}

// suspend suspends tenant t through the tenant service.
func (f fixture) suspend(t *testing.T, tenant *taruvi.Tenant) {
	t.Helper()
	if err := f.tenants.SetTenantStatus(context.Background(), tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
}

// addDomain maps domain to tenant through the tenant service.
func (f fixture) addDomain(t *testing.T, tenant *taruvi.Tenant, domain string) {
	t.Helper()
	if err := f.tenants.AddDomain(context.Background(), tenant.Schema, domain, false); err != nil {
		t.Fatal(err)
	}
}

// get sends one request to h and returns the recorded response.
func get(h http.Handler, method, path, host string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Host = host
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkEnvelope checks that an error response is a JSON error envelope with
// the wanted code and the response's request id, and returns it.
func checkEnvelope(t *testing.T, w *httptest.ResponseRecorder, code string) web.ErrorEnvelope {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var env web.ErrorEnvelope
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, w.Body)
	}
	if env.Status != "error" {
		t.Errorf("envelope status = %q, want error", env.Status)
	}
	if env.Code != code {
		t.Errorf("envelope code = %q, want %q", env.Code, code)
	}
	if env.Message == "" {
		t.Error("envelope has no message")
	}
	if env.RequestID == "" || env.RequestID != w.Header().Get("X-Request-ID") {
		t.Errorf("envelope request_id = %q, X-Request-ID = %q: want the same, non-empty", env.RequestID, w.Header().Get("X-Request-ID"))
	}
	return env
}
