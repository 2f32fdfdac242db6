package taruvi

import (
	"context"
	"time"
)

// User is a person who signs in to one tenant (or, in the platform scope, a
// platform admin). Emails are unique per scope, compared case-insensitively.
type User struct {
	ID          int64          `json:"id"`
	Email       string         `json:"email"`
	Username    string         `json:"username"`
	FirstName   string         `json:"first_name"`
	LastName    string         `json:"last_name"`
	IsActive    bool           `json:"is_active"`
	IsOwner     bool           `json:"is_owner"`
	Attributes  map[string]any `json:"attributes"`
	LastLoginAt *time.Time     `json:"last_login_at"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// UserCreate is the input of UserService.CreateUser. Password may be empty:
// the user then cannot sign in until one is set.
type UserCreate struct {
	Email      string         `json:"email"`
	Username   string         `json:"username"`
	Password   string         `json:"password"`
	FirstName  string         `json:"first_name"`
	LastName   string         `json:"last_name"`
	IsOwner    bool           `json:"is_owner"`
	Attributes map[string]any `json:"attributes"`
}

// UserUpdate holds the fields to change; nil fields stay as they are.
type UserUpdate struct {
	Email      *string         `json:"email"`
	Username   *string         `json:"username"`
	FirstName  *string         `json:"first_name"`
	LastName   *string         `json:"last_name"`
	IsActive   *bool           `json:"is_active"`
	IsOwner    *bool           `json:"is_owner"`
	Attributes *map[string]any `json:"attributes"`
}

// Group is a named set of users that holds permissions.
type Group struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Members     []int64   `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
}

// Permission is a codename an app registers, "projects.change_project".
type Permission struct {
	Codename string `json:"codename"`
	Name     string `json:"name"`
}

// ObjectGrant gives one user or one group a permission on one object.
type ObjectGrant struct {
	ID         int64     `json:"id"`
	UserID     *int64    `json:"user_id"`
	GroupID    *int64    `json:"group_id"`
	Permission string    `json:"permission"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Object names the target of a permission check: a type ("project") and
// an id. The zero Object asks about the model as a whole; a type without
// an id asks about some object of the type (the permission model-wide, or
// granted on at least one object of the type).
type Object struct {
	Type string
	ID   string
}

// Permission codenames of the identity app.
const (
	PermViewUser    = "users.view_user"
	PermAddUser     = "users.add_user"
	PermChangeUser  = "users.change_user"
	PermDeleteUser  = "users.delete_user"
	PermViewGroup   = "users.view_group"
	PermManageGroup = "users.manage_group"
	PermGrant       = "users.grant_permission"
)

// UserListSpec is what user lists filter, order and search by. Without an
// ordering they are oldest first.
var UserListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "email", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "username", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "first_name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "last_name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "is_active", Kind: KindBool, Filter: true},
		{Name: "is_owner", Kind: KindBool, Filter: true},
		{Name: "last_login_at", Kind: KindTime, Nullable: true, Filter: true, Order: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "id"}},
}

// UserService manages the users, groups and grants of the scope in ctx (a
// tenant, or the platform). Every method authorizes the principal in ctx
// first: EFORBIDDEN when it may not, ENOTFOUND for unknown ids, ECONFLICT
// for a taken email or name, EINVALID for bad input.
type UserService interface {
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// ListUsers returns one page of the users (users.view_user) and how
	// many there are in all.
	ListUsers(ctx context.Context, q ListQuery) ([]*User, int, error)
	CreateUser(ctx context.Context, in UserCreate) (*User, error)
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)
	DeleteUser(ctx context.Context, id int64) error
	SetPassword(ctx context.Context, id int64, password string) error
	ChangePassword(ctx context.Context, oldPassword, newPassword string) error

	ListGroups(ctx context.Context) ([]*Group, error)
	CreateGroup(ctx context.Context, name string) (*Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	AddGroupMember(ctx context.Context, groupID, userID int64) error
	RemoveGroupMember(ctx context.Context, groupID, userID int64) error

	ListPermissions(ctx context.Context) ([]Permission, error)
	GrantPermission(ctx context.Context, g ObjectGrant) (*ObjectGrant, error)
	RevokeGrant(ctx context.Context, g ObjectGrant) error
	ListGrants(ctx context.Context) ([]*ObjectGrant, error)
}
