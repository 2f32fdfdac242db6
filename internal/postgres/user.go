package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// Users is the store of the users, groups and grants of the scope in the
// context: a tenant's users, or the platform's admins. Its methods named
// as taruvi.UserService's authorize the principal in ctx first, as that
// interface says; the password methods below them do not, for their
// caller has. It keeps no password rules: those are internal/auth's
// (auth.Users), which hands it hashes.
type Users struct {
	db    *DB
	authz taruvi.Authorizer
	ended SessionsEnded
}

// SessionsEnded applies on this replica, at once, what a committed
// transaction did to sessions: the sessions ended are refused from now on
// and nothing cached about user userID (when not 0) is trusted any more.
// Other replicas learn it from RevocationsChannel.
type SessionsEnded func(ctx context.Context, userID int64, ended []string)

// NewUsers returns the user store over db, authorizing through authz;
// ended (nil: nothing to tell) hears of the sessions its writes end.
func NewUsers(db *DB, authz taruvi.Authorizer, ended SessionsEnded) *Users {
	if ended == nil {
		ended = func(context.Context, int64, []string) {}
	}
	return &Users{db: db, authz: authz, ended: ended}
}

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

// CreateUser adds a user. Making an owner takes an owner. A password, when
// given, is checked against the password rules and hashed by hash (the
// rules are internal/auth's), after authorization and the other fields'
// checks.
func (s *Users) CreateUser(ctx context.Context, in taruvi.UserCreate,
	hash func(context.Context, taruvi.UserCreate) (string, error)) (*taruvi.User, error) {
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
	passwordHash := ""
	if in.Password != "" {
		var err error
		if passwordHash, err = hash(ctx, in); err != nil {
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
			in.Email, in.Username, passwordHash, in.FirstName, in.LastName, in.IsOwner, in.Attributes)
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
	s.ended(ctx, id, ended)
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
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23503" {
			// A RESTRICT or NO ACTION foreign key of a datatable's rows.
			return &taruvi.Error{Code: taruvi.ECONFLICT, Message: "Rows of a datatable still reference this user.", Wrapped: err}
		}
		return err
	})
	if err != nil {
		return err
	}
	s.ended(ctx, id, ended)
	return nil
}

// FindPasswordUser returns a user of the scope (to check a new password
// against their names) and their password hash, without authorizing: the
// caller does (auth.Users). ENOTFOUND when there is no such user.
func (s *Users) FindPasswordUser(ctx context.Context, id int64) (*taruvi.User, string, error) {
	var u *taruvi.User
	var hash string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE id = $1`, id)
		var err error
		u, err = pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (*taruvi.User, error) {
			return scanUser(row, &hash)
		})
		return err
	})
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return nil, "", taruvi.Errorf(taruvi.ENOTFOUND, "User %d not found.", id)
	}
	return u, hash, err
}

// SetPasswordHash stores hash as user id's password hash and ends all of
// their sessions. With guard, acting on an owner takes an owner, checked
// in the same transaction: a member allowed to change users must not
// reset an owner's password and take over the tenant.
func (s *Users) SetPasswordHash(ctx context.Context, id int64, hash string, guard bool) error {
	var ended []string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if guard {
			if err := s.guardOwner(ctx, tx, id); err != nil {
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
	s.ended(ctx, id, ended)
	return nil
}

// FindUserIDByEmail returns the id of the user of the scope with this
// email (compared case-insensitively), without authorizing, for the
// command line; ENOTFOUND when there is none.
func (s *Users) FindUserIDByEmail(ctx context.Context, email string) (int64, error) {
	var id int64
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, email).Scan(&id)
	})
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return 0, taruvi.Errorf(taruvi.ENOTFOUND, "No user with email %q.", email)
	} else if err != nil {
		return 0, fmt.Errorf("find user: %w", err)
	}
	return id, nil
}
