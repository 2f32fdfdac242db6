package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Groups, permissions and grants exist in tenants only; on the platform
// every user is an admin.
func requireTenant(ctx context.Context) error {
	if taruvi.TenantFromContext(ctx) == nil {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Groups and permissions exist on tenant hosts only.")
	}
	return nil
}

// ListGroups returns the tenant's groups with their permissions and members.
func (s *Users) ListGroups(ctx context.Context) ([]*taruvi.Group, error) {
	if err := requireTenant(ctx); err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, taruvi.PermViewGroup, taruvi.Object{}); err != nil {
		return nil, err
	}
	var groups []*taruvi.Group
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT g.id, g.name, g.created_at,
			coalesce((SELECT array_agg(p.codename ORDER BY p.codename) FROM group_permissions gp
				JOIN permissions p ON p.id = gp.permission_id WHERE gp.group_id = g.id), '{}'),
			coalesce((SELECT array_agg(ug.user_id ORDER BY ug.user_id) FROM user_groups ug WHERE ug.group_id = g.id), '{}')
			FROM groups g ORDER BY g.name`)
		var err error
		groups, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*taruvi.Group, error) {
			var g taruvi.Group
			err := row.Scan(&g.ID, &g.Name, &g.CreatedAt, &g.Permissions, &g.Members)
			return &g, err
		})
		return err
	})
	return groups, err
}

// CreateGroup adds a group.
func (s *Users) CreateGroup(ctx context.Context, name string) (*taruvi.Group, error) {
	if err := requireTenant(ctx); err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, taruvi.PermManageGroup, taruvi.Object{}); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 150 {
		return nil, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid group.", Fields: map[string]string{"name": "Use 1 to 150 characters."}}
	}
	g := &taruvi.Group{Name: name, Permissions: []string{}, Members: []int64{}}
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO groups (name) VALUES ($1) RETURNING id, created_at`, name).Scan(&g.ID, &g.CreatedAt)
		if taruvi.ErrorCode(translate(err)) == taruvi.ECONFLICT {
			return taruvi.Errorf(taruvi.ECONFLICT, "A group named %q exists already.", name)
		}
		return err
	})
	return g, err
}

// DeleteGroup removes a group; its members lose what it granted.
func (s *Users) DeleteGroup(ctx context.Context, id int64) error {
	return s.groupExec(ctx, `DELETE FROM groups WHERE id = $1`, "Group not found.", id)
}

// AddGroupMember puts a user in a group.
func (s *Users) AddGroupMember(ctx context.Context, groupID, userID int64) error {
	return s.groupExec(ctx, `INSERT INTO user_groups (group_id, user_id)
		SELECT g.id, u.id FROM groups g, users u WHERE g.id = $1 AND u.id = $2
		ON CONFLICT DO NOTHING`, "", groupID, userID)
}

// RemoveGroupMember takes a user out of a group.
func (s *Users) RemoveGroupMember(ctx context.Context, groupID, userID int64) error {
	return s.groupExec(ctx, `DELETE FROM user_groups WHERE group_id = $1 AND user_id = $2`, "Membership not found.", groupID, userID)
}

// groupExec runs one statement that changes groups after the manage_group
// check. notFound, when set, is the message for a statement that changed
// nothing; AddGroupMember checks both ids exist instead.
func (s *Users) groupExec(ctx context.Context, sql, notFound string, args ...any) error {
	if err := requireTenant(ctx); err != nil {
		return err
	}
	if err := s.authz.Can(ctx, taruvi.PermManageGroup, taruvi.Object{}); err != nil {
		return err
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if notFound == "" {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1) AND EXISTS (SELECT 1 FROM users WHERE id = $2)`,
				args...).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return taruvi.Errorf(taruvi.ENOTFOUND, "Group or user not found.")
			}
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && notFound != "" && tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "%s", notFound)
		}
		return err
	})
}

// ListPermissions returns every permission the tenant's apps registered.
func (s *Users) ListPermissions(ctx context.Context) ([]taruvi.Permission, error) {
	if err := requireTenant(ctx); err != nil {
		return nil, err
	}
	if p := taruvi.PrincipalFromContext(ctx); p == nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	var perms []taruvi.Permission
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT codename, name FROM permissions ORDER BY codename`)
		var err error
		perms, err = pgx.CollectRows(rows, pgx.RowToStructByPos[taruvi.Permission])
		return err
	})
	return perms, err
}

