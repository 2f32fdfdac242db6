package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// Projects implements taruvi.ProjectService over the tenant's projects and
// project_members tables.
type Projects struct {
	db    *DB
	authz taruvi.Authorizer
}

var _ taruvi.ProjectService = (*Projects)(nil)

// NewProjects returns the project service over db, authorizing through authz.
func NewProjects(db *DB, authz taruvi.Authorizer) *Projects { return &Projects{db: db, authz: authz} }

// tenantPrincipal returns the principal of a request addressed to a tenant
// and authenticated for it.
func tenantPrincipal(ctx context.Context) (*taruvi.Principal, error) {
	t := taruvi.TenantFromContext(ctx)
	p := taruvi.PrincipalFromContext(ctx)
	switch {
	case t == nil:
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Projects, tasks and files exist on tenant hosts only.")
	case p == nil:
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case p.Audience != t.Schema:
		// Authentication binds a principal to its tenant; this is a bug guard.
		return nil, taruvi.Errorf(taruvi.EFORBIDDEN, "You do not have permission to perform this action.")
	}
	return p, nil
}

// projectVisible returns an SQL condition that holds when the principal may
// see the project whose id is the SQL expression id, and args with the
// condition's arguments appended. Owners see every project; others see
// those they are members of, all of them with projects.view_project held
// directly or through a group, and single ones through object grants. The
// model-wide test does not depend on the row, so PostgreSQL evaluates it
// once per statement.
func projectVisible(p *taruvi.Principal, id string, args []any) (string, []any) {
	if p.IsOwner {
		return "true", args
	}
	args = append(args, p.UserID, taruvi.PermViewProject)
	user, perm := "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
	return fmt.Sprintf(`(EXISTS (SELECT 1 FROM permissions vp WHERE vp.codename = %[3]s AND (
			EXISTS (SELECT 1 FROM user_permissions vup WHERE vup.user_id = %[2]s AND vup.permission_id = vp.id)
			OR EXISTS (SELECT 1 FROM group_permissions vgp JOIN user_groups vug ON vug.group_id = vgp.group_id
				WHERE vug.user_id = %[2]s AND vgp.permission_id = vp.id)))
		OR EXISTS (SELECT 1 FROM project_members vm WHERE vm.project_id = %[1]s AND vm.user_id = %[2]s)
		OR EXISTS (SELECT 1 FROM object_grants vog JOIN permissions vop ON vop.id = vog.permission_id
			WHERE vog.object_type = 'project' AND vog.object_id = (%[1]s)::text AND vop.codename = %[3]s
			AND (vog.user_id = %[2]s OR vog.group_id IN (SELECT group_id FROM user_groups WHERE user_id = %[2]s))))`,
		id, user, perm), args
}

// projectColumns select a project of alias p with its members, as two
// aligned arrays (user ids and roles, by user id) so that a page of
// projects is one statement and its members decode without JSON.
const projectColumns = `p.id, p.name, p.description, p.status, p.owner_id, p.created_at, p.updated_at,
	ARRAY(SELECT m.user_id FROM project_members m WHERE m.project_id = p.id ORDER BY m.user_id),
	ARRAY(SELECT m.role FROM project_members m WHERE m.project_id = p.id ORDER BY m.user_id)`

// scanProject reads the columns of projectColumns, then extra.
func scanProject(row pgx.Row, extra ...any) (*taruvi.Project, error) {
	var p taruvi.Project
	var ids []int64
	var roles []string
	err := row.Scan(append([]any{&p.ID, &p.Name, &p.Description, &p.Status, &p.OwnerID, &p.CreatedAt,
		&p.UpdatedAt, &ids, &roles}, extra...)...)
	if err == nil && len(ids) != len(roles) {
		err = fmt.Errorf("project %d: %d member ids and %d roles", p.ID, len(ids), len(roles))
	}
	p.Members = make([]taruvi.ProjectMember, len(ids))
	for i := range p.Members {
		p.Members[i] = taruvi.ProjectMember{UserID: ids[i], Role: roles[i]}
	}
	return &p, err
}

