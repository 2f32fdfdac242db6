package api

import (
	"net/http"

	"taruvi"
)

// taskCreateRequest is the body of POST /api/tasks/.
type taskCreateRequest struct {
	ProjectID   int64   `json:"project_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Status      string  `json:"status"`
	Priority    int     `json:"priority"`
	AssigneeID  *int64  `json:"assignee_id"`
	DueDate     *string `json:"due_date"`
	Position    int     `json:"position"`
}

func (in taskCreateRequest) toTaskCreate() taruvi.TaskCreate {
	return taruvi.TaskCreate{ProjectID: in.ProjectID, Title: in.Title, Description: in.Description,
		Status: in.Status, Priority: in.Priority, AssigneeID: in.AssigneeID, DueDate: in.DueDate, Position: in.Position}
}

// taskUpdateRequest is the body of PATCH (some members) and PUT (every
// member) /api/tasks/{id}/. assignee_id and due_date may be null, which
// clears them. project_id is refused: a task stays in its project.
type taskUpdateRequest struct {
	ProjectID   optional[int64]  `json:"project_id"`
	Title       optional[string] `json:"title"`
	Description optional[string] `json:"description"`
	Status      optional[string] `json:"status"`
	Priority    optional[int]    `json:"priority"`
	AssigneeID  optional[int64]  `json:"assignee_id"`
	DueDate     optional[string] `json:"due_date"`
	Position    optional[int]    `json:"position"`
}

func (in taskUpdateRequest) toTaskUpdate(c *fieldChecker) (taruvi.TaskUpdate, error) {
	upd := taruvi.TaskUpdate{
		Title:       value(c, "title", in.Title),
		Description: value(c, "description", in.Description),
		Status:      value(c, "status", in.Status),
		Priority:    value(c, "priority", in.Priority),
		AssigneeID:  clearable(c, "assignee_id", in.AssigneeID, 0),
		DueDate:     clearable(c, "due_date", in.DueDate, ""),
		Position:    value(c, "position", in.Position),
	}
	// In the root type 0 and "" clear these; on the wire only null does.
	if in.ProjectID.Set {
		c.problems["project_id"] = "A task cannot move to another project."
	}
	if in.AssigneeID.Set && !in.AssigneeID.Null && in.AssigneeID.Value <= 0 {
		c.problems["assignee_id"] = "Use the id of a user, or null."
	}
	if in.DueDate.Set && !in.DueDate.Null && in.DueDate.Value == "" {
		c.problems["due_date"] = "Use a date such as 2026-01-31, or null."
	}
	return upd, c.err()
}

func (a *API) handleTaskList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.TaskListSpec)
	if err != nil {
		return err
	}
	tasks, total, err := a.Tasks.ListTasks(r.Context(), q)
	if err != nil {
		return err
	}
	return list(w, "Tasks.", tasks, total, q)
}

func (a *API) handleTaskCreate(w http.ResponseWriter, r *http.Request) error {
	var in taskCreateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Tasks.CreateTask(r.Context(), in.toTaskCreate())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Task created.", t)
}

func (a *API) handleTaskGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.Tasks.FindTaskByID(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Task.", t)
}

func (a *API) handleTaskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in taskUpdateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	upd, err := in.toTaskUpdate(newFieldChecker(r))
	if err != nil {
		return err
	}
	t, err := a.Tasks.UpdateTask(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Task updated.", t)
}

func (a *API) handleTaskDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Tasks.DeleteTask(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Task deleted.", nil)
}
