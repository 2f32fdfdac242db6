package redis_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
)

// BenchmarkMemoryLimiter is one in-process GCRA decision.
func BenchmarkMemoryLimiter(b *testing.B) {
	l := redis.NewMemoryLimiter()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		_, _ = l.Allow(ctx, "ip:api:192.0.2."+strconv.Itoa(i%250), ten)
		i++
	}
}

// BenchmarkRedisLimiter is one shared GCRA decision: a round trip to Redis
// running the limiter's script.
func BenchmarkRedisLimiter(b *testing.B) {
	srv := redistest.Start(b)
	c, err := redis.Open(context.Background(), srv.URL(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	l := redis.NewLimiter(c)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := l.Allow(ctx, "ip:api:192.0.2."+strconv.Itoa(i%250), ten); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
