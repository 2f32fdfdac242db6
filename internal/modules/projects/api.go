package projects

import (
	"net/http"

	"taruvi"
	"taruvi/internal/api"
)

// projectCreateRequest is the body of POST /api/projects/.
type projectCreateRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Status      string `json:"status"`
}

func (in projectCreateRequest) toProjectCreate() taruvi.ProjectCreate {
	return taruvi.ProjectCreate{Name: in.Name, Description: in.Description, Status: in.Status}
}

// projectUpdateRequest is the body of PATCH (some members) and PUT (every
// member) /api/projects/{id}/.
type projectUpdateRequest struct {
	Name        api.Optional[string] `json:"name"`
	Description api.Optional[string] `json:"description"`
	Status      api.Optional[string] `json:"status"`
}

func (in projectUpdateRequest) toProjectUpdate(c *api.FieldChecker) (taruvi.ProjectUpdate, error) {
	upd := taruvi.ProjectUpdate{
		Name:        api.Value(c, "name", in.Name),
		Description: api.Value(c, "description", in.Description),
		Status:      api.Value(c, "status", in.Status),
	}
	return upd, c.Err()
}

// projectMemberRequest is the body of POST /api/projects/{id}/members/.
type projectMemberRequest struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
}

func (in projectMemberRequest) toProjectMember() taruvi.ProjectMember {
	return taruvi.ProjectMember{UserID: in.UserID, Role: in.Role}
}

func (m *Module) handleProjectList(w http.ResponseWriter, r *http.Request) error {
	q, err := api.ParseList(r, taruvi.ProjectListSpec)
	if err != nil {
		return err
	}
	projects, total, err := m.projects.ListProjects(r.Context(), q)
	if err != nil {
		return err
	}
	return api.WriteList(w, "Projects.", projects, total, q)
}

func (m *Module) handleProjectCreate(w http.ResponseWriter, r *http.Request) error {
	var in projectCreateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	p, err := m.projects.CreateProject(r.Context(), in.toProjectCreate())
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "Project created.", p)
}

func (m *Module) handleProjectGet(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	p, err := m.projects.FindProjectByID(r.Context(), id)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Project.", p)
}

func (m *Module) handleProjectUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in projectUpdateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	upd, err := in.toProjectUpdate(api.NewFieldChecker(r))
	if err != nil {
		return err
	}
	p, err := m.projects.UpdateProject(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Project updated.", p)
}

func (m *Module) handleProjectDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := m.projects.DeleteProject(r.Context(), id); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Project deleted.", nil)
}

func (m *Module) handleProjectMemberAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in projectMemberRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	member, err := m.projects.AddProjectMember(r.Context(), id, in.toProjectMember())
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "Member added.", member)
}

func (m *Module) handleProjectMemberRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := api.PathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := m.projects.RemoveProjectMember(r.Context(), id, userID); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Member removed.", nil)
}
