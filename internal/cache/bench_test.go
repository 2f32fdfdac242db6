package cache_test

import (
	"strconv"
	"testing"

	"taruvi"
	"taruvi/internal/redis/redistest"
)

// BenchmarkGetMemory is a hit of the in-process tier: the cost a cached
// first page saves a database round trip for.
func BenchmarkGetMemory(b *testing.B) {
	var r replicas
	c := r.add(nil)
	ctx := tenantCtx(1, "acme")
	set(c, ctx, "k", "a first page of projects")
	for b.Loop() {
		if _, ok := c.Get(ctx, "ns", "k"); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkGetRedis is a miss of the in-process tier served by Redis.
func BenchmarkGetRedis(b *testing.B) {
	srv := redistest.Start(b)
	client := openRedis(b, srv)
	var r replicas
	writer, reader := r.add(client), r.add(client)
	ctx := tenantCtx(1, "acme")
	const keys = 1 << 14
	for i := range keys {
		set(writer, ctx, strconv.Itoa(i), "a first page of projects")
	}
	i := 0
	for b.Loop() {
		r.feed.send(taruvi.Change{Kind: taruvi.ChangeReset}) // every read misses memory
		if _, ok := reader.Get(ctx, "ns", strconv.Itoa(i%keys)); !ok {
			b.Fatal("miss")
		}
		i++
	}
}
