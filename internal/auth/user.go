package auth

import (
	"context"
	"errors"

	"taruvi"
	"taruvi/internal/token"
)

// UserStore is the store of users, groups and grants (postgres.Users):
// taruvi.UserService without its password rules, which Users adds. Its
// service methods authorize the principal in ctx themselves.
type UserStore interface {
	FindUserByID(ctx context.Context, id int64) (*taruvi.User, error)
	ListUsers(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.User, int, error)
	UpdateUser(ctx context.Context, id int64, upd taruvi.UserUpdate) (*taruvi.User, error)
	DeleteUser(ctx context.Context, id int64) error
	ListGroups(ctx context.Context) ([]*taruvi.Group, error)
	CreateGroup(ctx context.Context, name string) (*taruvi.Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	AddGroupMember(ctx context.Context, groupID, userID int64) error
	RemoveGroupMember(ctx context.Context, groupID, userID int64) error
	ListPermissions(ctx context.Context) ([]taruvi.Permission, error)
	GrantPermission(ctx context.Context, g taruvi.ObjectGrant) (*taruvi.ObjectGrant, error)
	RevokeGrant(ctx context.Context, g taruvi.ObjectGrant) error
	ListGrants(ctx context.Context) ([]*taruvi.ObjectGrant, error)

	// CreateUser authorizes and checks in, then calls hash for the
	// password's hash when in has a password, then stores the user.
	CreateUser(ctx context.Context, in taruvi.UserCreate, hash func(context.Context, taruvi.UserCreate) (string, error)) (*taruvi.User, error)
	// FindPasswordUser returns a user and their password hash without
	// authorizing.
	FindPasswordUser(ctx context.Context, id int64) (*taruvi.User, string, error)
	// SetPasswordHash stores a password hash and ends the user's sessions;
	// with guard, acting on an owner takes an owner.
	SetPasswordHash(ctx context.Context, id int64, hash string, guard bool) error
	FindUserIDByEmail(ctx context.Context, email string) (int64, error)
}

// Users implements taruvi.UserService: the store's users, groups and
// grants, with the password rules (strength, hashing, the old password
// before a change) in front of it.
type Users struct {
	UserStore
	authz  taruvi.Authorizer
	hasher *token.Hasher
}

var _ taruvi.UserService = (*Users)(nil)

// NewUsers returns the user service over store, authorizing password
// resets through authz and hashing with hasher (share the authentication
// service's, so that one bound holds for every hash in the process).
func NewUsers(store UserStore, authz taruvi.Authorizer, hasher *token.Hasher) *Users {
	if hasher == nil {
		hasher = token.NewHasher(token.HasherOptions{})
	}
	return &Users{UserStore: store, authz: authz, hasher: hasher}
}

// CreateUser adds a user. Making an owner takes an owner; a password, when
// given, must pass the password rules.
func (s *Users) CreateUser(ctx context.Context, in taruvi.UserCreate) (*taruvi.User, error) {
	return s.UserStore.CreateUser(ctx, in, func(ctx context.Context, in taruvi.UserCreate) (string, error) {
		if err := token.ValidatePassword(in.Password, in.Email, in.Username, in.FirstName, in.LastName,
			in.FirstName+" "+in.LastName); err != nil {
			return "", err
		}
		return s.hasher.Hash(ctx, in.Password)
	})
}

// SetPassword sets a user's password (an administrator's reset) and ends
// all of their sessions. Resetting an owner's takes an owner.
func (s *Users) SetPassword(ctx context.Context, id int64, password string) error {
	if err := s.authz.Can(ctx, taruvi.PermChangeUser, taruvi.Object{}); err != nil {
		return err
	}
	return s.setPassword(ctx, id, password, true)
}

// ChangePassword changes the principal's own password after checking the
// old one, and ends all of their sessions (the caller signs in again).
func (s *Users) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil || p.UserID == 0 {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	_, hash, err := s.FindPasswordUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if ok, err := s.hasher.Verify(ctx, hash, oldPassword); taruvi.ErrorCode(err) == taruvi.EUNAVAILABLE {
		return err
	} else if !ok {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid password.",
			Fields: map[string]string{"old_password": "The current password is wrong."}}
	}
	err = s.setPassword(ctx, p.UserID, newPassword, false)
	var e *taruvi.Error
	if errors.As(err, &e) && e.Fields["password"] != "" {
		// The request names the field new_password.
		e.Fields = map[string]string{"new_password": e.Fields["password"]}
	}
	return err
}

// SetPasswordAsOperator sets a password from the command line, where there
// is no principal: `taruvi users set-password`.
func (s *Users) SetPasswordAsOperator(ctx context.Context, email, password string) error {
	id, err := s.FindUserIDByEmail(ctx, email)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, id, password, false)
}

// setPassword checks password against the rules and the user's names,
// stores its hash and ends the user's sessions.
func (s *Users) setPassword(ctx context.Context, id int64, password string, guard bool) error {
	u, _, err := s.FindPasswordUser(ctx, id)
	if err != nil {
		return err
	}
	if err := token.ValidatePassword(password, u.Email, u.Username, u.FirstName, u.LastName,
		u.FirstName+" "+u.LastName); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.SetPasswordHash(ctx, id, hash, guard)
}
