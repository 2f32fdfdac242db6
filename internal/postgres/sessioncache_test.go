package postgres

import (
	"strconv"
	"testing"
	"time"
)

// TestReadCacheForget: forgetting a deleted tenant drops its answers,
// tells the followers, and leaves other tenants' answers.
func TestReadCacheForget(t *testing.T) {
	t.Parallel()
	c := newReadCache(time.Minute, 100)
	var told []string
	c.onChange = append(c.onChange, func(scope string) { told = append(told, scope) })
	now := time.Now()
	c.put("t1", "t1|page", 0, "of tenant 1", now)
	c.put("t12", "t12|page", 0, "of tenant 12", now)
	c.forget("t1")
	if _, _, ok := c.get("t1", "t1|page", now); ok {
		t.Error("the deleted tenant's page is still served")
	}
	if _, ok := c.entries["t1|page"]; ok {
		t.Error("the deleted tenant's page is still held")
	}
	if v, _, ok := c.get("t12", "t12|page", now); !ok || v != "of tenant 12" {
		t.Errorf("tenant 12's page after tenant 1's deletion: %v %v", v, ok)
	}
	if len(told) != 1 || told[0] != "t1" {
		t.Errorf("followers were told %v, want [t1]", told)
	}
}

// TestReadCacheForgetsDeletedTenants: forgetting deleted tenants drops
// their generations, and an answer read before the forgetting is refused,
// whether the tenant was written to or not; other tenants keep theirs.
// The followers of changes hear of each deletion, then those of deletions.
func TestReadCacheForgetsDeletedTenants(t *testing.T) {
	t.Parallel()
	c := newReadCache(time.Minute, 1000)
	var told []string
	c.onChange = append(c.onChange, func(scope string) { told = append(told, "changed "+scope) })
	c.onDelete = append(c.onDelete, func(scope string) { told = append(told, "deleted "+scope) })
	now := time.Now()
	c.changed("t10", false)
	for i := 1; i <= 50; i++ {
		if i == 10 {
			continue
		}
		scope := "t" + strconv.Itoa(i)
		if i%2 == 0 {
			c.changed(scope, false)
		}
		_, gen, _ := c.get(scope, scope+"|page", now) // a query begins
		c.forget(scope)
		if n := len(told); n < 2 || told[n-2] != "changed "+scope || told[n-1] != "deleted "+scope {
			t.Errorf("followers were told %q, want a change, then a deletion of %s", told, scope)
		}
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
