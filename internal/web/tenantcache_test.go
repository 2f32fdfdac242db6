package web_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

// countingResolver passes lookups on to the real tenant service and counts
// them. afterLookup, when set, runs between the lookup and its return, with
// the number of the call (from 1).
type countingResolver struct {
	next        taruvi.TenantResolver
	calls       atomic.Int64
	afterLookup func(call int64)
}

func (c *countingResolver) FindTenantByDomain(ctx context.Context, domain string) (*taruvi.Tenant, error) {
	t, err := c.next.FindTenantByDomain(ctx, domain)
	c.done()
	return t, err
}

func (c *countingResolver) FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	t, err := c.next.FindTenant(ctx, schema)
	c.done()
	return t, err
}

func (c *countingResolver) done() {
	n := c.calls.Add(1)
	if c.afterLookup != nil {
		c.afterLookup(n)
	}
}

// fakeFeed is a change feed of the test's own: the shared database's
// feed hears every other test's tenants.
type fakeFeed struct {
	mu   sync.Mutex
	subs []func(taruvi.Change)
}

func (f *fakeFeed) Subscribe(fn func(taruvi.Change)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

func (f *fakeFeed) Publish(_ context.Context, c taruvi.Change) error {
	f.mu.Lock()
	subs := f.subs
	f.mu.Unlock()
	for _, fn := range subs {
		fn(c)
	}
	return nil
}

// invalidate tells the feed's subscribers that tenants changed.
func (f *fakeFeed) invalidate() {
	_ = f.Publish(context.Background(), taruvi.Change{Kind: taruvi.ChangeTenancy})
}

// wantCalls fails the test unless the resolver was asked exactly n times.
func (c *countingResolver) wantCalls(t *testing.T, n int64, when string) {
	t.Helper()
	if got := c.calls.Load(); got != n {
		t.Fatalf("%s: %d lookups reached the database, want %d", when, got, n)
	}
}

func TestTenantCacheHit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenant := postgrestest.NewTenant(t, f.db)
	domain := domainFor(tenant, "")
	f.addDomain(t, tenant, domain)
	feed := &fakeFeed{}
	spy := &countingResolver{next: f.tenants}
	cache := web.NewTenantCache(spy, time.Hour, feed)

	for i := range 3 {
		got, err := cache.FindTenant(ctx, tenant.Schema)
		if err != nil || got.Schema != tenant.Schema {
			t.Fatalf("FindTenant #%d: %v, %v", i, got, err)
		}
	}
	spy.wantCalls(t, 1, "three lookups by schema")

	for i := range 3 {
		got, err := cache.FindTenantByDomain(ctx, domain)
		if err != nil || got.Schema != tenant.Schema {
			t.Fatalf("FindTenantByDomain #%d: %v, %v", i, got, err)
		}
	}
	spy.wantCalls(t, 2, "then three by domain")

	// A schema and a domain of the same spelling are different keys.
	if _, err := cache.FindTenantByDomain(ctx, tenant.Schema); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("schema name looked up as a domain: %v, want ENOTFOUND", err)
	}
	spy.wantCalls(t, 3, "then the schema name as a domain")

	// Not found is remembered too.
	for i := range 3 {
		if _, err := cache.FindTenant(ctx, "t_nosuchtenant"); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Fatalf("unknown schema #%d: %v, want ENOTFOUND", i, err)
		}
	}
	spy.wantCalls(t, 4, "then three unknown schemas")
}