func projectNotFound(id int64) error {
	return taruvi.Errorf(taruvi.ENOTFOUND, "Project %d not found.", id)
}

// ListProjects implements taruvi.ProjectService. The visibility rule is
// part of the statement, so paging and the total count visible projects
// only; members are aggregated for the page's rows alone.
func (s *Projects) ListProjects(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Project, int, error) {
	page, err := cachedRead(ctx, s.db, "projects", q, func() (listed[*taruvi.Project], error) {
		items, total, err := s.listProjects(ctx, q)
		return listed[*taruvi.Project]{items, total}, err
	})
	return page.items, page.total, err
}

func (s *Projects) listProjects(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Project, int, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, 0, err
	}
	visible, args := projectVisible(p, "p.id", nil)
	lc := buildList(taruvi.ProjectListSpec, q, "p", args)
	where := visible + " AND " + lc.Where
	// The members of the page's projects are aggregated in one pass over
	// project_members, not one lookup per row.
	query := `WITH page AS (` + pageSQL("p.*", "projects", "p", where, lc) + `),
		members AS (SELECT m.project_id, array_agg(m.user_id ORDER BY m.user_id) AS ids, array_agg(m.role ORDER BY m.user_id) AS roles
			FROM project_members m WHERE m.project_id IN (SELECT id FROM page) GROUP BY m.project_id)
	SELECT p.id, p.name, p.description, p.status, p.owner_id, p.created_at, p.updated_at,
		coalesce(m.ids, '{}'), coalesce(m.roles, '{}'), p.count
	FROM page p LEFT JOIN members m ON m.project_id = p.id ORDER BY ` + lc.Order
	projects, total, err := tenantPage(ctx, s.db, query, countSQL("projects", "p", where), lc.Args, q.Offset(), scanProject)
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	return projects, total, nil
}

// FindProjectByID implements taruvi.ProjectService.
func (s *Projects) FindProjectByID(ctx context.Context, id int64) (*taruvi.Project, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var project *taruvi.Project
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "p.id", []any{id})
		var err error
		project, err = scanProject(tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects p WHERE p.id = $1 AND `+visible, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return projectNotFound(id)
		}
		return err
	})
	return project, err
}

// CreateProject implements taruvi.ProjectService.
func (s *Projects) CreateProject(ctx context.Context, in taruvi.ProjectCreate) (*taruvi.Project, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, taruvi.PermAddProject, taruvi.Object{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var owner *int64
	if p.UserID > 0 {
		owner = &p.UserID
	}
	// One statement, pipelined with the scope and the commit: one round
	// trip. A new project's only member is its creator, so the members
	// columns are built from the membership the statement inserts.
	var project *taruvi.Project
	unit := &pgx.Batch{}
	unit.Queue(`WITH p AS (
			INSERT INTO projects (name, description, status, owner_id) VALUES ($1, $2, $3, $4) RETURNING *),
		m AS (
			INSERT INTO project_members (project_id, user_id, role)
			SELECT p.id, $4, $5 FROM p WHERE $4::bigint IS NOT NULL RETURNING user_id, role)
		SELECT p.id, p.name, p.description, p.status, p.owner_id, p.created_at, p.updated_at,
			(SELECT coalesce(array_agg(m.user_id ORDER BY m.user_id), '{}') FROM m),
			(SELECT coalesce(array_agg(m.role ORDER BY m.user_id), '{}') FROM m)
		FROM p`, in.Name, in.Description, in.Status, owner, taruvi.RoleManager).
		QueryRow(func(row pgx.Row) error {
			var err error
			project, err = scanProject(row)
			return err
		})
	if err := s.db.InTenant(ctx, nil, Pipelined(unit)); err != nil {
		return nil, fmt.Errorf("insert project: %w", err)
	}
	return project, nil
}

func findProject(ctx context.Context, tx pgx.Tx, id int64) (*taruvi.Project, error) {
	project, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects p WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, projectNotFound(id)
	}
	return project, err
}

// UpdateProject implements taruvi.ProjectService.
func (s *Projects) UpdateProject(ctx context.Context, id int64, upd taruvi.ProjectUpdate) (*taruvi.Project, error) {
	if err := s.authorize(ctx, taruvi.PermChangeProject, id); err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	var project *taruvi.Project
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE projects SET name = coalesce($2, name), description = coalesce($3, description),
			status = coalesce($4, status), updated_at = now() WHERE id = $1`, id, upd.Name, upd.Description, upd.Status)
		if err != nil {
			return fmt.Errorf("update project %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return projectNotFound(id)
		}
		project, err = findProject(ctx, tx, id)
		return err
	})
	return project, err
}

