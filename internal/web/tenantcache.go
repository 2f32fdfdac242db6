package web

import (
	"context"
	"sync"
	"time"

	"taruvi"
)

// TenantCache remembers host and schema lookups in process. It follows
// the change feed: any change of a tenant or a domain, made by any replica
// (taruvi.ChangeTenancy), a deleted tenant and a reset drop everything, so
// all replicas agree within the notification's latency. Entries also
// expire after TTL as a safety net. Unknown names are remembered too (an attacker
// sending random hosts costs one query per name), up to MaxEntries.
type TenantCache struct {
	next       taruvi.TenantResolver
	ttl        time.Duration
	maxEntries int

	mu      sync.Mutex
	gen     uint64 // bumped by forgetAll; a lookup begun before stores nothing
	entries map[string]tenantCacheEntry
}

type tenantCacheEntry struct {
	tenant  *taruvi.Tenant
	err     error // only ENOTFOUND is cached
	expires time.Time
}

// NewTenantCache wraps next with a cache whose entries live for ttl,
// following feed (nil: entries only expire).
func NewTenantCache(next taruvi.TenantResolver, ttl time.Duration, feed taruvi.ChangeFeed) *TenantCache {
	c := &TenantCache{next: next, ttl: ttl, maxEntries: 100_000, entries: map[string]tenantCacheEntry{}}
	if feed != nil {
		feed.Subscribe(c.follow)
	}
	return c
}

// follow applies a change of the feed.
func (c *TenantCache) follow(ch taruvi.Change) {
	switch ch.Kind {
	case taruvi.ChangeTenancy, taruvi.ChangeDeleted, taruvi.ChangeReset:
		c.forgetAll()
	}
}

// FindTenantByDomain implements taruvi.TenantResolver.
func (c *TenantCache) FindTenantByDomain(ctx context.Context, domain string) (*taruvi.Tenant, error) {
	return c.get(ctx, "d:"+domain, func() (*taruvi.Tenant, error) { return c.next.FindTenantByDomain(ctx, domain) })
}

// FindTenant implements taruvi.TenantResolver.
func (c *TenantCache) FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	return c.get(ctx, "s:"+schema, func() (*taruvi.Tenant, error) { return c.next.FindTenant(ctx, schema) })
}

// FindTenantFresh looks the tenant of schema up past the cache and
// remembers the answer, for a caller that has reason to think the cached
// one out of date (a job recording a newer tenant id than it).
func (c *TenantCache) FindTenantFresh(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	return c.load("s:"+schema, gen, time.Now(), func() (*taruvi.Tenant, error) { return c.next.FindTenant(ctx, schema) })
}

// forgetAll forgets every entry.
func (c *TenantCache) forgetAll() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

func (c *TenantCache) get(_ context.Context, key string, load func() (*taruvi.Tenant, error)) (*taruvi.Tenant, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.tenant, e.err
	}
	return c.load(key, gen, now, load)
}

// load runs load and remembers its answer under key, unless the cache was
// invalidated since gen was read.
func (c *TenantCache) load(key string, gen uint64, now time.Time, load func() (*taruvi.Tenant, error)) (*taruvi.Tenant, error) {
	t, err := load()
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return nil, err // an outage is not remembered
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.entries) >= c.maxEntries {
			clear(c.entries)
		}
		c.entries[key] = tenantCacheEntry{tenant: t, err: err, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return t, err
}