func TestTenantCacheInvalidate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenant := postgrestest.NewTenant(t, f.db)
	feed := &fakeFeed{}
	spy := &countingResolver{next: f.tenants}
	cache := web.NewTenantCache(spy, time.Hour, feed)

	if got, err := cache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantActive {
		t.Fatalf("first lookup: %+v, %v", got, err)
	}
	if _, err := cache.FindTenant(ctx, "t_nosuchtenant"); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("unknown schema: %v, want ENOTFOUND", err)
	}
	f.suspend(t, tenant)
	if got, err := cache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantActive {
		t.Fatalf("before the invalidation the cache should still answer active: %+v, %v", got, err)
	}
	spy.wantCalls(t, 2, "before the invalidation")

	feed.invalidate()
	if got, err := cache.FindTenant(ctx, tenant.Schema); err != nil || got.Status != taruvi.TenantSuspended {
		t.Fatalf("after the invalidation: %+v, %v, want the suspended tenant", got, err)
	}
	if _, err := cache.FindTenant(ctx, "t_nosuchtenant"); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("unknown schema: %v, want ENOTFOUND", err)
	}
	spy.wantCalls(t, 4, "after the invalidation both entries are looked up again")
}

func TestTenantCacheExpires(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenant := postgrestest.NewTenant(t, f.db)
	spy := &countingResolver{next: f.tenants}
	const ttl = 50 * time.Millisecond
	cache := web.NewTenantCache(spy, ttl, nil)

	if _, err := cache.FindTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * ttl)
	if _, err := cache.FindTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	spy.wantCalls(t, 2, "a lookup after the TTL")
}

// A lookup that began before the invalidation read the tenant as it was; storing
// its answer would undo the invalidation until the TTL ends.
func TestTenantCacheInvalidateDuringLookup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenant := postgrestest.NewTenant(t, f.db)

	looked, release := make(chan struct{}), make(chan struct{})
	feed := &fakeFeed{}
	spy := &countingResolver{next: f.tenants, afterLookup: func(call int64) {
		if call == 1 { // hold the first lookup after it has read the row
			close(looked)
			<-release
		}
	}}
	cache := web.NewTenantCache(spy, time.Hour, feed)

	type result struct {
		tenant *taruvi.Tenant
		err    error
	}
	first := make(chan result, 1)
	go func() {
		got, err := cache.FindTenant(ctx, tenant.Schema)
		first <- result{got, err}
	}()
	select {
	case <-looked:
	case <-time.After(10 * time.Second):
		t.Fatal("the first lookup never reached the database")
	}
	f.suspend(t, tenant)
	feed.invalidate()
	close(release)

	r := <-first
	if r.err != nil || r.tenant.Status != taruvi.TenantActive {
		t.Fatalf("the held lookup: %+v, %v; want the active tenant it read", r.tenant, r.err)
	}
	got, err := cache.FindTenant(ctx, tenant.Schema)
	if err != nil || got.Status != taruvi.TenantSuspended {
		t.Fatalf("after the invalidation: %+v, %v; the stale lookup was stored", got, err)
	}
	spy.wantCalls(t, 2, "the lookup after the invalidation")
}

// Errors other than ENOTFOUND (the database down, a cancelled request) must
// not be remembered, or one bad moment would lock a tenant out for the TTL.
func TestTenantCacheDoesNotCacheErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tenant := postgrestest.NewTenant(t, f.db)
	domain := domainFor(tenant, "")
	f.addDomain(t, tenant, domain)
	feed := &fakeFeed{}
	spy := &countingResolver{next: f.tenants}
	cache := web.NewTenantCache(spy, time.Hour, feed)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cache.FindTenant(cancelled, tenant.Schema); err == nil || taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Fatalf("lookup on a cancelled context: %v, want an internal error", err)
	}
	if _, err := cache.FindTenantByDomain(cancelled, domain); err == nil || taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Fatalf("domain lookup on a cancelled context: %v, want an internal error", err)
	}
	spy.wantCalls(t, 2, "two failed lookups")

	ctx := context.Background()
	if got, err := cache.FindTenant(ctx, tenant.Schema); err != nil || got.Schema != tenant.Schema {
		t.Fatalf("after a failed lookup: %v, %v; the error was cached", got, err)
	}
	if got, err := cache.FindTenantByDomain(ctx, domain); err != nil || got.Schema != tenant.Schema {
		t.Fatalf("after a failed domain lookup: %v, %v; the error was cached", got, err)
	}
	spy.wantCalls(t, 4, "the lookups after the failures")
}
