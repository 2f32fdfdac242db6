package taruvi

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ObjectProject is the object type of projects in grants and history.
const ObjectProject = "project"

// Project statuses.
const (
	ProjectActive   = "active"
	ProjectArchived = "archived"
)

// ProjectStatuses are the statuses a project may have.
var ProjectStatuses = []string{ProjectActive, ProjectArchived}

// Roles of project members. The role says what a member does in the
// project; what they may change is decided by permissions.
const (
	RoleMember  = "member"
	RoleManager = "manager"
)

// Permission codenames of the projects app. Holding view_project model-wide
// shows every project; as an object grant, one project.
const (
	PermViewProject   = "projects.view_project"
	PermAddProject    = "projects.add_project"
	PermChangeProject = "projects.change_project"
	PermDeleteProject = "projects.delete_project"
)

// Project is the unit of work and of visibility: its members, tenant owners
// and holders of projects.view_project see it, its tasks and its files.
type Project struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Status      string          `json:"status"`
	OwnerID     *int64          `json:"owner_id"` // the creator; nil once that user is deleted
	Members     []ProjectMember `json:"members"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// ProjectMember is a user's membership of a project.
type ProjectMember struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
}

// ProjectCreate is the input of ProjectService.CreateProject. An empty
// Status means ProjectActive.
type ProjectCreate struct {
	Name        string
	Description string
	Status      string
}

// Validate trims the name and checks every field, defaulting the status.
func (in *ProjectCreate) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Status == "" {
		in.Status = ProjectActive
	}
	return validateProject(&in.Name, &in.Description, &in.Status)
}

// ProjectUpdate holds the fields to change; nil fields stay as they are.
type ProjectUpdate struct {
	Name        *string
	Description *string
	Status      *string
}

// Validate trims the name and checks the fields given.
func (upd *ProjectUpdate) Validate() error {
	if upd.Name == nil && upd.Description == nil && upd.Status == nil {
		return Errorf(EINVALID, "Give at least one field to change.")
	}
	if upd.Name != nil {
		name := strings.TrimSpace(*upd.Name)
		upd.Name = &name
	}
	return validateProject(upd.Name, upd.Description, upd.Status)
}

func validateProject(name, description, status *string) error {
	fields := map[string]string{}
	if name != nil {
		checkText(fields, "name", *name, 1, 200)
	}
	if description != nil {
		checkText(fields, "description", *description, 0, 10000)
	}
	if status != nil && !slices.Contains(ProjectStatuses, *status) {
		fields["status"] = "Use one of " + strings.Join(ProjectStatuses, ", ") + "."
	}
	return invalid("Invalid project.", fields)
}

// Validate checks a membership, defaulting the role to RoleMember.
func (m *ProjectMember) Validate() error {
	fields := map[string]string{}
	if m.UserID <= 0 {
		fields["user_id"] = "This field is required."
	}
	if m.Role == "" {
		m.Role = RoleMember
	}
	if m.Role != RoleMember && m.Role != RoleManager {
		fields["role"] = "Use one of member, manager."
	}
	return invalid("Invalid member.", fields)
}

// checkText records in fields what is wrong with a text value: its length
// in characters outside [min, max], or a NUL character, which PostgreSQL
// text cannot hold.
func checkText(fields map[string]string, name, value string, min, max int) {
	n := utf8.RuneCountInString(value)
	switch {
	case min > 0 && strings.TrimSpace(value) == "":
		fields[name] = "This field is required."
	case n < min || n > max:
		fields[name] = "Use " + strconv.Itoa(min) + " to " + strconv.Itoa(max) + " characters."
	case strings.ContainsRune(value, 0):
		fields[name] = "Remove the NUL characters."
	}
}

// invalid returns an EINVALID error with fields, or nil when none.
func invalid(message string, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// ProjectListSpec is what project lists filter, order and search by.
var ProjectListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "description", Kind: KindString, Search: true},
		{Name: "status", Kind: KindEnum, Enum: ProjectStatuses, Filter: true, Order: true},
		{Name: "owner_id", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
		{Name: "updated_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "created_at", Desc: true}, {Field: "id", Desc: true}},
}

// ProjectService manages the projects of the tenant in ctx for the
// principal in ctx. Every method returns EUNAUTHORIZED without a principal
// and ENOTFOUND outside a tenant. A project the principal cannot see is
// ENOTFOUND, never EFORBIDDEN, so ids reveal nothing; EFORBIDDEN means the
// project is visible but the permission is missing. Bad input is EINVALID.
type ProjectService interface {
	// ListProjects returns one page of the projects the principal sees and
	// how many there are in all.
	ListProjects(ctx context.Context, q ListQuery) ([]*Project, int, error)
	// FindProjectByID returns a visible project with its members.
	FindProjectByID(ctx context.Context, id int64) (*Project, error)
	// CreateProject needs projects.add_project. The principal becomes the
	// owner and a member with RoleManager.
	CreateProject(ctx context.Context, in ProjectCreate) (*Project, error)
	// UpdateProject needs projects.change_project on the project.
	UpdateProject(ctx context.Context, id int64, upd ProjectUpdate) (*Project, error)
	// DeleteProject needs projects.delete_project on the project; its tasks
	// and files go with it.
	DeleteProject(ctx context.Context, id int64) error
	// AddProjectMember needs projects.change_project on the project:
	// ENOTFOUND for an unknown user, ECONFLICT for a member already.
	AddProjectMember(ctx context.Context, projectID int64, m ProjectMember) (*ProjectMember, error)
	// RemoveProjectMember needs projects.change_project on the project:
	// ENOTFOUND when the user is not a member.
	RemoveProjectMember(ctx context.Context, projectID, userID int64) error
}
