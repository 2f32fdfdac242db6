package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"taruvi"
)

// signInLevels are the numbers of clients signing in at once in the
// concurrent sign-in phase of `bench auth`.
var signInLevels = [...]int{2, 16, 64}

// statusError is a non-200 answer of the server under test.
type statusError struct {
	status     int
	retryAfter time.Duration
	msg        string
}

func (e *statusError) Error() string { return e.msg }

// benchConcurrentSignIns signs users in with 2, 16 and 64 clients at once,
// each level for d, and records successful sign-ins per second at each, the
// p99 at 16 and the peak growth of this process's resident memory (the
// server runs in it) over the phase. A client answered 503 waits the
// Retry-After it was given and tries again, as clients of a real storm do;
// 503s are counted, never as successes.
func benchConcurrentSignIns(ctx context.Context, base, host string, bodies [][]byte, d time.Duration, r *authBenchResult) error {
	// Memory the runtime holds but does not use (from making the users)
	// goes back first, so the growth measured is what the phase needs.
	debug.FreeOSMemory()
	baseline, err := readRSS()
	if err != nil {
		return err
	}
	peak := newRSSPeak()
	defer peak.stop()
	var next atomic.Int64
	for _, clients := range signInLevels {
		c := newBenchClient(base, host, clients)
		ok, took, refused, err := signInStorm(ctx, c, clients, d, func() []byte { return bodies[int(next.Add(1)-1)%len(bodies)] })
		c.close()
		if err != nil {
			return fmt.Errorf("%d clients signing in: %w", clients, err)
		}
		perS := rate(len(ok), took)
		switch clients {
		case 2:
			r.LoginC2PerS = perS
		case 16:
			r.LoginC16PerS = perS
			r.LoginC16P99MS = round(float64(percentile(ok, 99).Microseconds())/1000, 10)
		case 64:
			r.LoginC64PerS = perS
		}
		r.LoginRefused += refused
	}
	r.LoginRSSGrowthMB = round(float64(max(peak.stop()-baseline, 0))/(1<<20), 10)
	return nil
}

// signInStorm has clients sign in over and over for d and returns the
// latencies of the sign-ins that succeeded, the time taken and how many
// were refused with 503. Any other failure ends the storm.
func signInStorm(ctx context.Context, c *benchClient, clients int, d time.Duration, body func() []byte) (ok []time.Duration, took time.Duration, refused int, err error) {
	var refusals atomic.Int64
	deadline := time.Now().Add(d)
	ok, took, _, err = phase(ctx, clients, d, func(ctx context.Context, _ int) error {
		_, err := c.pair(ctx, "/api/auth/jwt/token", body())
		var busy *statusError
		if errors.As(err, &busy) && busy.status == http.StatusServiceUnavailable {
			refusals.Add(1)
			time.Sleep(min(busy.retryAfter, time.Until(deadline)))
			return errNotCounted
		}
		return err
	})
	return ok, took, int(refusals.Load()), err
}

// signIn posts a sign-in until it is not refused with 503, waiting the
// Retry-After of each refusal, as clients of a real storm do.
func (c *benchClient) signIn(ctx context.Context, body []byte) (*taruvi.TokenPair, error) {
	for {
		p, err := c.pair(ctx, "/api/auth/jwt/token", body)
		var busy *statusError
		if !errors.As(err, &busy) || busy.status != http.StatusServiceUnavailable {
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(busy.retryAfter):
		}
	}
}

// rssPeak samples this process's resident memory until stopped and keeps
// the highest value, in bytes.
type rssPeak struct {
	done chan struct{}
	once sync.Once
	max  atomic.Int64
	wg   sync.WaitGroup
}

func newRSSPeak() *rssPeak {
	p := &rssPeak{done: make(chan struct{})}
	p.wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := readRSS(); err == nil && n > p.max.Load() {
				p.max.Store(n)
			}
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	})
	return p
}

// stop ends the sampling and returns the peak.
func (p *rssPeak) stop() int64 {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
	return p.max.Load()
}

// readRSS returns VmRSS of this process, in bytes.
func readRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read resident memory: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read resident memory: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read resident memory: no VmRSS in /proc/self/status")
}
