// Package redis holds the platform's shared, cross-replica state: caches,
// rate limits and throttles, with in-process fallbacks that serve a single
// replica (or every replica while Redis is away).
package redis

import (
	"sync"
	"time"

	"taruvi"
)

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
func (t *MemoryThrottle) Blocked(key string) time.Duration {
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
func (t *MemoryThrottle) Fail(key string) {
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
func (t *MemoryThrottle) Reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}
