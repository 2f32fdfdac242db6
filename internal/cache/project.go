package cache

import (
	"context"
	"encoding/json"

	"taruvi"
)

// projectsNamespace holds the first pages of project lists. Any write that
// can change what a list shows (a project, its members, a user, a group, a
// grant) invalidates the tenant's whole namespace.
const projectsNamespace = "projects"

// Projects is a taruvi.ProjectService that remembers the first page of
// each caller's project lists, the hottest read of the API.
type Projects struct {
	taruvi.ProjectService
	Cache taruvi.Cache
}

type projectPage struct {
	Items []*taruvi.Project `json:"items"`
	Total int               `json:"total"`
}

// ListProjects implements taruvi.ProjectService.
func (p *Projects) ListProjects(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Project, int, error) {
	who := taruvi.PrincipalFromContext(ctx)
	if q.Page != 1 || who == nil {
		return p.ProjectService.ListProjects(ctx, q)
	}
	// What a caller sees depends on who they are and what they asked.
	key, err := json.Marshal(struct {
		User         int64
		Owner, Admin bool
		Query        taruvi.ListQuery
	}{who.UserID, who.IsOwner, who.IsAdmin, q})
	if err != nil {
		return p.ProjectService.ListProjects(ctx, q)
	}
	if b, ok := p.Cache.Get(ctx, projectsNamespace, string(key)); ok {
		var page projectPage
		if json.Unmarshal(b, &page) == nil {
			return page.Items, page.Total, nil
		}
	}
	gen := p.Cache.Generation(ctx, projectsNamespace)
	items, total, err := p.ProjectService.ListProjects(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	if b, err := json.Marshal(projectPage{items, total}); err == nil {
		p.Cache.Set(ctx, projectsNamespace, string(key), b, gen)
	}
	return items, total, nil
}

// invalidated returns err after invalidating the namespace when err is nil.
func invalidated(ctx context.Context, c taruvi.Cache, err error) error {
	if err == nil {
		c.Invalidate(ctx, projectsNamespace)
	}
	return err
}

// CreateProject implements taruvi.ProjectService.
func (p *Projects) CreateProject(ctx context.Context, in taruvi.ProjectCreate) (*taruvi.Project, error) {
	v, err := p.ProjectService.CreateProject(ctx, in)
	return v, invalidated(ctx, p.Cache, err)
}

// UpdateProject implements taruvi.ProjectService.
func (p *Projects) UpdateProject(ctx context.Context, id int64, upd taruvi.ProjectUpdate) (*taruvi.Project, error) {
	v, err := p.ProjectService.UpdateProject(ctx, id, upd)
	return v, invalidated(ctx, p.Cache, err)
}

// DeleteProject implements taruvi.ProjectService.
func (p *Projects) DeleteProject(ctx context.Context, id int64) error {
	return invalidated(ctx, p.Cache, p.ProjectService.DeleteProject(ctx, id))
}

// AddProjectMember implements taruvi.ProjectService.
func (p *Projects) AddProjectMember(ctx context.Context, projectID int64, m taruvi.ProjectMember) (*taruvi.ProjectMember, error) {
	v, err := p.ProjectService.AddProjectMember(ctx, projectID, m)
	return v, invalidated(ctx, p.Cache, err)
}

// RemoveProjectMember implements taruvi.ProjectService.
func (p *Projects) RemoveProjectMember(ctx context.Context, projectID, userID int64) error {
	return invalidated(ctx, p.Cache, p.ProjectService.RemoveProjectMember(ctx, projectID, userID))
}

// Users is a taruvi.UserService whose writes that change who sees which
// project invalidate the cached project lists.
type Users struct {
	taruvi.UserService
	Cache taruvi.Cache
}

// UpdateUser implements taruvi.UserService (deactivation, ownership).
func (u *Users) UpdateUser(ctx context.Context, id int64, upd taruvi.UserUpdate) (*taruvi.User, error) {
	v, err := u.UserService.UpdateUser(ctx, id, upd)
	return v, invalidated(ctx, u.Cache, err)
}

// DeleteUser implements taruvi.UserService.
func (u *Users) DeleteUser(ctx context.Context, id int64) error {
	return invalidated(ctx, u.Cache, u.UserService.DeleteUser(ctx, id))
}

// DeleteGroup implements taruvi.UserService.
func (u *Users) DeleteGroup(ctx context.Context, id int64) error {
	return invalidated(ctx, u.Cache, u.UserService.DeleteGroup(ctx, id))
}

// AddGroupMember implements taruvi.UserService.
func (u *Users) AddGroupMember(ctx context.Context, groupID, userID int64) error {
	return invalidated(ctx, u.Cache, u.UserService.AddGroupMember(ctx, groupID, userID))
}

// RemoveGroupMember implements taruvi.UserService.
func (u *Users) RemoveGroupMember(ctx context.Context, groupID, userID int64) error {
	return invalidated(ctx, u.Cache, u.UserService.RemoveGroupMember(ctx, groupID, userID))
}

// GrantPermission implements taruvi.UserService.
func (u *Users) GrantPermission(ctx context.Context, g taruvi.ObjectGrant) (*taruvi.ObjectGrant, error) {
	v, err := u.UserService.GrantPermission(ctx, g)
	return v, invalidated(ctx, u.Cache, err)
}

// RevokeGrant implements taruvi.UserService.
func (u *Users) RevokeGrant(ctx context.Context, g taruvi.ObjectGrant) error {
	return invalidated(ctx, u.Cache, u.UserService.RevokeGrant(ctx, g))
}
