package taruvi

import (
	"context"
	"time"
)

// RateLimit allows Limit requests per Window, in a burst or spread out
// (the generic cell rate algorithm: one request every Window/Limit, with a
// burst of Limit).
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// RateDecision is a limiter's answer for one request.
type RateDecision struct {
	Allowed    bool
	Limit      int           // the limit that applied
	Remaining  int           // requests left in the burst after this one
	RetryAfter time.Duration // when refused: how long until one more is allowed
	ResetAfter time.Duration // how long until the burst is whole again
}

// RateLimiter counts requests per key. Keys are built by the caller and
// never shown to anyone. A limiter that cannot reach its shared store
// answers from memory rather than failing.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
}
