// Package cache is the platform's two-tier cache: an in-process tier
// (otter) in front of an optional shared tier (Redis). Keys carry the
// tenant of the context by construction, and invalidations reach every
// replica through the change feed (taruvi.ChangeFeed).
package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"taruvi"
)

// Remote is the shared tier: Redis, or nothing. Implementations record
// their own failures and report them through Available, so that a failing
// Redis costs one timeout, not one per request.
type Remote interface {
	Available() bool
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error)
}

// Options configure New.
type Options struct {
	TTL        time.Duration // how long an entry lives at most; 0 means five minutes
	MaxEntries int           // the in-process tier's bound; 0 means 100,000
	Remote     Remote        // nil: in process only
	// Feed carries invalidations to every replica and brings the changes
	// of tenant data; the cache subscribes to it in New. nil: invalidations
	// stay in this process (and Redis).
	Feed taruvi.ChangeFeed
	// ForgetOnWrite names the namespaces whose entries depend on every
	// table of a tenant, so that any write to the tenant
	// (taruvi.ChangeWritten) drops them: permission answers, say.
	ForgetOnWrite []string
	// Observe counts lookups per tier ("memory", "redis"); nil counts none.
	Observe func(tier string, hit bool)
}

// Cache implements taruvi.Cache.
type Cache struct {
	opts  Options
	local *otter.Cache[string, []byte]

	mu   sync.Mutex
	gens map[string]string // scope | namespace → generation token
}

var _ taruvi.Cache = (*Cache)(nil)

// New returns an empty cache following opts.Feed.
func New(opts Options) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 100_000
	}
	c := &Cache{opts: opts, gens: map[string]string{},
		local: otter.Must(&otter.Options[string, []byte]{MaximumSize: opts.MaxEntries,
			ExpiryCalculator: otter.ExpiryWriting[string, []byte](opts.TTL)})}
	if opts.Feed != nil {
		opts.Feed.Subscribe(c.follow)
	}
	return c
}

// follow applies a change of the feed: an invalidation announced by any
// replica (this one included), a write to a tenant, a deleted tenant, or
// a reset.
func (c *Cache) follow(ch taruvi.Change) {
	switch ch.Kind {
	case taruvi.ChangeInvalidated:
		c.setGeneration(ch.Scope+"|"+ch.Key, ch.Value)
	case taruvi.ChangeWritten:
		for _, ns := range c.opts.ForgetOnWrite {
			c.forget(ch.Scope, ns)
		}
	case taruvi.ChangeDeleted:
		c.dropScope(ch.Scope)
	case taruvi.ChangeReset:
		c.reset()
	}
}

// scope names the scope of ctx: a tenant by its scope key, never by its
// schema name, so a tenant created again under a deleted one's name reads
// none of its entries, here or in Redis. No scope key contains a
// separator.
func scope(ctx context.Context) string { return taruvi.ScopeKeyFromContext(ctx) }

