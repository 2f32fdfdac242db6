package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/token"
)

// Users implements taruvi.UserService for the scope in the context: a
// tenant's users, or the platform's admins.
type Users struct {
	db    *DB
	authz *Authz
}

var _ taruvi.UserService = (*Users)(nil)

// NewUsers returns the user service over db, authorizing through authz.
func NewUsers(db *DB, authz *Authz) *Users { return &Users{db: db, authz: authz} }

const userColumns = `id, email, username, first_name, last_name, is_active, is_owner, attributes,
	last_login_at, created_at, updated_at`

func scanUser(row pgx.Row, extra ...any) (*taruvi.User, error) {
	var u taruvi.User
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Username, &u.FirstName, &u.LastName, &u.IsActive, &u.IsOwner,
		&u.Attributes, &u.LastLoginAt, &u.CreatedAt, &u.UpdatedAt}, extra...)...)
	if u.Attributes == nil {
		u.Attributes = map[string]any{}
	}
	return &u, err
}

// collectUser is scanUser for pgx.CollectExactlyOneRow.
func collectUser(row pgx.CollectableRow) (*taruvi.User, error) { return scanUser(row) }

func findUser(ctx context.Context, tx pgx.Tx, id int64) (*taruvi.User, error) {
	rows, _ := tx.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, collectUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", id)
	}
	return u, err
}

// FindUserByID returns a user of the scope. A principal may always read
// itself; reading others needs users.view_user.
func (s *Users) FindUserByID(ctx context.Context, id int64) (*taruvi.User, error) {
	if p := taruvi.PrincipalFromContext(ctx); p == nil || p.UserID != id {
		if err := s.authz.Can(ctx, taruvi.PermViewUser, taruvi.Object{}); err != nil {
			return nil, err
		}
	}
	var u *taruvi.User
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		u, err = findUser(ctx, tx, id)
		return err
	})
	return u, err
}

// ListUsers returns one page of the users of the scope and how many
// match in all.
func (s *Users) ListUsers(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.User, int, error) {
	if err := s.authz.Can(ctx, taruvi.PermViewUser, taruvi.Object{}); err != nil {
		return nil, 0, err
	}
	lc := buildList(taruvi.UserListSpec, q, "u", nil)
	var users []*taruvi.User
	total := 0
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		users, total, err = listPage(ctx, tx, pageSQL(userColumns, "users", "u", lc.Where, lc),
			countSQL("users", "u", lc.Where), lc.Args, q.Offset(), scanUser)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// CreateUser adds a user. Making an owner takes an owner.
func (s *Users) CreateUser(ctx context.Context, in taruvi.UserCreate) (*taruvi.User, error) {
	if err := s.authz.Can(ctx, taruvi.PermAddUser, taruvi.Object{}); err != nil {
		return nil, err
	}
	if in.IsOwner {
		if err := s.authz.RequireOwner(ctx); err != nil {
			return nil, err
		}
	}
	in.Email = strings.TrimSpace(in.Email)
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" {
		in.Username = in.Email
	}
	if err := validateUser(in.Email, in.Username, in.FirstName, in.LastName); err != nil {
		return nil, err
	}
	hash := ""
	if in.Password != "" {
		if err := token.ValidatePassword(in.Password, in.Email, in.Username, in.FirstName, in.LastName,
			in.FirstName+" "+in.LastName); err != nil {
			return nil, err
		}
		var err error
		if hash, err = s.db.hasher.Hash(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	if in.Attributes == nil {
		in.Attributes = map[string]any{}
	}
	var u *taruvi.User
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO users (email, username, password_hash, first_name, last_name, is_owner, attributes)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+userColumns,
			in.Email, in.Username, hash, in.FirstName, in.LastName, in.IsOwner, in.Attributes)
		var err error
		if u, err = pgx.CollectExactlyOneRow(rows, collectUser); err != nil {
			return userConflict(err)
		}
		if t := taruvi.TenantFromContext(ctx); t != nil {
			_, err = s.db.enqueue(ctx, tx, welcomeEmail(t, u))
		}
		return err
	})
	return u, err
}

// welcomeEmail is the email a new tenant user gets.
func welcomeEmail(t *taruvi.Tenant, u *taruvi.User) taruvi.SendEmailArgs {
	return taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: t.Schema}, To: u.Email,
		Subject: "Welcome to " + t.Name,
		Body: "Hello " + u.Username + ",\n\nan account was created for you at " + t.Name +
			". Sign in with this email address.\n"}
}

// userConflict names the unique rule a write broke.
func userConflict(err error) error {
	if taruvi.ErrorCode(translate(err)) == taruvi.ECONFLICT {
		e := taruvi.Errorf(taruvi.ECONFLICT, "A user with this email or username exists already.")
		e.Wrapped = err
		return e
	}
	return err
}

func validateUser(email, username, first, last string) error {
	fields := map[string]string{}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		fields["email"] = "Enter a valid email address."
	}
	if username == "" || len(username) > 150 || strings.ContainsAny(username, " \t\r\n") {
		fields["username"] = "Use 1 to 150 characters without spaces."
	}
	if len(first) > 150 {
		fields["first_name"] = "Use at most 150 characters."
	}
	if len(last) > 150 {
		fields["last_name"] = "Use at most 150 characters."
	}
	if len(fields) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid user.", Fields: fields}
	}
	return nil
}

