package auth

import (
	"testing"
	"time"

	"taruvi"
)

// TestSessionCacheByIncarnation: a session cached in one incarnation of a
// tenant is unknown in the next one of the same schema name, and a
// tenant's deletion forgets its sessions and revoked marks but no other
// tenant's, whatever their ids have in common.
func TestSessionCacheByIncarnation(t *testing.T) {
	t.Parallel()
	c := newSessionCache(time.Minute, 100)
	old := &taruvi.Tenant{ID: 1, Schema: "delta"}
	again := &taruvi.Tenant{ID: 2, Schema: "delta"}
	other := &taruvi.Tenant{ID: 12, Schema: "echo"}
	owner := &taruvi.Principal{UserID: 1, Audience: "delta", IsOwner: true}
	_, _, gen, _ := c.get(old.ScopeKey() + "|s1")
	c.put(old.ScopeKey()+"|s1", owner, gen, time.Time{})
	c.put(other.ScopeKey()+"|s1", &taruvi.Principal{UserID: 1, Audience: "echo"}, gen, time.Time{})
	c.revoke(old.ScopeKey() + "|s2")
	c.revoke(other.ScopeKey() + "|s2")
	if _, state, _, _ := c.get(old.ScopeKey() + "|s1"); state != sessionValid {
		t.Fatalf("the old tenant's session: state %d, want valid", state)
	}
	if p, state, _, _ := c.get(again.ScopeKey() + "|s1"); state != sessionUnknown || p != nil {
		t.Fatalf("the same session id in the tenant created again: state %d, principal %+v; want unknown", state, p)
	}

	c.apply("t|" + old.ScopeKey())
	for _, sid := range []string{"s1", "s2"} {
		if _, state, _, _ := c.get(old.ScopeKey() + "|" + sid); state != sessionUnknown {
			t.Errorf("the deleted tenant's %s: state %d, want forgotten", sid, state)
		}
	}
	if _, state, _, _ := c.get(other.ScopeKey() + "|s1"); state != sessionValid {
		t.Errorf("tenant 12's live session after tenant 1's deletion: state %d, want valid", state)
	}
	if _, state, _, _ := c.get(other.ScopeKey() + "|s2"); state != sessionRevoked {
		t.Errorf("tenant 12's revoked session after tenant 1's deletion: state %d, want revoked", state)
	}
}

// TestSessionCacheEnds checks that an entry put with the session's end is
// forgotten at that end, and says when it is.
func TestSessionCacheEnds(t *testing.T) {
	t.Parallel()
	c := newSessionCache(time.Minute, 100)
	p := &taruvi.Principal{UserID: 1}
	_, _, gen, _ := c.get("s|a")
	ends := time.Now().Add(50 * time.Millisecond)
	c.put("s|a", p, gen, ends)
	c.put("s|b", p, gen, time.Time{})
	if _, state, _, got := c.get("s|a"); state != sessionValid || !got.Equal(ends) {
		t.Fatalf("state %d, ends %v; want valid, %v", state, got, ends)
	}
	if _, state, _, got := c.get("s|b"); state != sessionValid || !got.IsZero() {
		t.Fatalf("without an end: state %d, ends %v; want valid, zero", state, got)
	}
	time.Sleep(80 * time.Millisecond)
	if _, state, _, _ := c.get("s|a"); state != sessionUnknown {
		t.Errorf("after the session's end: state %d, want unknown", state)
	}
	if _, state, _, _ := c.get("s|b"); state != sessionValid {
		t.Errorf("an entry without an end: state %d, want valid for the cache's ttl", state)
	}
}
