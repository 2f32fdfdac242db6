package tasks

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
	s413 = http.StatusRequestEntityTooLarge
	s415 = http.StatusUnsupportedMediaType
)

// routes are the module's REST routes with their operations.
func (m *Module) routes() []taruvi.Route {
	return []taruvi.Route{
		{Pattern: "GET /api/tasks", Handler: m.handleTaskList, Operation: taruvi.Operation{Tag: "tasks", Summary: "List tasks",
			Description: "The tasks of the projects the caller can see.",
			List:        &taruvi.TaskListSpec, Response: taruvi.Task{}, Errors: []int{s400, s401}}},
		{Pattern: "POST /api/tasks", Handler: m.handleTaskCreate, Operation: taruvi.Operation{Tag: "tasks", Summary: "Create a task",
			Description: "status defaults to todo; due_date is a date such as 2026-01-31; priority is from 0 to 4.",
			Request:     taskCreateRequest{}, Response: taruvi.Task{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s413, s415}}},
		{Pattern: "GET /api/tasks/{id}", Handler: m.handleTaskGet, Operation: taruvi.Operation{Tag: "tasks", Summary: "Read a task",
			Path: []taruvi.Param{modules.IDParam}, Response: taruvi.Task{}, Errors: []int{s401, s404}}},
		{Pattern: "PATCH /api/tasks/{id}", Handler: m.handleTaskUpdate, Operation: taruvi.Operation{Tag: "tasks", Summary: "Change a task",
			Description: "Send the fields to change. assignee_id and due_date may be null, which clears them; other fields may not, and project_id cannot change.",
			Path:        []taruvi.Param{modules.IDParam}, Request: taskUpdateRequest{}, Response: taruvi.Task{}, Errors: []int{s400, s401, s403, s404, s413, s415}}},
		{Pattern: "PUT /api/tasks/{id}", Handler: m.handleTaskUpdate, Operation: taruvi.Operation{Tag: "tasks", Summary: "Replace a task",
			Description: "Every field but project_id is required; assignee_id and due_date may be null.",
			Path:        []taruvi.Param{modules.IDParam}, Request: taskUpdateRequest{}, Response: taruvi.Task{}, Errors: []int{s400, s401, s403, s404, s413, s415}}},
		{Pattern: "DELETE /api/tasks/{id}", Handler: m.handleTaskDelete, Operation: taruvi.Operation{Tag: "tasks", Summary: "Delete a task",
			Path: []taruvi.Param{modules.IDParam}, Errors: []int{s401, s403, s404}}},
	}
}

// tags group the module's operations in the documentation.
var tags = []taruvi.APITag{{Name: "tasks", Description: "The tasks of projects."}}
