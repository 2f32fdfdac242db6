package taruvi

import "context"

// ChangeKind names what a Change reports. Each kind says which fields of
// the Change it fills.
type ChangeKind string

// The kinds of change every cache of tenant data follows. Scope is always
// a scope key (Tenant.ScopeKey, or PlatformAudience), never a schema name:
// a tenant created again under a deleted one's schema has another key, so
// nothing remembered of the old one can answer for it.
const (
	// ChangeTenancy: a tenant or a domain was created, changed or removed
	// (announced by triggers on the platform tables). No other field is
	// set: whoever remembers host or schema lookups forgets them all.
	ChangeTenancy ChangeKind = "tenancy"
	// ChangeWritten: a committed transaction wrote data of the tenant of
	// scope key Scope. Whatever was read of that tenant is stale.
	ChangeWritten ChangeKind = "written"
	// ChangeDeleted: the tenant of scope key Scope was deleted. Its key is
	// never used again, so everything kept under it can go.
	ChangeDeleted ChangeKind = "deleted"
	// ChangeSessionRevoked: session Key (its id) of scope Scope ended: a
	// logout, a revocation, a reused refresh token.
	ChangeSessionRevoked ChangeKind = "session"
	// ChangeUserChanged: user Key (its id, in decimal) of scope Scope
	// changed (password, flags, deactivation), so what was remembered
	// about the user's sessions is stale.
	ChangeUserChanged ChangeKind = "user"
	// ChangeInvalidated: cache namespace Key of scope Scope has the new
	// generation Value (see Cache.Invalidate).
	ChangeInvalidated ChangeKind = "cache"
	// ChangeReset: changes may have been missed (the feed lost its
	// connection, or has just made it). No other field is set: forget
	// everything.
	ChangeReset ChangeKind = "reset"
)

// Change is one event of the change feed. Which fields are set depends on
// Kind; none holds the separators "|", "," or ":".
type Change struct {
	Kind  ChangeKind
	Scope string // a scope key
	Key   string // a session id, a user id or a cache namespace
	Value string // a cache generation
}

// ChangeFeed carries the changes of tenant data that every replica's
// caches follow: tenant resolution, sessions, read pages, permissions and
// the shared cache all hear the same changes in the same way.
type ChangeFeed interface {
	// Subscribe has fn hear every change from now on, from this process
	// and from every other, until the process ends. A cache subscribes in
	// its constructor, before it holds anything, so it needs none of the
	// changes before. fn runs on the goroutine that made or received the
	// change: it must be quick and must not block.
	Subscribe(fn func(Change))
	// Publish announces c to every replica, this one included, once the
	// feed's own connection has sent it. ChangeReset cannot be published.
	Publish(ctx context.Context, c Change) error
}