// DeleteProject implements taruvi.ProjectService.
func (s *Projects) DeleteProject(ctx context.Context, id int64) error {
	if err := s.authorize(ctx, taruvi.PermDeleteProject, id); err != nil {
		return err
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete project %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return projectNotFound(id)
		}
		return nil
	})
}

// AddProjectMember implements taruvi.ProjectService.
func (s *Projects) AddProjectMember(ctx context.Context, projectID int64, m taruvi.ProjectMember) (*taruvi.ProjectMember, error) {
	if err := s.authorize(ctx, taruvi.PermChangeProject, projectID); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`,
			projectID, m.UserID, m.Role)
		var pgErr *pgconn.PgError
		switch {
		case !errors.As(err, &pgErr):
			return err
		case pgErr.Code == "23505":
			return taruvi.Errorf(taruvi.ECONFLICT, "User %d is a member of project %d already.", m.UserID, projectID)
		case pgErr.Code == "23503" && pgErr.ConstraintName == "project_members_user_id_fkey":
			return taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", m.UserID)
		case pgErr.Code == "23503":
			return projectNotFound(projectID)
		}
		return fmt.Errorf("add member to project %d: %w", projectID, err)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// RemoveProjectMember implements taruvi.ProjectService.
func (s *Projects) RemoveProjectMember(ctx context.Context, projectID, userID int64) error {
	if err := s.authorize(ctx, taruvi.PermChangeProject, projectID); err != nil {
		return err
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, projectID, userID)
		if err != nil {
			return fmt.Errorf("remove member from project %d: %w", projectID, err)
		}
		if tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "User %d is not a member of project %d.", userID, projectID)
		}
		return nil
	})
}

// authorize asks for permission on project id. A denial on a project the
// principal cannot see becomes ENOTFOUND, so that ids reveal nothing.
func (s *Projects) authorize(ctx context.Context, permission string, id int64) error {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return err
	}
	err = s.authz.Can(ctx, permission, projectObject(id))
	if taruvi.ErrorCode(err) != taruvi.EFORBIDDEN {
		return err
	}
	visible, verr := isProjectVisible(ctx, s.db, p, id)
	switch {
	case verr != nil:
		return verr
	case !visible:
		return projectNotFound(id)
	}
	return err
}

// projectObject names project id for Authz.Can: a permission granted on a
// project covers the project, its tasks and its files.
func projectObject(id int64) taruvi.Object {
	return taruvi.Object{Type: taruvi.ObjectProject, ID: strconv.FormatInt(id, 10)}
}

// isProjectVisible reports whether project id exists and the principal
// may see it.
func isProjectVisible(ctx context.Context, db *DB, p *taruvi.Principal, id int64) (bool, error) {
	var ok bool
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "p.id", []any{id})
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects p WHERE p.id = $1 AND `+visible+`)`, args...).Scan(&ok)
	})
	if err != nil {
		return false, fmt.Errorf("check visibility of project %d: %w", id, err)
	}
	return ok, nil
}
