package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// serveConfig is the configuration read from vars on top of the defaults,
// listening on a free loopback port.
func serveConfig(t *testing.T, vars map[string]string) config.Config {
	t.Helper()
	env := map[string]string{
		"TARUVI_HTTP_ADDR":        "127.0.0.1:0",
		"TARUVI_SHUTDOWN_TIMEOUT": "5s",
		"TARUVI_SECRET_KEY":       "a test secret of more than thirty-two characters",
	}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// getHost sends GET url with the given Host header and returns the status
// and body.
func getHost(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", url, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServe(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	tenant := postgrestest.NewTenant(t, db)
	cfg := serveConfig(t, nil)
	log := slog.New(slog.DiscardHandler)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, cfg, log, db, func(a net.Addr) { addrs <- a }) }()
	var addr string
	select {
	case a := <-addrs:
		addr = a.String()
	case err := <-errc:
		t.Fatalf("serve returned before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not become ready")
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("ready gave %q, want the bound loopback address", addr)
	}

	tests := []struct {
		host   string
		path   string
		status int
		want   string
	}{
		{host: tenant.Schema + ".localhost:8000", path: "/api/tenant/", status: 200, want: `"schema":"` + tenant.Schema + `"`},
		{host: "localhost:8000", path: "/sites/" + tenant.Schema + "/api/tenant", status: 200, want: `"schema":"` + tenant.Schema + `"`},
		{host: "localhost:8000", path: "/api/tenant/", status: 200, want: `"scope":"platform"`},
		{host: "nowhere.example.test", path: "/api/tenant/", status: 404, want: `"code":"NOT_FOUND"`},
		{host: "nowhere.example.test", path: "/health/live", status: 200, want: `"status":"success"`},
	}
	for _, tt := range tests {
		status, body := getHost(t, "http://"+addr+tt.path, tt.host)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s on %s: %d %s, want %d with %s", tt.path, tt.host, status, body, tt.status, tt.want)
		}
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve after cancel: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after its context was cancelled")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after serve returned", addr)
	}
}

func TestServeRefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, postgrestest.NewScratch(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Should serve start anyway, ready stops it again so the test fails
	// rather than hangs.
	listened := false
	err = serve(ctx, serveConfig(t, nil), slog.New(slog.DiscardHandler), db, func(net.Addr) { listened = true; cancel() })
	if err == nil {
		t.Fatal("serve started on a database whose public schema is not migrated")
	}
	if msg := errorText(err); !strings.Contains(msg, "taruvi migrate") {
		t.Errorf("error %q does not say to run `taruvi migrate`", msg)
	}
	if taruvi.ErrorCode(err) != taruvi.EUNAVAILABLE {
		t.Errorf("error code %q, want %q", taruvi.ErrorCode(err), taruvi.EUNAVAILABLE)
	}
	if listened {
		t.Error("serve listened before it refused")
	}
}

func TestServeAddressInUse(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	cfg := serveConfig(t, map[string]string{"TARUVI_HTTP_ADDR": ln.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = serve(ctx, cfg, slog.New(slog.DiscardHandler), db, func(net.Addr) {
		t.Error("serve reported ready on a taken address")
		cancel()
	})
	if err == nil || !strings.Contains(err.Error(), "TARUVI_HTTP_ADDR") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("serve on a taken address: %v, want an error naming TARUVI_HTTP_ADDR and the address", err)
	}
}
