package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	probe := newBenchClient(base, host, 1)
	defer probe.close()
	pair, err := probe.signIn(ctx, bodies[0])
	if err != nil {
		return err
	}
	quiet, err := otherRequests(ctx, probe, pair.Access, d/2, nil)
	if err != nil {
		return err
	}
	r.OtherP99MS = ms(percentile(quiet, 99))
	var next atomic.Int64
	for _, clients := range signInLevels {
		c := newBenchClient(base, host, clients)
		var ok []time.Duration
		var took time.Duration
		var refused int
		storm := func() error {
			var err error
			ok, took, refused, err = signInStorm(ctx, c, clients, d, func() []byte { return bodies[int(next.Add(1)-1)%len(bodies)] })
			return err
		}
		var during []time.Duration
		if clients == 16 {
			during, err = otherRequests(ctx, probe, pair.Access, d, storm)
		} else {
			err = storm()
		}
		c.close()
		if err != nil {
			return fmt.Errorf("%d clients signing in: %w", clients, err)
		}
		if clients == 16 {
			r.LoginC16OtherP99MS = ms(percentile(during, 99))
		}
		perS := rate(len(ok), took)
		switch clients {
		case 2:
			r.LoginC2PerS = perS
		case 16:
			r.LoginC16PerS = perS
			r.LoginC16P99MS = ms(percentile(ok, 99))
		case 64:
			r.LoginC64PerS = perS
		}
		r.LoginRefused += refused
	}
	r.LoginRSSGrowthMB = round(float64(max(peak.stop()-baseline, 0))/(1<<20), 10)
	return nil
}

// otherRequests asks for the signed-in user (GET /api/users/me, no
// password hash) every 5 ms for d, while alongside runs (when not nil),
// and returns the latencies: what a request that is not a sign-in sees.
func otherRequests(ctx context.Context, c *benchClient, access string, d time.Duration, alongside func() error) ([]time.Duration, error) {
	var other error
	var wg sync.WaitGroup
	if alongside != nil {
		wg.Go(func() { other = alongside() })
	}
	var lat []time.Duration
	var err error
	for deadline := time.Now().Add(d); err == nil && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		t0 := time.Now()
		if err = c.get(ctx, "/api/users/me", access); err == nil {
			lat = append(lat, time.Since(t0))
		}
	}
	wg.Wait()
	return lat, cmpFirst(other, err)
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

// get asks for path with the access token and expects 200.
func (c *benchClient) get(ctx context.Context, path, access string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Host = c.host
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	return nil
}

// ms is d in milliseconds, to a tenth.
func ms(d time.Duration) float64 { return round(float64(d.Microseconds())/1000, 10) }

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
