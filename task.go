package taruvi

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// ObjectTask is the object type of tasks in history.
const ObjectTask = "task"

// Task statuses, in the order a task moves through them.
const (
	TaskTodo       = "todo"
	TaskInProgress = "in_progress"
	TaskDone       = "done"
)

// TaskStatuses are the statuses a task may have.
var TaskStatuses = []string{TaskTodo, TaskInProgress, TaskDone}

// Task priorities range from MinPriority to MaxPriority.
const (
	MinPriority = 0
	MaxPriority = 4
)

// Permission codenames of the tasks app. They are checked on the task's
// project: a grant on a project covers its tasks.
const (
	PermAddTask    = "tasks.add_task"
	PermChangeTask = "tasks.change_task"
	PermDeleteTask = "tasks.delete_task"
)

// Task is a piece of work in a project. Whoever sees the project sees its
// tasks. A task never moves to another project.
type Task struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Priority    int       `json:"priority"`
	AssigneeID  *int64    `json:"assignee_id"`
	DueDate     *string   `json:"due_date"` // 2006-01-02
	Position    int       `json:"position"` // order within the project's board column
	CreatedBy   *int64    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// TaskCreate is the input of TaskService.CreateTask. An empty Status means
// TaskTodo.
type TaskCreate struct {
	ProjectID   int64
	Title       string
	Description string
	Status      string
	Priority    int
	AssigneeID  *int64
	DueDate     *string // 2006-01-02
	Position    int
}

// Validate trims the title and checks every field, defaulting the status.
func (in *TaskCreate) Validate() error {
	in.Title = strings.TrimSpace(in.Title)
	if in.Status == "" {
		in.Status = TaskTodo
	}
	fields := map[string]string{}
	if in.ProjectID <= 0 {
		fields["project_id"] = "This field is required."
	}
	if in.AssigneeID != nil && *in.AssigneeID <= 0 {
		fields["assignee_id"] = "Use the id of a user, or null."
	}
	if in.DueDate != nil && *in.DueDate == "" {
		in.DueDate = nil
	}
	validateTask(fields, &in.Title, &in.Description, &in.Status, &in.Priority, in.DueDate, &in.Position)
	return invalid("Invalid task.", fields)
}

// TaskUpdate holds the fields to change; nil fields stay as they are. A
// pointer to 0 clears AssigneeID and a pointer to "" clears DueDate.
type TaskUpdate struct {
	Title       *string
	Description *string
	Status      *string
	Priority    *int
	AssigneeID  *int64
	DueDate     *string
	Position    *int
}

// Validate trims the title and checks the fields given.
func (upd *TaskUpdate) Validate() error {
	if *upd == (TaskUpdate{}) {
		return Errorf(EINVALID, "Give at least one field to change.")
	}
	if upd.Title != nil {
		title := strings.TrimSpace(*upd.Title)
		upd.Title = &title
	}
	fields := map[string]string{}
	if upd.AssigneeID != nil && *upd.AssigneeID < 0 {
		fields["assignee_id"] = "Use the id of a user, or null."
	}
	due := upd.DueDate
	if due != nil && *due == "" {
		due = nil
	}
	validateTask(fields, upd.Title, upd.Description, upd.Status, upd.Priority, due, upd.Position)
	return invalid("Invalid task.", fields)
}

func validateTask(fields map[string]string, title, description, status *string, priority *int, due *string, position *int) {
	if title != nil {
		checkText(fields, "title", *title, 1, 500)
	}
	if description != nil {
		checkText(fields, "description", *description, 0, 10000)
	}
	if status != nil && !slices.Contains(TaskStatuses, *status) {
		fields["status"] = "Use one of " + strings.Join(TaskStatuses, ", ") + "."
	}
	if priority != nil && (*priority < MinPriority || *priority > MaxPriority) {
		fields["priority"] = "Use a whole number from 0 to 4."
	}
	if due != nil {
		if d, err := time.Parse(time.DateOnly, *due); err != nil || d.Year() < 1 {
			fields["due_date"] = "Use a date such as 2026-01-31."
		}
	}
	if position != nil && (*position < 0 || *position > math.MaxInt32) {
		fields["position"] = "Use a whole number from 0 to 2147483647."
	}
}

// TaskListSpec is what task lists filter, order and search by.
var TaskListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "project_id", Kind: KindInt, Filter: true, Order: true},
		{Name: "title", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "description", Kind: KindString, Search: true},
		{Name: "status", Kind: KindEnum, Enum: TaskStatuses, Filter: true, Order: true},
		{Name: "priority", Kind: KindInt, Filter: true, Order: true},
		{Name: "assignee_id", Kind: KindInt, Filter: true},
		{Name: "due_date", Kind: KindDate, Nullable: true, Filter: true, Order: true},
		{Name: "position", Kind: KindInt, Filter: true, Order: true},
		{Name: "created_by", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
		{Name: "updated_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "project_id"}, {Field: "position"}, {Field: "id"}},
}

// TaskColumn is one status column of a task board.
type TaskColumn struct {
	Status string
	Tasks  []*Task
	Total  int // tasks of the status matching the board's filters
}

// TaskService manages the tasks of the tenant in ctx for the principal in
// ctx. A task is visible when its project is. Every method returns
// EUNAUTHORIZED without a principal and ENOTFOUND outside a tenant or for a
// task the principal cannot see; EFORBIDDEN means the task is visible but
// the permission is missing. Bad input is EINVALID.
type TaskService interface {
	// ListTasks returns one page of the tasks of visible projects and how
	// many there are in all.
	ListTasks(ctx context.Context, q ListQuery) ([]*Task, int, error)
	// TaskBoard returns one column per status of TaskStatuses, in order:
	// the first perColumn visible tasks of that status that match q's
	// filters, in q's order, and how many match in all. q's page is
	// ignored.
	TaskBoard(ctx context.Context, q ListQuery, perColumn int) ([]TaskColumn, error)
	// FindTaskByID returns a visible task.
	FindTaskByID(ctx context.Context, id int64) (*Task, error)
	// CreateTask needs tasks.add_task on the project, which must be visible
	// (EINVALID on project_id otherwise); the assignee must be a user of the
	// tenant (EINVALID on assignee_id).
	CreateTask(ctx context.Context, in TaskCreate) (*Task, error)
	// UpdateTask needs tasks.change_task on the task's project. Moving a
	// task is changing its status and position.
	UpdateTask(ctx context.Context, id int64, upd TaskUpdate) (*Task, error)
	// DeleteTask needs tasks.delete_task on the task's project.
	DeleteTask(ctx context.Context, id int64) error
}
