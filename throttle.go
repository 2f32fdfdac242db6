package taruvi

import (
	"context"
	"time"
)

// Throttle counts failures per key (an account, an address) and blocks a
// key that failed too often within a window. It never fails: a throttle
// that cannot reach shared state decides from what its process saw.
type Throttle interface {
	// Blocked returns how long key must still wait; 0 lets it through.
	Blocked(ctx context.Context, key string) time.Duration
	// Fail records a failure of key.
	Fail(ctx context.Context, key string)
	// Reset forgets key's failures (after a success).
	Reset(ctx context.Context, key string)
}
