package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"taruvi"
)

// readCache remembers the answers to hot reads (pages of projects, tasks
// and files) per tenant, principal and query, and forgets all of a
// tenant's at once when anything in that tenant is written. Tenants are
// named by scope key, never by schema: a tenant created again under a
// deleted one's schema name shares nothing with it.
//
// Each tenant has a generation, renewed by every committed scope that wrote
// (see scopedTx), in this process or any other: the cache follows the DB's
// change feed (taruvi.ChangeWritten). An answer is stored with the
// generation read before its query ran, so an answer that raced with a
// write is never served. A lost notification is bounded by ttl, and the
// feed's reconnection (taruvi.ChangeReset) forgets everything.
//
// Generations come from one counter. A tenant not written to since the
// floor last rose has the floor as its generation and no entry in gens:
// forgetting a deleted tenant drops its entry and raises the floor past
// every generation given, so an answer read before, even one of a tenant
// never written to, is refused too.
type readCache struct {
	ttl     time.Duration
	max     int
	observe func(hit bool) // counts lookups (Options.ObserveReads); nil counts none

	mu      sync.Mutex
	last    uint64            // the last generation given
	floor   uint64            // the generation of every scope not in gens
	gens    map[string]uint64 // scopes written to since the floor rose
	entries map[string]readEntry
}

type readEntry struct {
	scope  string
	gen    uint64
	stored time.Time
	value  any
}

// newReadCache returns a read cache following feed.
func newReadCache(ttl time.Duration, max int, observe func(hit bool), feed *Feed) *readCache {
	c := &readCache{ttl: ttl, max: max, observe: observe, gens: map[string]uint64{}, entries: map[string]readEntry{}}
	feed.Subscribe(c.follow)
	return c
}

// follow applies a change of the feed.
func (c *readCache) follow(ch taruvi.Change) {
	switch ch.Kind {
	case taruvi.ChangeWritten:
		c.changed(ch.Scope)
	case taruvi.ChangeDeleted:
		c.forget(ch.Scope)
	case taruvi.ChangeReset:
		c.reset()
	}
}

// caching reports whether answers are remembered; changes are tracked and
// published either way, for the other caches that follow them.
func (c *readCache) caching() bool { return c.ttl > 0 }

// get returns the answer remembered for key, if it is current, and the
// scope's generation, under which an answer read now is to be stored.
func (c *readCache) get(scope, key string, now time.Time) (value any, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen = c.generation(scope)
	e, ok := c.entries[key]
	if !ok || e.scope != scope || e.gen != gen || now.Sub(e.stored) > c.ttl {
		return nil, gen, false
	}
	return e.value, gen, true
}

func (c *readCache) put(scope, key string, gen uint64, value any, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.generation(scope) {
		return // written (or forgotten) while the query ran
	}
	if len(c.entries) >= c.max {
		// Drop an arbitrary eighth: cheap, and the hot entries come back.
		n := c.max / 8
		for k := range c.entries {
			delete(c.entries, k)
			if n--; n <= 0 {
				break
			}
		}
	}
	c.entries[key] = readEntry{scope: scope, gen: gen, stored: now, value: value}
}

// generation returns the generation of scope; c.mu is held.
func (c *readCache) generation(scope string) uint64 {
	if gen, ok := c.gens[scope]; ok {
		return gen
	}
	return c.floor
}

// changed forgets what is remembered of scope, written to.
func (c *readCache) changed(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last++
	c.gens[scope] = c.last
}

// forget drops every answer and the generation of scope, a deleted
// tenant's. Raising the floor refuses the answers of queries still
// running, which read an older generation; other tenants holding answers
// at the floor keep it as a generation of their own, and their answers
// with it.
func (c *readCache) forget(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.scope == scope {
			delete(c.entries, k)
		} else if _, ok := c.gens[e.scope]; !ok {
			c.gens[e.scope] = c.floor
		}
	}
	delete(c.gens, scope)
	c.last++
	c.floor = c.last
}

// reset forgets everything (notifications may have been missed).
func (c *readCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.gens)
	c.last++
	c.floor = c.last
	clear(c.entries)
}

// cachedRead answers a hot read of the tenant ctx addresses from the read
// cache, or runs read and remembers its answer. name names the read and
// query its arguments; the principal is part of the key, since what a read
// returns depends on who asks. Answers are shared: callers must not change
// them.
func cachedRead[T any](ctx context.Context, db *DB, name string, query any, read func() (T, error)) (T, error) {
	t, p := taruvi.TenantFromContext(ctx), taruvi.PrincipalFromContext(ctx)
	if !db.reads.caching() || t == nil || p == nil {
		return read()
	}
	scope := t.ScopeKey()
	key := fmt.Sprintf("%s|%s|%d|%d|%t|%t|%s|%#v", scope, p.Audience, p.UserID, p.APIKeyID, p.IsOwner, p.IsAdmin, name, query)
	v, gen, ok := db.reads.get(scope, key, time.Now())
	if db.reads.observe != nil {
		db.reads.observe(ok)
	}
	if ok {
		return v.(T), nil
	}
	answer, err := read()
	if err == nil {
		db.reads.put(scope, key, gen, answer, time.Now())
	}
	return answer, err
}
