// Package redis holds the platform's shared, cross-replica state: caches,
// rate limits and throttles, with in-process fallbacks that serve a single
// replica (or every replica while Redis is away).
package redis

import (
	"context"
	"errors"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"taruvi"
)

// Throttle is a taruvi.Throttle shared by every replica through Redis while
// Redis answers, so a client spreading its guesses over the replicas gets
// no more of them. Each failure is also counted in process, and that count
// decides while Redis is away.
type Throttle struct {
	client *Client // nil: in process only
	prefix string
	memory *MemoryThrottle
}

var _ taruvi.Throttle = (*Throttle)(nil)

// NewThrottle returns a throttle named name (it prefixes its keys) allowing
// limit failures per window, over client, which may be nil.
func NewThrottle(client *Client, name string, limit int, window time.Duration) *Throttle {
	return &Throttle{client: client, prefix: "taruvi:throttle:" + name + ":", memory: NewMemoryThrottle(limit, window)}
}

func (t *Throttle) shared() bool { return t.client != nil && t.client.Available() }

// Blocked implements taruvi.Throttle: a key is blocked once it has Limit
// failures, until Window has passed since the first of them (the key's
// expiry in Redis).
func (t *Throttle) Blocked(ctx context.Context, key string) time.Duration {
	if t.shared() {
		pipe := t.client.rdb.Pipeline()
		count := pipe.Get(ctx, t.prefix+key)
		ttl := pipe.PTTL(ctx, t.prefix+key)
		_, err := pipe.Exec(ctx)
		t.client.record(err)
		switch {
		case errors.Is(err, goredis.Nil):
			return 0
		case err == nil:
			if n, _ := count.Int(); n < t.memory.Limit || ttl.Val() <= 0 {
				return 0
			}
			return ttl.Val()
		}
	}
	return t.memory.Blocked(ctx, key)
}

// Fail implements taruvi.Throttle.
func (t *Throttle) Fail(ctx context.Context, key string) {
	t.memory.Fail(ctx, key)
	if t.shared() {
		// The first failure creates the key with the window as its
		// expiry; later ones count up under it.
		pipe := t.client.rdb.TxPipeline()
		pipe.SetNX(ctx, t.prefix+key, 0, t.memory.Window)
		pipe.Incr(ctx, t.prefix+key)
		_, err := pipe.Exec(ctx)
		t.client.record(err)
	}
}

// Reset implements taruvi.Throttle.
func (t *Throttle) Reset(ctx context.Context, key string) {
	t.memory.Reset(ctx, key)
	if t.shared() {
		t.client.record(t.client.rdb.Del(ctx, t.prefix+key).Err())
	}
}

// MemoryThrottle is an in-process taruvi.Throttle: a key that fails Limit
// times within Window is blocked until Window has passed since its first
// counted failure.
type MemoryThrottle struct {
	Limit  int
	Window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]throttleEntry
}

type throttleEntry struct {
	failures int
	since    time.Time
}

var _ taruvi.Throttle = (*MemoryThrottle)(nil)

// NewMemoryThrottle returns a throttle allowing limit failures per window.
func NewMemoryThrottle(limit int, window time.Duration) *MemoryThrottle {
	return &MemoryThrottle{Limit: limit, Window: window, now: time.Now, keys: map[string]throttleEntry{}}
}

// Blocked implements taruvi.Throttle.
func (t *MemoryThrottle) Blocked(_ context.Context, key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok || e.failures < t.Limit {
		return 0
	}
	if wait := e.since.Add(t.Window).Sub(t.now()); wait > 0 {
		return wait
	}
	delete(t.keys, key)
	return 0
}

// Fail implements taruvi.Throttle.
func (t *MemoryThrottle) Fail(_ context.Context, key string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.keys[key]
	if e.failures == 0 || now.Sub(e.since) > t.Window {
		e = throttleEntry{since: now}
	}
	e.failures++
	t.keys[key] = e
	if len(t.keys) > 100_000 { // forget expired entries rather than grow without bound
		for k, v := range t.keys {
			if now.Sub(v.since) > t.Window {
				delete(t.keys, k)
			}
		}
	}
}

// Reset implements taruvi.Throttle.
func (t *MemoryThrottle) Reset(_ context.Context, key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}
