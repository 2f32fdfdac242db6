package taruvi

import "time"

// Throttle counts failures per key (an account, an address) and blocks a
// key that failed too often within a window.
type Throttle interface {
	// Blocked returns how long key must still wait; 0 lets it through.
	Blocked(key string) time.Duration
	// Fail records a failure of key.
	Fail(key string)
	// Reset forgets key's failures (after a success).
	Reset(key string)
}