// UpdateUser changes the given fields. Changing the owner flag takes an
// owner; deactivating a user ends all of their sessions.
func (s *Users) UpdateUser(ctx context.Context, id int64, upd taruvi.UserUpdate) (*taruvi.User, error) {
	if err := s.authz.Can(ctx, taruvi.PermChangeUser, taruvi.Object{}); err != nil {
		return nil, err
	}
	if upd.IsOwner != nil {
		if err := s.authz.RequireOwner(ctx); err != nil {
			return nil, err
		}
	}
	var u *taruvi.User
	var ended []string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		if u.IsOwner {
			if err := s.authz.RequireOwner(ctx); err != nil {
				return err
			}
		}
		apply := func(dst *string, src *string) {
			if src != nil {
				*dst = strings.TrimSpace(*src)
			}
		}
		apply(&u.Email, upd.Email)
		apply(&u.Username, upd.Username)
		apply(&u.FirstName, upd.FirstName)
		apply(&u.LastName, upd.LastName)
		if upd.IsActive != nil {
			u.IsActive = *upd.IsActive
		}
		if upd.IsOwner != nil {
			u.IsOwner = *upd.IsOwner
		}
		if upd.Attributes != nil && *upd.Attributes != nil {
			u.Attributes = *upd.Attributes
		}
		if err := validateUser(u.Email, u.Username, u.FirstName, u.LastName); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `UPDATE users SET email = $2, username = $3, first_name = $4, last_name = $5,
			is_active = $6, is_owner = $7, attributes = $8, updated_at = now() WHERE id = $1 RETURNING `+userColumns,
			id, u.Email, u.Username, u.FirstName, u.LastName, u.IsActive, u.IsOwner, u.Attributes)
		if u, err = pgx.CollectExactlyOneRow(rows, collectUser); err != nil {
			return userConflict(err)
		}
		if !u.IsActive {
			ended, err = revokeUserSessions(ctx, tx, id, "user deactivated")
			return err
		}
		return notifyUserChanged(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	s.db.sessionsEnded(ctx, id, ended)
	return u, nil
}

// guardOwner lets only owners (and platform admins) act on an owner: a
// member allowed to change users must not reset an owner's password and
// take over the tenant.
func (s *Users) guardOwner(ctx context.Context, tx pgx.Tx, id int64) error {
	var owner bool
	if err := tx.QueryRow(ctx, `SELECT is_owner FROM users WHERE id = $1`, id).Scan(&owner); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", id)
		}
		return err
	}
	if owner {
		return s.authz.RequireOwner(ctx)
	}
	return nil
}

// DeleteUser removes a user and, with them, their sessions and keys.
func (s *Users) DeleteUser(ctx context.Context, id int64) error {
	if err := s.authz.Can(ctx, taruvi.PermDeleteUser, taruvi.Object{}); err != nil {
		return err
	}
	if p := taruvi.PrincipalFromContext(ctx); p != nil && p.UserID == id {
		return taruvi.Errorf(taruvi.ECONFLICT, "You cannot delete yourself.")
	}
	var ended []string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		if err := s.guardOwner(ctx, tx, id); err != nil {
			return err
		}
		if ended, err = revokeUserSessions(ctx, tx, id, "user deleted"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return err
	}
	s.db.sessionsEnded(ctx, id, ended)
	return nil
}

// SetPassword sets a user's password (an administrator's reset) and ends
// all of their sessions.
func (s *Users) SetPassword(ctx context.Context, id int64, password string) error {
	if err := s.authz.Can(ctx, taruvi.PermChangeUser, taruvi.Object{}); err != nil {
		return err
	}
	return s.db.setPassword(ctx, id, password, s.guardOwner)
}

// ChangePassword changes the principal's own password after checking the
// old one, and ends all of their sessions (the caller signs in again).
func (s *Users) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil || p.UserID == 0 {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	var hash string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, p.UserID).Scan(&hash)
	})
	if err != nil {
		return err
	}
	if ok, err := s.db.hasher.Verify(ctx, hash, oldPassword); taruvi.ErrorCode(err) == taruvi.EUNAVAILABLE {
		return err
	} else if !ok {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid password.",
			Fields: map[string]string{"old_password": "The current password is wrong."}}
	}
	err = s.db.setPassword(ctx, p.UserID, newPassword, nil)
	var e *taruvi.Error
	if errors.As(err, &e) && e.Fields["password"] != "" {
		// The request names the field new_password.
		e.Fields = map[string]string{"new_password": e.Fields["password"]}
	}
	return err
}

// setPassword sets a password and ends the user's sessions; guard, when
// set, runs first in the same transaction.
func (db *DB) setPassword(ctx context.Context, id int64, password string, guard func(context.Context, pgx.Tx, int64) error) error {
	var email, username, first, last string
	err := db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT email, username, first_name, last_name FROM users WHERE id = $1`, id).
			Scan(&email, &username, &first, &last)
	})
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", id)
	} else if err != nil {
		return err
	}
	if err := token.ValidatePassword(password, email, username, first, last, first+" "+last); err != nil {
		return err
	}
	hash, err := db.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	var ended []string
	err = db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if guard != nil {
			if err := guard(ctx, tx, id); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", id)
		}
		ended, err = revokeUserSessions(ctx, tx, id, "password changed")
		return err
	})
	if err != nil {
		return err
	}
	db.sessionsEnded(ctx, id, ended)
	return nil
}

// SetPasswordAsOperator sets a password from the command line, where there
// is no principal: `taruvi users set-password`.
func (db *DB) SetPasswordAsOperator(ctx context.Context, email, password string) error {
	var id int64
	err := db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, email).Scan(&id)
	})
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return taruvi.Errorf(taruvi.ENOTFOUND, "No user with email %q.", email)
	} else if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	return db.setPassword(ctx, id, password, nil)
}
