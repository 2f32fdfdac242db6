package postgres_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/cache"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

// recorder keeps every change a feed delivers.
type recorder struct {
	mu      sync.Mutex
	changes []taruvi.Change
}

func record(f *postgres.Feed) *recorder {
	r := &recorder{}
	f.Subscribe(func(c taruvi.Change) {
		r.mu.Lock()
		r.changes = append(r.changes, c)
		r.mu.Unlock()
	})
	return r
}

func (r *recorder) has(want taruvi.Change) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.changes, want)
}

func (r *recorder) count(kind taruvi.ChangeKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.changes {
		if c.Kind == kind {
			n++
		}
	}
	return n
}

// wait fails the test unless the feed delivers want within two seconds.
func (r *recorder) wait(t *testing.T, want taruvi.Change, why string) {
	t.Helper()
	waitFor(t, why, func() bool { return r.has(want) })
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, why string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after two seconds: %s", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFeedPublishesEveryKind: each kind of change that travels, published
// by one process, reaches the other as it was sent, and this one too; a
// reset or a field holding a separator cannot be published.
func TestFeedPublishesEveryKind(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	one, two := newCachingProcess(t, url), newCachingProcess(t, url)
	here, there := record(one.db.Feed()), record(two.db.Feed())
	ctx := context.Background()
	for _, c := range []taruvi.Change{
		{Kind: taruvi.ChangeTenancy},
		{Kind: taruvi.ChangeWritten, Scope: "t7"},
		{Kind: taruvi.ChangeDeleted, Scope: "t8"},
		{Kind: taruvi.ChangeSessionRevoked, Scope: "t9", Key: "5f0c0b1e-0000-4000-8000-000000000001"},
		{Kind: taruvi.ChangeUserChanged, Scope: "t9", Key: "42"},
		{Kind: taruvi.ChangeInvalidated, Scope: taruvi.PlatformAudience, Key: "authz", Value: "00ff"},
	} {
		if err := one.db.Feed().Publish(ctx, c); err != nil {
			t.Fatalf("publish %+v: %v", c, err)
		}
		there.wait(t, c, "the other process hears "+string(c.Kind))
		here.wait(t, c, "the publishing process hears "+string(c.Kind))
	}
	for _, c := range []taruvi.Change{
		{Kind: taruvi.ChangeReset},
		{Kind: "unknown"},
		{Kind: taruvi.ChangeWritten, Scope: "t1,t2"},
		{Kind: taruvi.ChangeSessionRevoked, Scope: "t1", Key: "a|b"},
		{Kind: taruvi.ChangeInvalidated, Scope: "t1:", Key: "ns", Value: "1"},
	} {
		if err := one.db.Feed().Publish(ctx, c); err == nil {
			t.Errorf("published %+v", c)
		}
	}
}

// TestFeedCarriesChangesOfTheDatabase: the changes the platform makes
// (tenants, domains, writes, sessions, users, cache namespaces,
// deletions) reach the process that made them at once, or through the
// database, and every other process through the database.
func TestFeedCarriesChangesOfTheDatabase(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	one, two := newCachingProcess(t, url), newCachingProcess(t, url)
	here, there := record(one.db.Feed()), record(two.db.Feed())
	ctx := context.Background()
	tenants := postgres.NewTenants(one.db)

	tenant := postgrestest.NewTenant(t, one.db)
	scope := tenant.ScopeKey()
	there.wait(t, taruvi.Change{Kind: taruvi.ChangeTenancy}, "the other process hears of a new tenant")
	tctx := operator(taruvi.NewContextWithTenant(ctx, tenant))

	// A write is heard here at once, before the call returns to anyone.
	writes := here.count(taruvi.ChangeWritten)
	if _, err := one.projects.CreateProject(tctx, taruvi.ProjectCreate{Name: "P"}); err != nil {
		t.Fatal(err)
	}
	if !here.has(taruvi.Change{Kind: taruvi.ChangeWritten, Scope: scope}) || here.count(taruvi.ChangeWritten) != writes+1 {
		t.Fatalf("the writing process was not told of its write at once: %d writes heard before, %d after", writes, here.count(taruvi.ChangeWritten))
	}
	there.wait(t, taruvi.Change{Kind: taruvi.ChangeWritten, Scope: scope}, "the other process hears of the write")
	// Its own write comes back through the database, but is not heard twice.
	time.Sleep(100 * time.Millisecond)
	if n := here.count(taruvi.ChangeWritten); n != writes+1 {
		t.Errorf("the writing process heard its write %d times, want once", n-writes)
	}

	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	auth := authOn(t, one.db, token.NewKeySet(key))
	users := testUsers(one.db, testAuthz(one.db, slog.New(slog.DiscardHandler)))
	u, err := users.CreateUser(tctx, taruvi.UserCreate{Email: "u@example.test", Password: "first password"})
	if err != nil {
		t.Fatal(err)
	}
	// A session, which the password change ends.
	if _, err := auth.Login(taruvi.NewContextWithTenant(ctx, tenant), taruvi.Credentials{Email: "u@example.test", Password: "first password"}, taruvi.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := users.SetPassword(tctx, u.ID, "second password"); err != nil {
		t.Fatal(err)
	}
	userChanged := taruvi.Change{Kind: taruvi.ChangeUserChanged, Scope: scope, Key: strconv.FormatInt(u.ID, 10)}
	there.wait(t, userChanged, "the other process hears of the changed user")
	here.wait(t, userChanged, "this process hears of the changed user")
	waitFor(t, "the other process hears that the user's session ended", func() bool {
		there.mu.Lock()
		defer there.mu.Unlock()
		return slices.ContainsFunc(there.changes, func(c taruvi.Change) bool {
			return c.Kind == taruvi.ChangeSessionRevoked && c.Scope == scope && c.Key != ""
		})
	})

	shared := cache.New(cache.Options{Feed: one.db.Feed()})
	shared.Invalidate(taruvi.NewContextWithTenant(ctx, tenant), "pages")
	waitFor(t, "the other process hears of the invalidated namespace", func() bool {
		there.mu.Lock()
		defer there.mu.Unlock()
		return slices.ContainsFunc(there.changes, func(c taruvi.Change) bool {
			return c.Kind == taruvi.ChangeInvalidated && c.Scope == scope && c.Key == "pages" && c.Value != ""
		})
	})

	domain := tenant.Schema + ".example.test"
	tenancy := there.count(taruvi.ChangeTenancy)
	if err := tenants.AddDomain(ctx, tenant.Schema, domain, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other process hears of the new domain", func() bool { return there.count(taruvi.ChangeTenancy) > tenancy })

	if err := tenants.SetTenantStatus(ctx, tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	deleted := taruvi.Change{Kind: taruvi.ChangeDeleted, Scope: scope}
	there.wait(t, deleted, "the other process hears of the deletion")
	here.wait(t, deleted, "this process hears of the deletion")
}

// spyResolver counts the lookups that reach the database.
type spyResolver struct {
	next  taruvi.TenantResolver
	calls atomic.Int64
}

func (s *spyResolver) FindTenantByDomain(ctx context.Context, domain string) (*taruvi.Tenant, error) {
	s.calls.Add(1)
	return s.next.FindTenantByDomain(ctx, domain)
}

func (s *spyResolver) FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	s.calls.Add(1)
	return s.next.FindTenant(ctx, schema)
}

// TestFeedCachesFollowOtherReplicas: every cache of a replica (tenants,
// read pages, permissions, the shared cache, sessions) drops what another
// replica's change made stale, through the feed alone.
func TestFeedCachesFollowOtherReplicas(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	one, two := newCachingProcess(t, url), newCachingProcess(t, url)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	tenant := postgrestest.NewTenant(t, one.db)
	tctx := operator(taruvi.NewContextWithTenant(ctx, tenant))

	// The caches of the second replica, made as serve makes them.
	resolver := &spyResolver{next: postgres.NewTenants(two.db)}
	tenantCache := web.NewTenantCache(resolver, time.Hour, two.db.Feed())
	sharedOne := cache.New(cache.Options{Feed: one.db.Feed()})
	sharedTwo := cache.New(cache.Options{Feed: two.db.Feed(), ForgetOnWrite: []string{auth.AuthzNamespace}})
	authz := auth.NewAuthz(postgres.NewAuthStore(two.db), log, sharedTwo)
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(key)
	authOne, authTwo := authOn(t, one.db, keys), authOn(t, two.db, keys)
	two.db.Feed().Subscribe(postgres.RevocationSubscriber(authTwo.HandleRevocation, authTwo.ResetSessions))

	// Tenants: a suspension on the first replica shows on the second.
	if got, err := tenantCache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantActive {
		t.Fatalf("warm the tenant cache: %+v, %v", got, err)
	}
	if err := postgres.NewTenants(one.db).SetTenantStatus(ctx, tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant cache shows the suspension", func() bool {
		got, err := tenantCache.FindTenant(ctx, tenant.Schema)
		return err == nil && got.Status == taruvi.TenantSuspended
	})
	if err := postgres.NewTenants(one.db).SetTenantStatus(ctx, tenant.Schema, taruvi.TenantActive); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant cache shows the resumption", func() bool {
		got, err := tenantCache.FindTenant(ctx, tenant.Schema)
		return err == nil && got.Status == taruvi.TenantActive
	})

	// Read pages: a write on the first replica shows on the second.
	if got := two.count(t, tctx); got != 0 {
		t.Fatalf("a new tenant lists %d projects", got)
	}
	if _, err := one.projects.CreateProject(tctx, taruvi.ProjectCreate{Name: "P"}); err != nil {
		t.Fatal(err)
	}
	two.eventually(t, tctx, 1, "the read cache after the other replica wrote")

	// Permissions: a grant on the first replica shows on the second.
	users := testUsers(one.db, testAuthz(one.db, log))
	u, err := users.CreateUser(tctx, taruvi.UserCreate{Email: "m@example.test", Password: "member password"})
	if err != nil {
		t.Fatal(err)
	}
	member := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(ctx, tenant), &taruvi.Principal{UserID: u.ID, Audience: tenant.Schema})
	if err := authz.Can(member, taruvi.PermViewProject, taruvi.Object{}); taruvi.ErrorCode(err) != taruvi.EFORBIDDEN {
		t.Fatalf("before the grant: %v, want %s", err, taruvi.EFORBIDDEN)
	}
	if _, err := users.GrantPermission(tctx, taruvi.ObjectGrant{UserID: &u.ID, Permission: taruvi.PermViewProject}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the permission answer after the grant", func() bool {
		return authz.Can(member, taruvi.PermViewProject, taruvi.Object{}) == nil
	})

	// The shared cache: an invalidation on the first replica empties the
	// namespace on the second.
	sctx := taruvi.NewContextWithTenant(ctx, tenant)
	sharedTwo.Set(sctx, "pages", "k", []byte("v"), sharedTwo.Generation(sctx, "pages"))
	if _, ok := sharedTwo.Get(sctx, "pages", "k"); !ok {
		t.Fatal("the shared cache did not keep a value")
	}
	sharedOne.Invalidate(sctx, "pages")
	waitFor(t, "the shared cache after the other replica invalidated", func() bool {
		_, ok := sharedTwo.Get(sctx, "pages", "k")
		return !ok
	})

	// Sessions: a logout on the first replica ends the session on the
	// second, which had it cached.
	pair, err := authOne.Login(sctx, taruvi.Credentials{Email: "m@example.test", Password: "member password"}, taruvi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authTwo.Authenticate(sctx, "Bearer "+pair.Access); err != nil {
		t.Fatalf("the session before the logout: %v", err)
	}
	principal, err := authOne.Authenticate(sctx, "Bearer "+pair.Access)
	if err != nil {
		t.Fatal(err)
	}
	if err := authOne.Logout(taruvi.NewContextWithPrincipal(sctx, principal), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session cache after the other replica's logout", func() bool {
		_, err := authTwo.Authenticate(sctx, "Bearer "+pair.Access)
		return taruvi.ErrorCode(err) == taruvi.EUNAUTHORIZED
	})
}

