package cache_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"taruvi"
	"taruvi/internal/cache"
	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
)

// tenantCtx is a context of tenant id, named schema.
func tenantCtx(id int64, schema string) context.Context {
	return taruvi.NewContextWithTenant(context.Background(), &taruvi.Tenant{ID: id, Schema: schema})
}

// memFeed is a change feed between caches of one test, as the database's
// carries changes between processes.
type memFeed struct {
	mu   sync.Mutex
	subs []func(taruvi.Change)
}

func (f *memFeed) Subscribe(fn func(taruvi.Change)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

func (f *memFeed) Publish(_ context.Context, c taruvi.Change) error {
	f.send(c)
	return nil
}

// send tells every subscriber of c.
func (f *memFeed) send(c taruvi.Change) {
	f.mu.Lock()
	subs := f.subs
	f.mu.Unlock()
	for _, fn := range subs {
		fn(c)
	}
}

// replicas are caches whose invalidations reach each other through one
// feed, as NOTIFY carries them between processes.
type replicas struct {
	feed memFeed
}

func (r *replicas) add(remote cache.Remote, forgetOnWrite ...string) *cache.Cache {
	opts := cache.Options{Feed: &r.feed, ForgetOnWrite: forgetOnWrite}
	if remote != nil {
		opts.Remote = remote
	}
	return cache.New(opts)
}

func openRedis(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	client, err := redis.Open(context.Background(), srv.URL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func set(c *cache.Cache, ctx context.Context, key, value string) {
	c.Set(ctx, "ns", key, []byte(value), c.Generation(ctx, "ns"))
}

func want(t *testing.T, what string, c *cache.Cache, ctx context.Context, key, value string) {
	t.Helper()
	got, ok := c.Get(ctx, "ns", key)
	if value == "" {
		if ok {
			t.Errorf("%s: got %q, want nothing", what, got)
		}
		return
	}
	if !ok || string(got) != value {
		t.Errorf("%s: got %q (%v), want %q", what, got, ok, value)
	}
}

// TestTenantIsolation checks that an entry written under tenant A is never
// served to tenant B or to the platform, in memory and through Redis.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := openRedis(t, srv)
	var r replicas
	one, two := r.add(client), r.add(client)
	a, b, platform := tenantCtx(1, "acme"), tenantCtx(2, "beta"), context.Background()

	set(one, a, "first-page", "acme's projects")
	want(t, "A on the writing replica", one, a, "first-page", "acme's projects")
	want(t, "A on another replica, through Redis", two, a, "first-page", "acme's projects")
	want(t, "B, same key", one, b, "first-page", "")
	want(t, "B on another replica", two, b, "first-page", "")
	want(t, "platform, same key", one, platform, "first-page", "")
	// A tenant whose key looks like another key's prefix gets nothing.
	want(t, "tenant 12", two, tenantCtx(12, "acme_x"), "first-page", "")
	// Nor does a tenant created again under A's schema name after A was
	// deleted: entries follow the tenant's id, never its name.
	want(t, "acme created again", one, tenantCtx(3, "acme"), "first-page", "")
	want(t, "acme created again, through Redis", two, tenantCtx(3, "acme"), "first-page", "")

	set(two, b, "first-page", "beta's projects")
	want(t, "A after B wrote", one, a, "first-page", "acme's projects")
	want(t, "B after B wrote", one, b, "first-page", "beta's projects")

	// Invalidating A's namespace leaves B's.
	one.Invalidate(a, "ns")
	want(t, "A after invalidation, writing replica", one, a, "first-page", "")
	want(t, "A after invalidation, other replica", two, a, "first-page", "")
	want(t, "B after A's invalidation", two, b, "first-page", "beta's projects")
}

// TestStaleSetRefused checks that a value loaded before an invalidation is
// not stored after it.
func TestStaleSetRefused(t *testing.T) {
	t.Parallel()
	var r replicas
	c := r.add(nil)
	ctx := tenantCtx(1, "acme")
	gen := c.Generation(ctx, "ns")
	c.Invalidate(ctx, "ns") // a write committed while the read was loading
	c.Set(ctx, "ns", "k", []byte("stale"), gen)
	want(t, "stale value", c, ctx, "k", "")
	set(c, ctx, "k", "fresh")
	want(t, "fresh value", c, ctx, "k", "fresh")
}

// TestRedisDown checks that the cache keeps answering from memory while
// Redis is away, invalidations included, and shares again once it is back.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := openRedis(t, srv)
	var r replicas
	one, two := r.add(client), r.add(client)
	ctx := tenantCtx(1, "acme")
	srv.Stop()
	set(one, ctx, "k", "v1")
	want(t, "memory tier while Redis is down", one, ctx, "k", "v1")
	one.Invalidate(ctx, "ns")
	want(t, "invalidated while Redis is down", one, ctx, "k", "")
	want(t, "other replica while Redis is down", two, ctx, "k", "")
	srv.Restart()
	if err := client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	set(one, ctx, "k2", "v2")
	want(t, "own write after Redis returned", one, ctx, "k2", "v2")
}

// TestFollowsFeed: a write to a tenant drops the namespaces that depend on
// all of its data, of that tenant only; a deletion and a reset drop what
// they name.
func TestFollowsFeed(t *testing.T) {
	t.Parallel()
	var r replicas
	c := r.add(nil, "ns")
	a, b := tenantCtx(1, "acme"), tenantCtx(2, "beta")
	other := func(ctx context.Context, value string) {
		c.Set(ctx, "other", "k", []byte(value), c.Generation(ctx, "other"))
	}
	set(c, a, "k", "a")
	set(c, b, "k", "b")
	other(a, "a other")
	r.feed.send(taruvi.Change{Kind: taruvi.ChangeWritten, Scope: "t1"})
	want(t, "A after a write to A", c, a, "k", "")
	want(t, "B after a write to A", c, b, "k", "b")
	if v, ok := c.Get(a, "other", "k"); !ok || string(v) != "a other" {
		t.Errorf("a namespace not forgotten on writes: %q %v", v, ok)
	}

	set(c, a, "k", "a again")
	gen := c.Generation(a, "ns")
	r.feed.send(taruvi.Change{Kind: taruvi.ChangeDeleted, Scope: "t1"})
	c.Set(a, "ns", "late", []byte("read before the deletion"), gen)
	want(t, "a value read before A's deletion", c, a, "late", "")
	want(t, "B after A's deletion", c, b, "k", "b")

	r.feed.send(taruvi.Change{Kind: taruvi.ChangeReset})
	want(t, "B after a reset", c, b, "k", "")
}
