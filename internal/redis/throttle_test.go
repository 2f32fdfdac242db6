package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
)

func TestMemoryThrottle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	th := redis.NewMemoryThrottle(3, time.Minute)
	for i := range 3 {
		if wait := th.Blocked(ctx, "k"); wait != 0 {
			t.Fatalf("blocked for %v after %d failures, want 0", wait, i)
		}
		th.Fail(ctx, "k")
	}
	if wait := th.Blocked(ctx, "k"); wait <= 0 || wait > time.Minute {
		t.Fatalf("after 3 failures: wait %v, want up to a minute", wait)
	}
	if wait := th.Blocked(ctx, "other"); wait != 0 {
		t.Errorf("another key is blocked for %v", wait)
	}
	th.Reset(ctx, "k")
	if wait := th.Blocked(ctx, "k"); wait != 0 {
		t.Errorf("after a reset: wait %v, want 0", wait)
	}
}

// TestRedisThrottleShared: two replicas count one key's failures together,
// a success on either clears them, and with Redis away each replica still
// throttles on what it saw.
func TestRedisThrottleShared(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	c1, c2 := openClient(t, srv), openClient(t, srv)
	t1, t2 := redis.NewThrottle(c1, "accounts", 3, time.Minute), redis.NewThrottle(c2, "accounts", 3, time.Minute)
	other := redis.NewThrottle(c2, "addresses", 3, time.Minute)
	key := "acme|ann@example.test-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	t1.Fail(ctx, key)
	t2.Fail(ctx, key)
	if wait := t1.Blocked(ctx, key); wait != 0 {
		t.Fatalf("after 2 failures: blocked for %v", wait)
	}
	t2.Fail(ctx, key)
	for i, th := range []*redis.Throttle{t1, t2} {
		if wait := th.Blocked(ctx, key); wait <= 50*time.Second || wait > time.Minute {
			t.Errorf("replica %d after 3 failures over two replicas: wait %v, want about a minute", i+1, wait)
		}
	}
	if wait := other.Blocked(ctx, key); wait != 0 {
		t.Errorf("a throttle of another name shares the count: blocked for %v", wait)
	}
	t2.Reset(ctx, key)
	if wait := t1.Blocked(ctx, key); wait != 0 {
		t.Errorf("after a success on the other replica: blocked for %v", wait)
	}

	srv.Stop()
	down := "down-" + key
	for range 3 {
		t1.Fail(ctx, down)
	}
	if wait := t1.Blocked(ctx, down); wait <= 0 {
		t.Error("Redis down: 3 failures on this replica do not block it")
	}
	if c1.Available() {
		t.Error("client still available after a failed command")
	}
	if wait := t2.Blocked(ctx, down); wait != 0 {
		t.Errorf("Redis down: the other replica, which saw none of them, blocks for %v", wait)
	}
}