// TestFeedReconnectResetsEveryCache: when the feed loses its connection,
// changes may have been missed, so every cache forgets all it holds: what
// changed behind the feed's back shows once it has reconnected.
func TestFeedReconnectResetsEveryCache(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	p := newCachingProcess(t, url)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	tenant := postgrestest.NewTenant(t, p.db)
	tctx := operator(taruvi.NewContextWithTenant(ctx, tenant))
	sctx := taruvi.NewContextWithTenant(ctx, tenant)
	resets := record(p.db.Feed())

	resolver := &spyResolver{next: postgres.NewTenants(p.db)}
	tenantCache := web.NewTenantCache(resolver, time.Hour, p.db.Feed())
	shared := cache.New(cache.Options{Feed: p.db.Feed(), ForgetOnWrite: []string{auth.AuthzNamespace}})
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	auth := authOn(t, p.db, token.NewKeySet(key))
	p.db.Feed().Subscribe(postgres.RevocationSubscriber(auth.HandleRevocation, auth.ResetSessions))

	// Fill every cache, the writes first.
	users := testUsers(p.db, testAuthz(p.db, log))
	if _, err := users.CreateUser(tctx, taruvi.UserCreate{Email: "r@example.test", Password: "member password"}); err != nil {
		t.Fatal(err)
	}
	pair, err := auth.Login(sctx, taruvi.Credentials{Email: "r@example.test", Password: "member password"}, taruvi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(sctx, "Bearer "+pair.Access); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantCache.FindTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	if got := p.count(t, tctx); got != 0 {
		t.Fatalf("a new tenant lists %d projects", got)
	}
	shared.Set(sctx, "pages", "k", []byte("v"), shared.Generation(sctx, "pages"))
	calls := resolver.calls.Load()

	// Change what they hold behind the feed's back: no trigger fires, no
	// notification is sent.
	tx, err := p.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`SET LOCAL session_replication_role = replica`,
		`SET LOCAL search_path = ` + tenant.Schema,
		`INSERT INTO projects (name) VALUES ('behind the feed')`,
		`UPDATE sessions SET revoked_at = now(), revoke_reason = 'behind the feed'`,
		`UPDATE public.tenants SET status = 'suspended' WHERE id = ` + strconv.FormatInt(tenant.ID, 10),
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got, err := tenantCache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantActive {
		t.Fatalf("the tenant cache heard of a change sent to no one: %+v, %v", got, err)
	}
	if got := p.count(t, tctx); got != 0 {
		t.Fatalf("the read cache heard of a change sent to no one: %d projects", got)
	}

	if n := resolver.calls.Load(); n != calls {
		t.Fatalf("the tenant cache looked the tenant up again before the reset")
	}
	before := resets.count(taruvi.ChangeReset)
	var killed int
	if err := p.db.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("%d listeners terminated, want the feed's one", killed)
	}
	waitFor(t, "the feed resets after losing its connection", func() bool { return resets.count(taruvi.ChangeReset) > before })

	if got, err := tenantCache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantSuspended {
		t.Errorf("the tenant cache after the reset: %+v, %v, want the suspended tenant", got, err)
	}
	if got := p.count(t, tctx); got != 1 {
		t.Errorf("the read cache after the reset lists %d projects, want 1", got)
	}
	if _, ok := shared.Get(sctx, "pages", "k"); ok {
		t.Error("the shared cache kept a value through the reset")
	}
	if _, err := auth.Authenticate(sctx, "Bearer "+pair.Access); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Errorf("the session revoked behind the feed's back after the reset: %v, want %s", err, taruvi.EUNAUTHORIZED)
	}
	// And it listens again: a change of another process is heard.
	waitFor(t, "the feed listens again", func() bool { return resets.count(taruvi.ChangeReset) > before+1 })
	if err := postgres.NewTenants(p.db).SetTenantStatus(ctx, tenant.Schema, taruvi.TenantActive); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant cache hears changes after the reconnection", func() bool {
		got, err := tenantCache.FindTenant(ctx, tenant.Schema)
		return err == nil && got.Status == taruvi.TenantActive
	})
}
