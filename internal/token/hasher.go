package token

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"taruvi"
)

// Hasher runs the password hashes of a process (sign-ins, password changes,
// new users) a bounded number at a time. Each argon2id hash holds 7 MiB
// and a core for tens of milliseconds, so without a bound a storm of
// sign-ins grows memory by 7 MiB a request and slows every other request
// down; with one, hashes past the bound wait in a bounded queue, and those
// that find it full or wait too long are refused with 503 and Retry-After,
// which clients of a storm honour.
type Hasher struct {
	slots   chan struct{} // one token per hash running
	queue   int64         // most hashes waiting for a slot
	waiting atomic.Int64
	wait    time.Duration
	hashes  atomic.Int64 // run so far
}

// HasherOptions size a Hasher.
type HasherOptions struct {
	// Concurrent is how many hashes run at once; 0 means GOMAXPROCS less
	// one (at least one), so that a request that hashes nothing always
	// finds a free P instead of waiting behind hashes for the scheduler's
	// 10 ms preemption. The binary runs with one P more than the cores
	// (see main), which lets the hashes take every core.
	Concurrent int
	// Queue is how many hashes may wait for a slot; 0 means 32 per
	// concurrent hash and at least 64, negative none.
	Queue int
	// Wait is the longest a hash waits for a slot; 0 means 3s.
	Wait time.Duration
}

// hasherRetryAfter is the Retry-After of a refused hash: a queue of the
// default size drains in about a second on the reference machine.
const hasherRetryAfter = time.Second

// NewHasher returns a Hasher sized by opts.
func NewHasher(opts HasherOptions) *Hasher {
	if opts.Concurrent <= 0 {
		opts.Concurrent = max(runtime.GOMAXPROCS(0)-1, 1)
	}
	switch {
	case opts.Queue == 0:
		opts.Queue = max(32*opts.Concurrent, 64)
	case opts.Queue < 0:
		opts.Queue = 0
	}
	if opts.Wait <= 0 {
		opts.Wait = 3 * time.Second
	}
	return &Hasher{slots: make(chan struct{}, opts.Concurrent), queue: int64(opts.Queue), wait: opts.Wait}
}

// errHasherBusy is the error of a hash refused for want of a slot.
func errHasherBusy() error {
	return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "Too many sign-ins at once; try again shortly.",
		RetryAfter: hasherRetryAfter}
}

// Acquire takes a slot for one hash, waiting in the queue when all are
// taken, and returns the function that gives it back. It returns
// EUNAVAILABLE (with RetryAfter) when the queue is full or the wait
// passes, and ctx's error when ctx ends first.
func (h *Hasher) Acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	if h.waiting.Add(1) > h.queue {
		h.waiting.Add(-1)
		return nil, errHasherBusy()
	}
	defer h.waiting.Add(-1)
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
		return nil, errHasherBusy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash is HashPassword in a slot.
func (h *Hasher) Hash(ctx context.Context, pw string) (hash string, err error) {
	if err := h.run(ctx, func() { hash, err = HashPassword(pw) }); err != nil {
		return "", err
	}
	return hash, err
}

// Verify is VerifyPassword in a slot.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (ok bool, err error) {
	if err := h.run(ctx, func() { ok, err = VerifyPassword(encoded, pw) }); err != nil {
		return false, err
	}
	return ok, err
}

// run runs one hash in a slot.
func (h *Hasher) run(ctx context.Context, hash func()) error {
	release, err := h.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.hashes.Add(1)
	hash()
	return nil
}

// Hashes returns how many hashes h has run.
func (h *Hasher) Hashes() int64 { return h.hashes.Load() }
