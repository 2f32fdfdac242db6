package redis

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"taruvi"
)

// Limiter is a taruvi.RateLimiter using the generic cell rate algorithm
// (GCRA): in Redis, shared by every replica, while Redis answers; in
// process otherwise. It never fails a request because Redis failed.
type Limiter struct {
	client *Client // nil: in process only
	memory *MemoryLimiter
}

var _ taruvi.RateLimiter = (*Limiter)(nil)

// NewLimiter returns a limiter over client, which may be nil.
func NewLimiter(client *Client) *Limiter {
	return &Limiter{client: client, memory: NewMemoryLimiter()}
}

// Allow implements taruvi.RateLimiter.
func (l *Limiter) Allow(ctx context.Context, key string, limit taruvi.RateLimit) (taruvi.RateDecision, error) {
	if l.client != nil && l.client.Available() {
		res, err := l.client.limiter.Allow(ctx, "taruvi:rl:"+key,
			redis_rate.Limit{Rate: limit.Limit, Burst: limit.Limit, Period: limit.Window})
		l.client.record(err)
		if err == nil {
			return taruvi.RateDecision{Allowed: res.Allowed > 0, Limit: limit.Limit, Remaining: res.Remaining,
				RetryAfter: max(res.RetryAfter, 0), ResetAfter: max(res.ResetAfter, 0)}, nil
		}
	}
	return l.memory.Allow(ctx, key, limit)
}

// MemoryLimiter is an in-process GCRA limiter: one replica's view.
type MemoryLimiter struct {
	now func() time.Time

	mu  sync.Mutex
	tat map[string]time.Time // each key's theoretical arrival time
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{now: time.Now, tat: map[string]time.Time{}}
}

// Allow implements taruvi.RateLimiter. A key may have Limit requests at
// once, then one every Window/Limit.
func (m *MemoryLimiter) Allow(_ context.Context, key string, limit taruvi.RateLimit) (taruvi.RateDecision, error) {
	d := taruvi.RateDecision{Limit: limit.Limit}
	if limit.Limit <= 0 || limit.Window <= 0 {
		d.Allowed = true
		return d, nil
	}
	emission := limit.Window / time.Duration(limit.Limit)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(emission)
	if allowAt := next.Add(-limit.Window); now.Before(allowAt) {
		d.RetryAfter, d.ResetAfter = allowAt.Sub(now), tat.Sub(now)
		return d, nil
	}
	m.tat[key] = next
	d.Allowed = true
	d.ResetAfter = next.Sub(now)
	d.Remaining = int((limit.Window - d.ResetAfter) / emission)
	if len(m.tat) > 200_000 { // forget keys whose burst is whole again
		for k, t := range m.tat {
			if t.Before(now) {
				delete(m.tat, k)
			}
		}
	}
	return d, nil
}
