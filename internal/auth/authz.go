package auth

import (
	"context"
	"log/slog"
	"strconv"

	"taruvi"
)

// PermissionStore answers whether a member of the tenant in ctx holds a
// permission, directly, through a group or by an object grant
// (postgres.AuthStore).
type PermissionStore interface {
	HasPermission(ctx context.Context, userID int64, permission string, obj taruvi.Object) (bool, error)
}

// AuthzNamespace is the cache namespace of permission answers.
const AuthzNamespace = "authz"

// Authz implements taruvi.Authorizer: platform admins on the platform,
// owners in their tenant, and members through direct permissions, their
// groups' permissions and object grants.
type Authz struct {
	store PermissionStore
	log   *slog.Logger // security events
	cache taruvi.Cache // nil: ask the store every time
}

var _ taruvi.Authorizer = (*Authz)(nil)

// NewAuthz returns the authorizer over store; denials are logged to log
// as security events. cache, when not nil, remembers answers per tenant in
// the AuthzNamespace namespace; whoever passes it must forget that
// namespace whenever the tenant is written to (cache.Options.ForgetOnWrite, on the change feed).
func NewAuthz(store PermissionStore, log *slog.Logger, cache taruvi.Cache) *Authz {
	return &Authz{store: store, log: log, cache: cache}
}

// Can implements taruvi.Authorizer.
func (a *Authz) Can(ctx context.Context, permission string, obj taruvi.Object) error {
	p := taruvi.PrincipalFromContext(ctx)
	switch {
	case p == nil:
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case p.Audience != taruvi.AudienceFromContext(ctx):
		// Authentication binds a principal to its scope; this is a bug guard.
		return a.deny(ctx, p, permission, obj)
	case p.IsAdmin && taruvi.TenantFromContext(ctx) == nil:
		return nil
	case p.IsOwner && taruvi.TenantFromContext(ctx) != nil:
		return nil
	case taruvi.TenantFromContext(ctx) == nil:
		return a.deny(ctx, p, permission, obj)
	}
	ok, err := a.hasPermission(ctx, p, permission, obj)
	if err != nil {
		return err
	}
	if !ok {
		return a.deny(ctx, p, permission, obj)
	}
	return nil
}

// hasPermission asks the store whether the member p holds permission on
// obj, or the cache when it remembers the answer. The tenant is part of
// every cache key by construction; the key names the user, the permission
// and the object.
func (a *Authz) hasPermission(ctx context.Context, p *taruvi.Principal, permission string, obj taruvi.Object) (bool, error) {
	key := strconv.FormatInt(p.UserID, 10) + "|" + permission + "|" + obj.Type + "|" + obj.ID
	var gen string
	if a.cache != nil {
		if v, found := a.cache.Get(ctx, AuthzNamespace, key); found && len(v) == 1 {
			return v[0] == '1', nil
		}
		gen = a.cache.Generation(ctx, AuthzNamespace)
	}
	ok, err := a.store.HasPermission(ctx, p.UserID, permission, obj)
	if err != nil {
		return false, err
	}
	if a.cache != nil {
		v := []byte{'0'}
		if ok {
			v[0] = '1'
		}
		a.cache.Set(ctx, AuthzNamespace, key, v, gen)
	}
	return ok, nil
}

// RequireOwner implements taruvi.Authorizer: tenant owners and platform
// admins only.
func (a *Authz) RequireOwner(ctx context.Context) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	if (p.IsOwner && taruvi.TenantFromContext(ctx) != nil) || (p.IsAdmin && taruvi.TenantFromContext(ctx) == nil) {
		return nil
	}
	return a.deny(ctx, p, "owner", taruvi.Object{})
}

func (a *Authz) deny(ctx context.Context, p *taruvi.Principal, permission string, obj taruvi.Object) error {
	a.log.WarnContext(ctx, "permission denied", "category", "security", "event", "permission_denied",
		"request_id", taruvi.RequestIDFromContext(ctx), "tenant", p.Audience, "user_id", p.UserID,
		"permission", permission, "object_type", obj.Type, "object_id", obj.ID)
	return taruvi.Errorf(taruvi.EFORBIDDEN, "You do not have permission to perform this action.")
}
