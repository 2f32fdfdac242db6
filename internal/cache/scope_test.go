package cache

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"taruvi"
	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
)

// TestDropScope: dropping a deleted tenant's scope drops every generation
// kept of it, and nothing of another tenant's (though its key starts the
// same), and a value read before the drop is not stored after it, with
// Redis and without.
func TestDropScope(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client, err := redis.Open(context.Background(), srv.URL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	for name, remote := range map[string]Remote{"memory": nil, "redis": client} {
		t.Run(name, func(t *testing.T) {
			c := New(Options{Remote: remote})
			tenant := func(id int64) context.Context {
				return taruvi.NewContextWithTenant(context.Background(), &taruvi.Tenant{ID: id, Schema: "t_" + name})
			}
			kept := tenant(10)
			c.Generation(kept, "ns")
			var reads []string
			for id := int64(1); id <= 50; id++ {
				ctx := tenant(id)
				reads = append(reads, c.Generation(ctx, "ns"))
				c.forget(taruvi.ScopeKeyFromContext(ctx), "other")
			}
			for id := int64(1); id <= 50; id++ {
				if id != 10 {
					c.dropScope("t" + strconv.FormatInt(id, 10))
				}
			}
			c.mu.Lock()
			left := len(c.gens)
			c.mu.Unlock()
			if left != 2 {
				t.Errorf("%d generations left after 49 tenants were dropped, want tenant 10's 2", left)
			}
			c.Set(tenant(1), "ns", "page", []byte("read before the drop"), reads[0])
			if v, ok := c.Get(tenant(1), "ns", "page"); ok {
				t.Errorf("a value read before the drop was stored: %q", v)
			}
			c.Set(kept, "ns", "page", []byte("kept"), reads[9])
			if v, ok := c.Get(kept, "ns", "page"); !ok || string(v) != "kept" {
				t.Errorf("tenant 10 after the others were dropped: %q, %v", v, ok)
			}
		})
	}
}
