package redis_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
)

var ten = taruvi.RateLimit{Limit: 10, Window: time.Minute}

// allowN sends n requests for key and returns how many were allowed.
func allowN(t *testing.T, l taruvi.RateLimiter, key string, n int) (allowed int, last taruvi.RateDecision) {
	t.Helper()
	for range n {
		d, err := l.Allow(context.Background(), key, ten)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
		last = d
	}
	return allowed, last
}

func TestMemoryLimiter(t *testing.T) {
	t.Parallel()
	l := redis.NewMemoryLimiter()
	if n, last := allowN(t, l, "a", 10); n != 10 || last.Remaining != 0 || last.Limit != 10 {
		t.Fatalf("first 10: %d allowed, last %+v", n, last)
	}
	d, _ := l.Allow(context.Background(), "a", ten)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 6*time.Second {
		t.Errorf("11th: %+v, want refused with a retry of up to 6s", d)
	}
	if n, _ := allowN(t, l, "b", 1); n != 1 {
		t.Error("another key is limited too")
	}
}

// TestRedisLimiterShared checks that two limiters (two replicas) over one
// Redis share their counts, and that a Redis stopped and restarted mid-way
// only moves the counting in process, never fails.
func TestRedisLimiterShared(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c1, c2 := openClient(t, srv), openClient(t, srv)
	l1, l2 := redis.NewLimiter(c1), redis.NewLimiter(c2)
	key := "shared-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	n1, _ := allowN(t, l1, key, 5)
	n2, _ := allowN(t, l2, key, 5)
	if n1+n2 != 10 {
		t.Fatalf("10 requests over two replicas: %d allowed", n1+n2)
	}
	if d, _ := l2.Allow(context.Background(), key, ten); d.Allowed {
		t.Fatal("the 11th on the second replica was allowed")
	}
	if d, _ := l1.Allow(context.Background(), key, ten); d.Allowed {
		t.Fatal("the 11th on the first replica was allowed")
	}

	srv.Stop()
	d, err := l1.Allow(context.Background(), "down-"+key, ten)
	if err != nil || !d.Allowed {
		t.Fatalf("Redis down: %+v %v, want allowed from memory", d, err)
	}
	if c1.Available() {
		t.Error("client still available after a failed command")
	}
	srv.Restart()
	if err := c1.Ping(context.Background()); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	if !c1.Available() {
		t.Error("client not available after Redis returned")
	}
	back := "back-" + key
	allowN(t, l1, back, 10)
	if d, _ := l2.Allow(context.Background(), back, ten); d.Allowed {
		t.Error("after the restart, counts are not shared again")
	}
}

// openClient connects to srv as one replica would.
func openClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c, err := redis.Open(context.Background(), srv.URL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
