package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

// replica is one server process as production runs it: a database handle
// of its own, whose change feed runs, and a tenant cache following it.
type replica struct {
	db  *postgres.DB
	srv *web.Server
}

// startReplica opens url and runs its feed. The cache's TTL is an hour, so
// only a change of the feed can refresh it.
func startReplica(t *testing.T, url string, log *slog.Logger) replica {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Hour, db.Feed())
	postgrestest.RunFeed(t, db)
	cfg := web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"}, TenantVersion: db.TenantVersion()}
	return replica{db: db, srv: web.NewServer(cfg, log, cache)}
}

// twoReplicas returns two replicas over one fresh database, and that
// database's tenant service as a third party making changes.
func twoReplicas(t *testing.T) ([2]replica, *postgres.Tenants) {
	t.Helper()
	url := postgrestest.NewScratch(t)
	log := slog.New(slog.DiscardHandler)
	a := startReplica(t, url, log)
	if _, _, err := a.db.MigratePublic(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startReplica(t, url, log)
	return [2]replica{a, b}, postgres.NewTenants(a.db)
}

// waitStatus polls every replica until each answers host with status, and
// returns how long that took; it fails the test after a second.
func waitStatus(t *testing.T, replicas [2]replica, host string, status int) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(time.Second)
	for {
		var got [2]int
		agree := true
		for i, r := range replicas {
			got[i] = get(r.srv, "GET", "/api/tenant/", host, nil).Code
			agree = agree && got[i] == status
		}
		if agree {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v: replicas answer %v, want %d on both", host, time.Since(start), got, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkStatus fails the test unless every replica answers host with status.
func checkStatus(t *testing.T, replicas [2]replica, host string, status int) {
	t.Helper()
	for i, r := range replicas {
		if w := get(r.srv, "GET", "/api/tenant/", host, nil); w.Code != status {
			t.Fatalf("replica %d on %s: status %d, want %d: %s", i, host, w.Code, status, w.Body)
		}
	}
}

func TestInvalidationAcrossReplicasSuspend(t *testing.T) {
	t.Parallel()
	replicas, tenants := twoReplicas(t)
	tenant := postgrestest.NewTenant(t, replicas[0].db)
	host := tenant.Schema + ".localhost:8000"
	checkStatus(t, replicas, host, http.StatusOK) // warms both caches

	if err := tenants.SetTenantStatus(context.Background(), tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	took := waitStatus(t, replicas, host, http.StatusForbidden)
	t.Logf("both replicas saw the suspension after %v", took)

	if err := tenants.SetTenantStatus(context.Background(), tenant.Schema, taruvi.TenantActive); err != nil {
		t.Fatal(err)
	}
	took = waitStatus(t, replicas, host, http.StatusOK)
	t.Logf("both replicas saw the resumption after %v", took)
}

func TestInvalidationAcrossReplicasDomain(t *testing.T) {
	t.Parallel()
	replicas, tenants := twoReplicas(t)
	tenant := postgrestest.NewTenant(t, replicas[0].db)
	domain := domainFor(tenant, "new-")
	checkStatus(t, replicas, domain, http.StatusNotFound) // caches the miss on both

	if err := tenants.AddDomain(context.Background(), tenant.Schema, domain, true); err != nil {
		t.Fatal(err)
	}
	took := waitStatus(t, replicas, domain, http.StatusOK)
	t.Logf("both replicas served the new domain after %v", took)
	for i, r := range replicas {
		if w := get(r.srv, "GET", "/api/tenant/", domain, nil); !strings.Contains(w.Body.String(), `"schema":"`+tenant.Schema+`"`) {
			t.Errorf("replica %d on %s serves %s", i, domain, w.Body)
		}
	}

	if err := tenants.RemoveDomain(context.Background(), domain); err != nil {
		t.Fatal(err)
	}
	took = waitStatus(t, replicas, domain, http.StatusNotFound)
	t.Logf("both replicas dropped the removed domain after %v", took)
}
