package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
)

// deleteTenant suspends and deletes tenant, as `tenants suspend` and
// `tenants delete` do.
func deleteTenant(t *testing.T, db *postgres.DB, tenant *taruvi.Tenant) {
	t.Helper()
	tenants := postgres.NewTenants(db)
	if err := tenants.SetTenantStatus(context.Background(), tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(context.Background(), tenant.Schema); err != nil {
		t.Fatal(err)
	}
}

// owner is a context of tenant with an owner of user id 1 as principal,
// whether or not the tenant has such a user.
func owner(tenant *taruvi.Tenant) context.Context {
	ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: 1, Audience: tenant.Schema, IsOwner: true})
}

// TestReadCacheForgetsDeletedTenant: a page of a deleted tenant is no
// answer for the tenant created again under its schema name, though the
// principal and the query are the same.
func TestReadCacheForgetsDeletedTenant(t *testing.T) {
	t.Parallel()
	p := newCachingProcess(t, postgrestest.NewScratch(t))
	old := postgrestest.NewTenant(t, p.db)
	users := testUsers(p.db, testAuthz(p.db, slog.New(slog.DiscardHandler)))
	if u, err := users.CreateUser(operator(owner(old)), taruvi.UserCreate{Email: "o@example.test", IsOwner: true}); err != nil || u.ID != 1 {
		t.Fatalf("the old tenant's owner: %+v, %v; want user 1", u, err)
	}
	if _, err := p.projects.CreateProject(owner(old), taruvi.ProjectCreate{Name: "of the old tenant"}); err != nil {
		t.Fatal(err)
	}
	if got := p.count(t, owner(old)); got != 1 {
		t.Fatalf("the old tenant lists %d projects, want 1", got)
	}
	deleteTenant(t, p.db, old)
	again, err := postgres.NewTenants(p.db).CreateTenant(context.Background(), taruvi.TenantCreate{Schema: old.Schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTenant(t, p.db, again) })
	if got := p.count(t, owner(again)); got != 0 {
		t.Fatalf("the tenant created again lists %d projects, want 0", got)
	}
}

// authOn is an authentication service over db signing with keys.
func authOn(t *testing.T, db *postgres.DB, keys *token.KeySet) *auth.Service {
	t.Helper()
	sealer, err := token.NewSealer(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	return auth.New(postgres.NewAuthStore(db), auth.Options{
		Issuer: token.NewIssuer("taruvi", keys, nil), Sealer: sealer,
		Accounts: redis.NewMemoryThrottle(5, time.Minute), Addresses: redis.NewMemoryThrottle(50, time.Minute),
		Log: slog.New(slog.DiscardHandler),
	})
}

// listenRevocations feeds auth from db's change feed, as serve does; the
// feed runs.
func listenRevocations(t *testing.T, db *postgres.DB, a *auth.Service) {
	t.Helper()
	db.Feed().Subscribe(postgres.RevocationSubscriber(a.HandleRevocation, a.ResetSessions))
	postgrestest.RunFeed(t, db)
}

// TestDeletedTenantForgottenOnEveryReplica: a replica that has a tenant's
// session and a page of its projects in memory stops answering from them
// within a second of the tenant's deletion on another replica, through the
// notification alone.
func TestDeletedTenantForgottenOnEveryReplica(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	var hits atomic.Int64
	one, two := newCachingProcess(t, url), newObservedProcess(t, url, func(hit bool) {
		if hit {
			hits.Add(1)
		}
	})
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(key)
	authOne, authTwo := authOn(t, one.db, keys), authOn(t, two.db, keys)
	listenRevocations(t, two.db, authTwo)

	tenant := postgrestest.NewTenant(t, one.db)
	ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
	users := testUsers(one.db, testAuthz(one.db, slog.New(slog.DiscardHandler)))
	if _, err := users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "o@example.test", Password: "owner password", IsOwner: true}); err != nil {
		t.Fatal(err)
	}
	pair, err := authOne.Login(ctx, taruvi.Credentials{Email: "o@example.test", Password: "owner password"}, taruvi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := authTwo.Authenticate(ctx, "Bearer "+pair.Access)
	if err != nil {
		t.Fatal(err)
	}
	asOwner := taruvi.NewContextWithPrincipal(ctx, p)
	if _, err := one.projects.CreateProject(asOwner, taruvi.ProjectCreate{Name: "remembered"}); err != nil {
		t.Fatal(err)
	}
	two.eventually(t, asOwner, 1, "replica two before the deletion")
	// The notifications of the writes above (published every 10 ms) have
	// arrived by now; then the page is read until it comes from memory.
	time.Sleep(200 * time.Millisecond)
	for n := hits.Load(); hits.Load() == n; {
		two.count(t, asOwner)
	}

	// Replica two answers from memory now: the session from its session
	// cache, the page from its read cache. Once the tenant is gone, each
	// must go to the database, where the tenant's role no longer exists.
	deleteTenant(t, one.db, tenant)
	start := time.Now()
	for {
		_, authErr := authTwo.Authenticate(ctx, "Bearer "+pair.Access)
		_, _, readErr := two.projects.ListProjects(asOwner, taruvi.ListQuery{Page: 1, PageSize: 20})
		if authErr != nil && readErr != nil {
			t.Logf("replica two forgot the tenant %v after its deletion", time.Since(start))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("a second after the deletion replica two still answers from memory: session error %v, read error %v", authErr, readErr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