// Generation implements taruvi.Cache.
func (c *Cache) Generation(ctx context.Context, namespace string) string {
	id := scope(ctx) + "|" + namespace
	c.mu.Lock()
	gen, ok := c.gens[id]
	c.mu.Unlock()
	if ok {
		return gen
	}
	gen = newToken()
	if c.opts.Remote != nil && c.opts.Remote.Available() {
		// Every replica adopts the generation Redis holds, so that they
		// share entries; the first to ask sets it.
		if shared, err := c.opts.Remote.SetNX(ctx, remoteGenKey(id), []byte(gen), 24*time.Hour); err == nil {
			gen = string(shared)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if current, ok := c.gens[id]; ok { // an invalidation arrived meanwhile: it wins
		return current
	}
	c.gens[id] = gen
	return gen
}

// Get implements taruvi.Cache.
func (c *Cache) Get(ctx context.Context, namespace, key string) ([]byte, bool) {
	k := c.key(ctx, namespace, c.Generation(ctx, namespace), key)
	if v, ok := c.local.GetIfPresent(k); ok {
		c.observe("memory", true)
		return v, true
	}
	c.observe("memory", false)
	if c.opts.Remote == nil || !c.opts.Remote.Available() {
		return nil, false
	}
	v, ok, err := c.opts.Remote.Get(ctx, "taruvi:c:"+k)
	c.observe("redis", ok)
	if err != nil || !ok {
		return nil, false
	}
	c.local.Set(k, v)
	return v, true
}

// Set implements taruvi.Cache.
func (c *Cache) Set(ctx context.Context, namespace, key string, value []byte, generation string) {
	if generation != c.Generation(ctx, namespace) {
		return // loaded before an invalidation: stale already
	}
	k := c.key(ctx, namespace, generation, key)
	c.local.Set(k, value)
	if c.opts.Remote != nil && c.opts.Remote.Available() {
		_ = c.opts.Remote.Set(ctx, "taruvi:c:"+k, value, c.opts.TTL)
	}
}

// Invalidate implements taruvi.Cache: a new generation makes every older
// entry unreachable here, in Redis and, once notified, on every replica.
func (c *Cache) Invalidate(ctx context.Context, namespace string) {
	id := scope(ctx) + "|" + namespace
	gen := newToken()
	c.setGeneration(id, gen)
	c.setRemoteGeneration(ctx, id, gen)
	if c.opts.Feed != nil {
		// Detached from the request: an invalidation must go out even when
		// the client has gone.
		pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.opts.Feed.Publish(pubCtx, taruvi.Change{Kind: taruvi.ChangeInvalidated, Scope: scope(ctx), Key: namespace, Value: gen})
	}
}

// forget drops namespace of the tenant of scope key scope
// (taruvi.Tenant.ScopeKey) in this replica and in Redis, without
// announcing it: for changes every replica hears of on its own.
func (c *Cache) forget(scope, namespace string) {
	id := scope + "|" + namespace
	gen := newToken()
	c.setGeneration(id, gen)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.setRemoteGeneration(ctx, id, gen)
}

// dropScope drops every generation this replica keeps of the tenant of
// scope key scope, deleted: its entries are unreachable already, since the
// key is never used again, and its generations would otherwise stay for
// good. Redis gets fresh generations for them, so that a Set begun before
// is refused here and on every replica; they expire there within a day.
func (c *Cache) dropScope(scope string) {
	prefix := scope + "|"
	var dropped []string
	c.mu.Lock()
	for id := range c.gens {
		if strings.HasPrefix(id, prefix) {
			delete(c.gens, id)
			dropped = append(dropped, id)
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, id := range dropped {
		c.setRemoteGeneration(ctx, id, newToken())
	}
}

// reset forgets everything this replica knows, when invalidations may
// have been missed (the feed reconnected).
func (c *Cache) reset() {
	c.mu.Lock()
	clear(c.gens)
	c.mu.Unlock()
	c.local.InvalidateAll()
}

func (c *Cache) setGeneration(id, gen string) {
	c.mu.Lock()
	c.gens[id] = gen
	c.mu.Unlock()
}

// setRemoteGeneration makes gen the generation of id in Redis, when there
// is one, for every replica to adopt.
func (c *Cache) setRemoteGeneration(ctx context.Context, id, gen string) {
	if c.opts.Remote != nil && c.opts.Remote.Available() {
		_ = c.opts.Remote.Set(ctx, remoteGenKey(id), []byte(gen), 24*time.Hour)
	}
}

func (c *Cache) key(ctx context.Context, namespace, gen, key string) string {
	return scope(ctx) + "|" + namespace + "|" + gen + "|" + key
}

func (c *Cache) observe(tier string, hit bool) {
	if c.opts.Observe != nil {
		c.opts.Observe(tier, hit)
	}
}

func remoteGenKey(id string) string { return "taruvi:gen:" + strings.ReplaceAll(id, "|", ":") }

func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
