package token_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// TestHasherBound: however many callers hash at once, no more than the
// bound hold a slot, and every caller that fits in the queue gets one.
func TestHasherBound(t *testing.T) {
	t.Parallel()
	const bound, callers = 3, 40
	h := token.NewHasher(token.HasherOptions{Concurrent: bound, Queue: callers, Wait: time.Minute})
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			release, err := h.Acquire(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer release()
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			inFlight.Add(-1)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a caller within the queue was refused: %v", err)
	}
	if p := peak.Load(); p != bound {
		t.Errorf("peak in flight = %d, want %d", p, bound)
	}
}

// TestHasherRealHashesBound: real argon2id hashes from many goroutines
// run at most the bound at a time, and all finish.
func TestHasherRealHashesBound(t *testing.T) {
	t.Parallel()
	h := token.NewHasher(token.HasherOptions{Concurrent: 1, Queue: 16, Wait: time.Minute})
	hold, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 4)
	for range 4 {
		go func() { _, err := h.Hash(context.Background(), "correct horse battery"); done <- err }()
	}
	select {
	case err := <-done:
		t.Fatalf("a hash ran while the only slot was held (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	hold()
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestHasherRefuses: a full queue refuses at once and a wait past the
// deadline refuses, both with EUNAVAILABLE and a Retry-After; a caller
// whose context ends gets its error.
func TestHasherRefuses(t *testing.T) {
	t.Parallel()
	h := token.NewHasher(token.HasherOptions{Concurrent: 1, Queue: 1, Wait: 100 * time.Millisecond})
	hold, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	busy := func(err error) bool {
		var e *taruvi.Error
		return errors.As(err, &e) && e.Code == taruvi.EUNAVAILABLE && e.RetryAfter >= time.Second
	}
	start := time.Now()
	queued := make(chan error, 1)
	go func() {
		_, err := h.Verify(context.Background(), "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "pw")
		queued <- err
	}()
	time.Sleep(20 * time.Millisecond) // the first waiter fills the queue
	if _, err := h.Hash(context.Background(), "password"); !busy(err) {
		t.Errorf("full queue: %v, want EUNAVAILABLE with RetryAfter", err)
	}
	if time.Since(start) > 90*time.Millisecond {
		t.Errorf("a full queue refused after %v, want at once", time.Since(start))
	}
	if err := <-queued; !busy(err) {
		t.Errorf("past the deadline: %v, want EUNAVAILABLE with RetryAfter", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("refused after %v, before the 100ms deadline", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Verify(ctx, "", "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want context.Canceled", err)
	}
}
