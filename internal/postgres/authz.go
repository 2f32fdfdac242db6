package postgres

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Authz implements taruvi.Authorizer: platform admins on the platform,
// owners in their tenant, and members through direct permissions, their
// groups' permissions and object grants.
type Authz struct {
	db  *DB
	log *slog.Logger // security events
	// Cache, when set, remembers answers per tenant in the AuthzNamespace
	// namespace; whoever sets it must forget that namespace whenever the
	// tenant is written to (DB.OnTenantChange).
	Cache taruvi.Cache
}

// AuthzNamespace is the cache namespace of permission answers.
const AuthzNamespace = "authz"

var _ taruvi.Authorizer = (*Authz)(nil)

// NewAuthz returns the authorizer over db; denials are logged to log as
// security events.
func NewAuthz(db *DB, log *slog.Logger) *Authz { return &Authz{db: db, log: log} }

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

// hasPermission asks the database whether the member p holds permission
// on obj, or the cache when it remembers the answer. The tenant is part of
// every cache key by construction; the key names the user, the permission
// and the object.
func (a *Authz) hasPermission(ctx context.Context, p *taruvi.Principal, permission string, obj taruvi.Object) (bool, error) {
	key := strconv.FormatInt(p.UserID, 10) + "|" + permission + "|" + obj.Type + "|" + obj.ID
	var gen string
	if a.Cache != nil {
		if v, found := a.Cache.Get(ctx, AuthzNamespace, key); found && len(v) == 1 {
			return v[0] == '1', nil
		}
		gen = a.Cache.Generation(ctx, AuthzNamespace)
	}
	var ok bool
	err := a.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, hasPermissionSQL, permission, p.UserID, obj.Type, obj.ID).Scan(&ok)
	})
	if err != nil {
		return false, err
	}
	if a.Cache != nil {
		v := []byte{'0'}
		if ok {
			v[0] = '1'
		}
		a.Cache.Set(ctx, AuthzNamespace, key, v, gen)
	}
	return ok, nil
}

// hasPermissionSQL: does user $2 hold permission $1 directly, through a
// group, or on object ($3, $4) by a grant to them or one of their groups?
// An empty $4 is any object of type $3 (object ids are never empty).
const hasPermissionSQL = `SELECT EXISTS (
	SELECT 1 FROM permissions p WHERE p.codename = $1 AND (
		EXISTS (SELECT 1 FROM user_permissions up WHERE up.user_id = $2 AND up.permission_id = p.id)
		OR EXISTS (SELECT 1 FROM group_permissions gp JOIN user_groups ug ON ug.group_id = gp.group_id
			WHERE ug.user_id = $2 AND gp.permission_id = p.id)
		OR ($3 <> '' AND EXISTS (SELECT 1 FROM object_grants og
			WHERE og.permission_id = p.id AND og.object_type = $3 AND ($4 = '' OR og.object_id = $4)
			AND (og.user_id = $2 OR og.group_id IN (SELECT group_id FROM user_groups WHERE user_id = $2))))
	))`

// RequireOwner allows tenant owners and platform admins only.
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
