package postgres

import (
	"strconv"
	"testing"
	"time"

	"taruvi"
)

// TestReadCacheForget: a deleted tenant, as the feed tells it, loses its
// answers; other tenants keep theirs.
func TestReadCacheForget(t *testing.T) {
	t.Parallel()
	feed := newFeed(nil)
	c := newReadCache(time.Minute, 100, nil, feed)
	now := time.Now()
	c.put("t1", "t1|page", 0, "of tenant 1", now)
	c.put("t12", "t12|page", 0, "of tenant 12", now)
	feed.deliver(taruvi.Change{Kind: taruvi.ChangeDeleted, Scope: "t1"})
	if _, _, ok := c.get("t1", "t1|page", now); ok {
		t.Error("the deleted tenant's page is still served")
	}
	if _, ok := c.entries["t1|page"]; ok {
		t.Error("the deleted tenant's page is still held")
	}
	if v, _, ok := c.get("t12", "t12|page", now); !ok || v != "of tenant 12" {
		t.Errorf("tenant 12's page after tenant 1's deletion: %v %v", v, ok)
	}
}

// TestReadCacheForgetsDeletedTenants: forgetting deleted tenants drops
// their generations, and an answer read before the forgetting is refused,
// whether the tenant was written to or not; other tenants keep theirs.
func TestReadCacheForgetsDeletedTenants(t *testing.T) {
	t.Parallel()
	feed := newFeed(nil)
	c := newReadCache(time.Minute, 1000, nil, feed)
	now := time.Now()
	feed.wrote("t10")
	for i := 1; i <= 50; i++ {
		if i == 10 {
			continue
		}
		scope := "t" + strconv.Itoa(i)
		if i%2 == 0 {
			feed.wrote(scope)
		}
		_, gen, _ := c.get(scope, scope+"|page", now) // a query begins
		feed.deliver(taruvi.Change{Kind: taruvi.ChangeDeleted, Scope: scope})
		c.put(scope, scope+"|page", gen, "read before the tenant was deleted", now)
		if v, _, ok := c.get(scope, scope+"|page", now); ok {
			t.Errorf("%s: an answer read before the tenant was forgotten was stored: %v", scope, v)
		}
	}
	if len(c.gens) != 1 {
		t.Errorf("%d generations kept after 49 tenants were forgotten, want 1", len(c.gens))
	}
	_, gen, _ := c.get("t10", "t10|page", now)
	c.put("t10", "t10|page", gen, "kept", now)
	if v, _, ok := c.get("t10", "t10|page", now); !ok || v != "kept" {
		t.Errorf("a tenant not forgotten: %v, %v", v, ok)
	}
}

// TestReadCacheWrittenAndReset: a write, local or announced, refuses the
// answers read before it; a reset drops every answer.
func TestReadCacheWrittenAndReset(t *testing.T) {
	t.Parallel()
	feed := newFeed(nil)
	c := newReadCache(time.Minute, 100, nil, feed)
	now := time.Now()
	_, gen, _ := c.get("t1", "t1|page", now)
	feed.wrote("t1")
	c.put("t1", "t1|page", gen, "read before the write", now)
	if _, _, ok := c.get("t1", "t1|page", now); ok {
		t.Error("an answer read before a write was stored")
	}
	for _, change := range decodeChanges(ChangesChannel, "elsewhere:t1,t2", feed.origin) {
		_, gen, _ := c.get(change.Scope, "page", now)
		c.put(change.Scope, "page", gen, "current", now)
		feed.deliver(change)
		if _, _, ok := c.get(change.Scope, "page", now); ok {
			t.Errorf("%s: an answer survived another process's write", change.Scope)
		}
	}
	_, gen, _ = c.get("t3", "t3|page", now)
	c.put("t3", "t3|page", gen, "current", now)
	feed.deliver(taruvi.Change{Kind: taruvi.ChangeReset})
	if len(c.entries) != 0 {
		t.Errorf("%d answers held after a reset, want none", len(c.entries))
	}
}