// GrantPermission gives a user or a group a permission: model-wide when
// ObjectType is empty, else on one object.
func (s *Users) GrantPermission(ctx context.Context, g taruvi.ObjectGrant) (*taruvi.ObjectGrant, error) {
	if err := s.checkGrant(ctx, g); err != nil {
		return nil, err
	}
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var permID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM permissions WHERE codename = $1`, g.Permission).Scan(&permID); err != nil {
			if taruvi.ErrorCode(translate(err)) == taruvi.ENOTFOUND {
				return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid grant.", Fields: map[string]string{"permission": "Unknown permission."}}
			}
			return err
		}
		if err := grantTargetExists(ctx, tx, g); err != nil {
			return err
		}
		var err error
		switch {
		case g.ObjectType != "":
			err = tx.QueryRow(ctx, `INSERT INTO object_grants (user_id, group_id, permission_id, object_type, object_id)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id, created_at`,
				g.UserID, g.GroupID, permID, g.ObjectType, g.ObjectID).Scan(&g.ID, &g.CreatedAt)
			if taruvi.ErrorCode(translate(err)) == taruvi.ENOTFOUND {
				return taruvi.Errorf(taruvi.ECONFLICT, "This grant exists already.")
			}
		case g.UserID != nil:
			_, err = tx.Exec(ctx, `INSERT INTO user_permissions (user_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, *g.UserID, permID)
		default:
			_, err = tx.Exec(ctx, `INSERT INTO group_permissions (group_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, *g.GroupID, permID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// RevokeGrant takes back what GrantPermission gave.
func (s *Users) RevokeGrant(ctx context.Context, g taruvi.ObjectGrant) error {
	if err := s.checkGrant(ctx, g); err != nil {
		return err
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var sql string
		args := []any{g.Permission}
		switch {
		case g.ObjectType != "":
			sql = `DELETE FROM object_grants WHERE permission_id = (SELECT id FROM permissions WHERE codename = $1)
				AND user_id IS NOT DISTINCT FROM $2 AND group_id IS NOT DISTINCT FROM $3 AND object_type = $4 AND object_id = $5`
			args = append(args, g.UserID, g.GroupID, g.ObjectType, g.ObjectID)
		case g.UserID != nil:
			sql = `DELETE FROM user_permissions WHERE permission_id = (SELECT id FROM permissions WHERE codename = $1) AND user_id = $2`
			args = append(args, *g.UserID)
		default:
			sql = `DELETE FROM group_permissions WHERE permission_id = (SELECT id FROM permissions WHERE codename = $1) AND group_id = $2`
			args = append(args, *g.GroupID)
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Grant not found.")
		}
		return err
	})
}

// ListGrants returns every permission given, model-wide grants with an
// empty object type.
func (s *Users) ListGrants(ctx context.Context) ([]*taruvi.ObjectGrant, error) {
	if err := requireTenant(ctx); err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, taruvi.PermGrant, taruvi.Object{}); err != nil {
		return nil, err
	}
	var grants []*taruvi.ObjectGrant
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			SELECT og.id, og.user_id, og.group_id, p.codename, og.object_type, og.object_id, og.created_at
			FROM object_grants og JOIN permissions p ON p.id = og.permission_id
			UNION ALL
			SELECT 0, up.user_id, NULL, p.codename, '', '', NULL FROM user_permissions up JOIN permissions p ON p.id = up.permission_id
			UNION ALL
			SELECT 0, NULL, gp.group_id, p.codename, '', '', NULL FROM group_permissions gp JOIN permissions p ON p.id = gp.permission_id
			ORDER BY 4, 5, 6`)
		var err error
		grants, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*taruvi.ObjectGrant, error) {
			var g taruvi.ObjectGrant
			var created *time.Time
			err := row.Scan(&g.ID, &g.UserID, &g.GroupID, &g.Permission, &g.ObjectType, &g.ObjectID, &created)
			if created != nil {
				g.CreatedAt = *created
			}
			return &g, err
		})
		return err
	})
	return grants, err
}

func (s *Users) checkGrant(ctx context.Context, g taruvi.ObjectGrant) error {
	if err := requireTenant(ctx); err != nil {
		return err
	}
	if err := s.authz.Can(ctx, taruvi.PermGrant, taruvi.Object{}); err != nil {
		return err
	}
	fields := map[string]string{}
	if (g.UserID == nil) == (g.GroupID == nil) {
		fields["user_id"] = "Give exactly one of user_id and group_id."
	}
	if g.Permission == "" {
		fields["permission"] = "This field is required."
	}
	if (g.ObjectType == "") != (g.ObjectID == "") {
		fields["object_id"] = "Give object_type and object_id together, or neither."
	}
	if len(g.ObjectType) > 100 || len(g.ObjectID) > 100 {
		fields["object_type"] = "Use at most 100 characters."
	}
	if len(fields) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid grant.", Fields: fields}
	}
	return nil
}

func grantTargetExists(ctx context.Context, tx pgx.Tx, g taruvi.ObjectGrant) error {
	var ok bool
	var err error
	if g.UserID != nil {
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, *g.UserID).Scan(&ok)
	} else {
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)`, *g.GroupID).Scan(&ok)
	}
	if err == nil && !ok {
		return taruvi.Errorf(taruvi.ENOTFOUND, "User or group not found.")
	}
	return err
}
