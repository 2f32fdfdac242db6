package tasks

import (
	"net/http"

	"taruvi"
	"taruvi/internal/api"
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
	ProjectID   api.Optional[int64]  `json:"project_id"`
	Title       api.Optional[string] `json:"title"`
	Description api.Optional[string] `json:"description"`
	Status      api.Optional[string] `json:"status"`
	Priority    api.Optional[int]    `json:"priority"`
	AssigneeID  api.Optional[int64]  `json:"assignee_id"`
	DueDate     api.Optional[string] `json:"due_date"`
	Position    api.Optional[int]    `json:"position"`
}

func (in taskUpdateRequest) toTaskUpdate(c *api.FieldChecker) (taruvi.TaskUpdate, error) {
	upd := taruvi.TaskUpdate{
		Title:       api.Value(c, "title", in.Title),
		Description: api.Value(c, "description", in.Description),
		Status:      api.Value(c, "status", in.Status),
		Priority:    api.Value(c, "priority", in.Priority),
		AssigneeID:  api.Clearable(c, "assignee_id", in.AssigneeID, 0),
		DueDate:     api.Clearable(c, "due_date", in.DueDate, ""),
		Position:    api.Value(c, "position", in.Position),
	}
	// In the root type 0 and "" clear these; on the wire only null does.
	if in.ProjectID.Set {
		c.Problem("project_id", "A task cannot move to another project.")
	}
	if in.AssigneeID.Set && !in.AssigneeID.Null && in.AssigneeID.Value <= 0 {
		c.Problem("assignee_id", "Use the id of a user, or null.")
	}
	if in.DueDate.Set && !in.DueDate.Null && in.DueDate.Value == "" {
		c.Problem("due_date", "Use a date such as 2026-01-31, or null.")
	}
	return upd, c.Err()
}

func (m *Module) handleTaskList(w http.ResponseWriter, r *http.Request) error {
	q, err := api.ParseList(r, taruvi.TaskListSpec)
	if err != nil {
		return err
	}
	tasks, total, err := m.tasks.ListTasks(r.Context(), q)
	if err != nil {
		return err
	}
	return api.WriteList(w, "Tasks.", tasks, total, q)
}

func (m *Module) handleTaskCreate(w http.ResponseWriter, r *http.Request) error {
	var in taskCreateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	t, err := m.tasks.CreateTask(r.Context(), in.toTaskCreate())
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "Task created.", t)
}

func (m *Module) handleTaskGet(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	t, err := m.tasks.FindTaskByID(r.Context(), id)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Task.", t)
}

func (m *Module) handleTaskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in taskUpdateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	upd, err := in.toTaskUpdate(api.NewFieldChecker(r))
	if err != nil {
		return err
	}
	t, err := m.tasks.UpdateTask(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Task updated.", t)
}

func (m *Module) handleTaskDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := m.tasks.DeleteTask(r.Context(), id); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Task deleted.", nil)
}
