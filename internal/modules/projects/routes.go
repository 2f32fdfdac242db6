package projects

import (
	"net/http"

	"taruvi"
	"taruvi/internal/modules"
)

// Error statuses, named so the routes read as words.
const (
	s400 = http.StatusBadRequest
	s401 = http.StatusUnauthorized
	s403 = http.StatusForbidden
	s404 = http.StatusNotFound
	s409 = http.StatusConflict
	s413 = http.StatusRequestEntityTooLarge
	s415 = http.StatusUnsupportedMediaType
)

// userIDParam is the user_id of a member route.
var userIDParam = taruvi.Param{Name: "user_id", Kind: taruvi.KindInt, Description: "The user's id."}

// routes are the module's REST routes with their operations.
func (m *Module) routes() []taruvi.Route {
	return []taruvi.Route{
		{Pattern: "GET /api/projects", Handler: m.handleProjectList, Operation: taruvi.Operation{Tag: "projects", Summary: "List projects",
			Description: "The projects the caller can see.",
			List:        &taruvi.ProjectListSpec, Response: taruvi.Project{}, Errors: []int{s400, s401}}},
		{Pattern: "POST /api/projects", Handler: m.handleProjectCreate, Operation: taruvi.Operation{Tag: "projects", Summary: "Create a project",
			Description: "The creator becomes its owner_id. status defaults to active.",
			Request:     projectCreateRequest{}, Response: taruvi.Project{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s413, s415}}},
		{Pattern: "GET /api/projects/{id}", Handler: m.handleProjectGet, Operation: taruvi.Operation{Tag: "projects", Summary: "Read a project",
			Path: []taruvi.Param{modules.IDParam}, Response: taruvi.Project{}, Errors: []int{s401, s404}}},
		{Pattern: "PATCH /api/projects/{id}", Handler: m.handleProjectUpdate, Operation: taruvi.Operation{Tag: "projects", Summary: "Change a project",
			Description: "Send the fields to change; null is refused.",
			Path:        []taruvi.Param{modules.IDParam}, Request: projectUpdateRequest{}, Response: taruvi.Project{}, Errors: []int{s400, s401, s403, s404, s413, s415}}},
		{Pattern: "PUT /api/projects/{id}", Handler: m.handleProjectUpdate, Operation: taruvi.Operation{Tag: "projects", Summary: "Replace a project",
			Description: "Every field is required.",
			Path:        []taruvi.Param{modules.IDParam}, Request: projectUpdateRequest{}, Response: taruvi.Project{}, Errors: []int{s400, s401, s403, s404, s413, s415}}},
		{Pattern: "DELETE /api/projects/{id}", Handler: m.handleProjectDelete, Operation: taruvi.Operation{Tag: "projects", Summary: "Delete a project",
			Description: "Its tasks go with it.",
			Path:        []taruvi.Param{modules.IDParam}, Errors: []int{s401, s403, s404}}},
		{Pattern: "POST /api/projects/{id}/members", Handler: m.handleProjectMemberAdd, Operation: taruvi.Operation{Tag: "projects", Summary: "Add a member to a project",
			Description: "role is member (the default) or manager.",
			Path:        []taruvi.Param{modules.IDParam}, Request: projectMemberRequest{}, Response: taruvi.ProjectMember{}, Status: http.StatusCreated,
			Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "DELETE /api/projects/{id}/members/{user_id}", Handler: m.handleProjectMemberRemove, Operation: taruvi.Operation{Tag: "projects", Summary: "Remove a member from a project",
			Path: []taruvi.Param{modules.IDParam, userIDParam}, Errors: []int{s401, s403, s404}}},
	}
}

// tags group the module's operations in the documentation.
var tags = []taruvi.APITag{{Name: "projects", Description: "Projects and their members. Members see a project, its tasks and files; owners see everything."}}
