package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"taruvi"
)

// ChangesChannel carries the tenants whose data changed, so that every
// process drops what it remembers of them. A payload is the sending
// process's origin, a colon and the tenants' scope keys
// (taruvi.Tenant.ScopeKey), comma-separated.
const ChangesChannel = "taruvi_changes"

// readCache remembers the answers to hot reads (pages of projects, tasks
// and files) per tenant, principal and query, and forgets all of a
// tenant's at once when anything in that tenant is written. Tenants are
// named by scope key, never by schema: a tenant created again under a
// deleted one's schema name shares nothing with it.
//
// Each tenant has a generation, renewed by every committed scope that wrote
// (see scopedTx) in this process and, through ChangesChannel, in every
// other one. An answer is stored with the generation read before its query
// ran, so an answer that raced with a write is never served. A lost
// notification is bounded by ttl, and a reconnection of the listener
// forgets everything.
//
// Generations come from one counter. A tenant not written to since the
// floor last rose has the floor as its generation and no entry in gens:
// forgetting a deleted tenant drops its entry and raises the floor past
// every generation given, so an answer read before, even one of a tenant
// never written to, is refused too.
type readCache struct {
	ttl    time.Duration
	max    int
	origin string // names this process in its notifications

	mu       sync.Mutex
	last     uint64            // the last generation given
	floor    uint64            // the generation of every scope not in gens
	gens     map[string]uint64 // scopes written to since the floor rose
	entries  map[string]readEntry
	pending  map[string]bool      // changed scopes not yet published
	onChange []func(scope string) // told of every change, local or remote
	onDelete []func(scope string) // told of every deleted tenant
	observe  func(hit bool)       // counts lookups; set before use
}

type readEntry struct {
	scope  string
	gen    uint64
	stored time.Time
	value  any
}

func newReadCache(ttl time.Duration, max int) *readCache {
	return &readCache{ttl: ttl, max: max, origin: rand.Text()[:12], gens: map[string]uint64{}, entries: map[string]readEntry{}, pending: map[string]bool{}}
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

// changed forgets what is remembered of scope and tells the followers;
// publish says whether other processes must be told too.
func (c *readCache) changed(scope string, publish bool) {
	c.mu.Lock()
	c.last++
	c.gens[scope] = c.last
	if publish {
		c.pending[scope] = true
	}
	followers := c.onChange
	c.mu.Unlock()
	for _, fn := range followers {
		fn(scope)
	}
}

// forget drops every answer and the generation of scope, a deleted
// tenant's, and tells the followers of changes, then those of deletions.
// Raising the floor refuses the answers of queries still running, which
// read an older generation; other tenants holding answers at the floor
// keep it as a generation of their own, and their answers with it.
func (c *readCache) forget(scope string) {
	c.mu.Lock()
	for k, e := range c.entries {
		if e.scope == scope {
			delete(c.entries, k)
		} else if _, ok := c.gens[e.scope]; !ok {
			c.gens[e.scope] = c.floor
		}
	}
	delete(c.gens, scope)
	delete(c.pending, scope)
	c.last++
	c.floor = c.last
	followers := append(slices.Clip(c.onChange), c.onDelete...)
	c.mu.Unlock()
	for _, fn := range followers {
		fn(scope)
	}
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

// takePending returns the changed scopes not yet published, as payloads
// short enough for NOTIFY.
func (c *readCache) takePending() []string {
	c.mu.Lock()
	scopes := make([]string, 0, len(c.pending))
	for s := range c.pending {
		scopes = append(scopes, s)
	}
	clear(c.pending)
	c.mu.Unlock()
	slices.Sort(scopes)
	var payloads []string
	var b strings.Builder
	for _, s := range scopes {
		if b.Len()+len(s)+1 > 7000 {
			payloads = append(payloads, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(c.origin + ":")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	if b.Len() > 0 {
		payloads = append(payloads, b.String())
	}
	return payloads
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

// ObserveReads has fn count every lookup in the read cache, hit or miss.
// Call it before serving.
func (db *DB) ObserveReads(fn func(hit bool)) { db.reads.observe = fn }

// TenantChanged forgets the hot reads of the tenants in payload, a
// ChangesChannel notification. This process's own were acted on when it
// wrote.
func (db *DB) TenantChanged(payload string) {
	origin, scopes, _ := strings.Cut(payload, ":")
	if origin == db.reads.origin {
		return
	}
	for _, s := range strings.Split(scopes, ",") {
		if s != "" {
			db.reads.changed(s, false)
		}
	}
}

// ResetReads forgets every hot read, for when notifications may have been
// missed.
func (db *DB) ResetReads() { db.reads.reset() }

// OnTenantChange registers fn to hear of every committed write to a
// tenant, made by this process or, through ChangesChannel, any other, and
// of the tenant's deletion: the hook by which other caches of tenant data
// forget it in time. fn gets the tenant's scope key
// (taruvi.Tenant.ScopeKey).
func (db *DB) OnTenantChange(fn func(scope string)) {
	db.reads.mu.Lock()
	defer db.reads.mu.Unlock()
	db.reads.onChange = append(db.reads.onChange, fn)
}

// OnTenantDeleted registers fn to hear of every deleted tenant, deleted by
// this process or any other, after the followers of OnTenantChange: the
// hook by which other caches drop all they keep of it, generations
// included. fn gets the tenant's scope key, never used again.
func (db *DB) OnTenantDeleted(fn func(scope string)) {
	db.reads.mu.Lock()
	defer db.reads.mu.Unlock()
	db.reads.onDelete = append(db.reads.onDelete, fn)
}

// PublishChanges tells other processes, every interval until ctx ends,
// which tenants this one wrote to, in as few notifications as it can.
// Writes never wait for it: a NOTIFY inside a write transaction would
// serialize every commit on the notification queue's lock.
func (db *DB) PublishChanges(ctx context.Context, log *slog.Logger, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			db.publishPending(context.WithoutCancel(ctx), log)
			return
		case <-tick.C:
			db.publishPending(ctx, log)
		}
	}
}

func (db *DB) publishPending(ctx context.Context, log *slog.Logger) {
	for _, payload := range db.reads.takePending() {
		if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangesChannel, payload); err != nil {
			// Other processes forget these answers within the cache's
			// time to live anyway.
			log.Warn("publish changed tenants", "error", err)
		}
	}
}
