package api

import (
	"encoding/json"
	"net/http"

	"taruvi"
)

// optional is a JSON member that remembers whether it was sent and whether
// it was null, so that PATCH can tell "leave as it is" from "clear" and PUT
// can insist on every field.
type optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// fieldChecker collects what is wrong with the members of a PATCH or PUT
// body. full (PUT) requires every member.
type fieldChecker struct {
	full     bool
	problems map[string]string
	set      int
}

func newFieldChecker(r *http.Request) *fieldChecker {
	return &fieldChecker{full: r.Method == http.MethodPut, problems: map[string]string{}}
}

// value returns the member's value, or nil when it was not sent.
func value[T any](c *fieldChecker, name string, o optional[T]) *T {
	switch {
	case !o.Set:
		if c.full {
			c.problems[name] = "This field is required."
		}
		return nil
	case o.Null:
		c.problems[name] = "This field may not be null."
		return nil
	}
	c.set++
	return &o.Value
}

// clearable is value for a member that may be null: null becomes a
// pointer to cleared.
func clearable[T any](c *fieldChecker, name string, o optional[T], cleared T) *T {
	if o.Set && o.Null {
		c.set++
		return &cleared
	}
	return value(c, name, o)
}

// err is the error for what was found, if anything.
func (c *fieldChecker) err() error {
	if len(c.problems) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid request.", Fields: c.problems}
	}
	if c.set == 0 {
		return taruvi.Errorf(taruvi.EINVALID, "Give at least one field to change.")
	}
	return nil
}

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
	Name        optional[string] `json:"name"`
	Description optional[string] `json:"description"`
	Status      optional[string] `json:"status"`
}

func (in projectUpdateRequest) toProjectUpdate(c *fieldChecker) (taruvi.ProjectUpdate, error) {
	upd := taruvi.ProjectUpdate{
		Name:        value(c, "name", in.Name),
		Description: value(c, "description", in.Description),
		Status:      value(c, "status", in.Status),
	}
	return upd, c.err()
}

// projectMemberRequest is the body of POST /api/projects/{id}/members/.
type projectMemberRequest struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
}

func (in projectMemberRequest) toProjectMember() taruvi.ProjectMember {
	return taruvi.ProjectMember{UserID: in.UserID, Role: in.Role}
}

func (a *API) handleProjectList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.ProjectListSpec)
	if err != nil {
		return err
	}
	projects, total, err := a.Projects.ListProjects(r.Context(), q)
	if err != nil {
		return err
	}
	return list(w, "Projects.", projects, total, q)
}

func (a *API) handleProjectCreate(w http.ResponseWriter, r *http.Request) error {
	var in projectCreateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Projects.CreateProject(r.Context(), in.toProjectCreate())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Project created.", p)
}

func (a *API) handleProjectGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Projects.FindProjectByID(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Project.", p)
}

func (a *API) handleProjectUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in projectUpdateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	upd, err := in.toProjectUpdate(newFieldChecker(r))
	if err != nil {
		return err
	}
	p, err := a.Projects.UpdateProject(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Project updated.", p)
}

func (a *API) handleProjectDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Projects.DeleteProject(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Project deleted.", nil)
}

func (a *API) handleProjectMemberAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in projectMemberRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := a.Projects.AddProjectMember(r.Context(), id, in.toProjectMember())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Member added.", m)
}

func (a *API) handleProjectMemberRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Projects.RemoveProjectMember(r.Context(), id, userID); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Member removed.", nil)
}
