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
	_, _, gen := c.get(old.ScopeKey() + "|s1")
	c.put(old.ScopeKey()+"|s1", owner, gen)
	c.put(other.ScopeKey()+"|s1", &taruvi.Principal{UserID: 1, Audience: "echo"}, gen)
	c.revoke(old.ScopeKey() + "|s2")
	c.revoke(other.ScopeKey() + "|s2")
	if _, state, _ := c.get(old.ScopeKey() + "|s1"); state != sessionValid {
		t.Fatalf("the old tenant's session: state %d, want valid", state)
	}
	if p, state, _ := c.get(again.ScopeKey() + "|s1"); state != sessionUnknown || p != nil {
		t.Fatalf("the same session id in the tenant created again: state %d, principal %+v; want unknown", state, p)
	}

	c.apply("t|" + old.ScopeKey())
	for _, sid := range []string{"s1", "s2"} {
		if _, state, _ := c.get(old.ScopeKey() + "|" + sid); state != sessionUnknown {
			t.Errorf("the deleted tenant's %s: state %d, want forgotten", sid, state)
		}
	}
	if _, state, _ := c.get(other.ScopeKey() + "|s1"); state != sessionValid {
		t.Errorf("tenant 12's live session after tenant 1's deletion: state %d, want valid", state)
	}
	if _, state, _ := c.get(other.ScopeKey() + "|s2"); state != sessionRevoked {
		t.Errorf("tenant 12's revoked session after tenant 1's deletion: state %d, want revoked", state)
	}
}
