package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// HasPermission reports whether the member userID of the tenant ctx
// carries holds permission on obj: directly, through one of their groups,
// or by an object grant to them or one of their groups. The rules above
// it (owners, admins, caching) are internal/auth's.
func (s *AuthStore) HasPermission(ctx context.Context, userID int64, permission string, obj taruvi.Object) (bool, error) {
	var ok bool
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, hasPermissionSQL, permission, userID, obj.Type, obj.ID).Scan(&ok)
	})
	return ok, err
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
