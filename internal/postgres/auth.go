package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// AuthStore is the SQL behind sign-in, sessions and API keys, for the
// scope in the context (a tenant's users, or the platform's admins). It
// decides nothing: the rules (which password verifies, which token is
// current, what a reuse ends) are in internal/auth, which calls it.
type AuthStore struct {
	db *DB
}

// NewAuthStore returns the authentication store over db.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// FindLogin returns the id, password hash and active flag of the user
// whose lower-cased email (or username, when byEmail is false) is ident;
// ENOTFOUND when there is none.
func (s *AuthStore) FindLogin(ctx context.Context, ident string, byEmail bool) (id int64, hash string, active bool, err error) {
	where := "lower(email) = $1"
	if !byEmail {
		where = "lower(username) = $1"
	}
	err = s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, password_hash, is_active FROM users WHERE `+where, ident).
			Scan(&id, &hash, &active)
	})
	return id, hash, active, err
}

// ReplacePasswordHash stores hash as the password hash of the user in
// place of old, unless the hash changed meanwhile (then nothing happens).
func (s *AuthStore) ReplacePasswordHash(ctx context.Context, userID int64, old, hash string) error {
	return s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, userID, old, hash)
		return err
	})
}

// CreateSession stores a new session of its user (refreshHash is nil for
// a browser session, tokenHash for any but an app sign-in's) from client,
// and records the sign-in at now as the user's last.
func (s *AuthStore) CreateSession(ctx context.Context, sid string, userID int64, client taruvi.Client,
	expires time.Time, refreshHash, tokenHash []byte, now time.Time) error {
	return s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH s AS (INSERT INTO sessions (id, user_id, ip, user_agent, expires_at, refresh_hash, token_hash)
				VALUES ($1, $2, $3, $4, $5, $6, $8))
			UPDATE users SET last_login_at = $7 WHERE id = $2`,
			sid, userID, truncate(client.IP, 64), truncate(client.UserAgent, 512), expires, refreshHash, now, tokenHash)
		return err
	})
}

// FindSession returns the session sid with its user's active flag;
// ENOTFOUND when the scope has no such session.
func (s *AuthStore) FindSession(ctx context.Context, sid string) (*taruvi.Session, error) {
	r := &taruvi.Session{ID: sid}
	var nextJTI *string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.refresh_hash, s.prev_hash, s.rotated_at, s.next_jti::text, s.next_iat,
				s.expires_at, s.revoked_at, s.user_id, u.is_active
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = $1`, sid).
			Scan(&r.RefreshHash, &r.PrevHash, &r.RotatedAt, &nextJTI, &r.NextIAT, &r.ExpiresAt, &r.RevokedAt, &r.UserID, &r.UserActive)
	})
	if err != nil {
		return nil, err
	}
	if nextJTI != nil {
		r.NextJTI = *nextJTI
	}
	return r, nil
}

// FindSessionPrincipal returns the user of session sid as a principal
// (UserID, Email, IsOwner), whether the user is active and whether the
// session was revoked; ENOTFOUND when the scope has no such session.
func (s *AuthStore) FindSessionPrincipal(ctx context.Context, sid string) (p taruvi.Principal, active, revoked bool, err error) {
	var revokedAt *time.Time
	err = s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.revoked_at, u.id, u.email, u.is_owner, u.is_active
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, sid).
			Scan(&revokedAt, &p.UserID, &p.Email, &p.IsOwner, &active)
	})
	return p, active, revokedAt != nil, err
}

// FindLiveSession returns the user of session sid as a principal (UserID,
// Email, IsOwner), when the session expires and the hash of its session
// token (nil when it has none), if it is neither revoked nor expired at
// now and its user is active; ENOTFOUND otherwise.
func (s *AuthStore) FindLiveSession(ctx context.Context, sid string, now time.Time) (p taruvi.Principal, expires time.Time, tokenHash []byte, err error) {
	err = s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT u.id, u.email, u.is_owner, s.expires_at, s.token_hash
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.is_active`, sid, now).
			Scan(&p.UserID, &p.Email, &p.IsOwner, &expires, &tokenHash)
	})
	return p, expires, tokenHash, err
}

// SessionUser returns the id of the user of session sid; ENOTFOUND when
// the scope has no such session.
func (s *AuthStore) SessionUser(ctx context.Context, sid string) (userID int64, err error) {
	err = s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT user_id FROM sessions WHERE id = $1`, sid).Scan(&userID)
	})
	return userID, err
}

// rotateSQL is the exchange of a session's current refresh token. If the
// token is current, the session live and its user active, it records the
// token as the previous one with the claims of the pair it got, stores the
// successor's hash and extends the session. It touches no indexed column,
// so it is a heap-only update. Parameters: session id, token hash, now,
// successor hash, jti, iat, new expiry.
const rotateSQL = `UPDATE sessions s SET prev_hash = s.refresh_hash, refresh_hash = $4, rotated_at = $3,
		next_jti = $5, next_iat = $6, expires_at = $7
	FROM users u
	WHERE s.id = $1 AND s.refresh_hash = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
		AND u.id = s.user_id AND u.is_active
	RETURNING s.user_id`

// RotateRefresh exchanges the refresh token of session sid hashed to hash
// for its successor (hashed to next), recording the claims jti and iat of
// the access token minted with it and extending the session to expires. It
// returns the session's user and true, or false when the token is not the
// session's current one, the session ended or its user is inactive.
//
// It is the common case of a refresh in one round trip: the scope,
// rotateSQL and the commit pipelined (Pipelined). It does not wait for the
// WAL flush (AsyncCommit), a trade made here: a rotation lost in a crash
// makes the client's newest token look like a reuse (the session reverted
// to the token before), so the session ends, a refresh_token_reuse event is
// logged, and the client signs in again. And it is Quiet: a rotation
// changes nothing the tenant's caches hold.
func (s *AuthStore) RotateRefresh(ctx context.Context, sid string, hash, next []byte, jti string, iat, now, expires time.Time) (int64, bool, error) {
	var userID int64
	found := false
	unit := &pgx.Batch{}
	unit.Queue(rotateSQL, sid, hash, now, next, jti, iat, expires).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			found = true
			if err := rows.Scan(&userID); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err := s.db.InScope(ctx, nil, Pipelined(unit), AsyncCommit(), Quiet()); err != nil {
		return 0, false, fmt.Errorf("rotate refresh token: %w", err)
	}
	return userID, found, nil
}

// RevokeSessions ends the live sessions among sids for reason, announces
// each on RevocationsChannel and returns the ids it ended, which the
// caller applies on this replica at once.
func (s *AuthStore) RevokeSessions(ctx context.Context, sids []string, reason string) ([]string, error) {
	var ended []string
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		ended, err = revokeSessions(ctx, tx, "id = ANY($1::uuid[])", sids, reason)
		return err
	})
	return ended, err
}

// revokeSessions ends the sessions matching where (with the one argument
// arg), announces each on RevocationsChannel, so every replica refuses
// their access tokens from the next request on, and returns their ids so
// that this replica can apply them itself once the transaction commits.
func revokeSessions(ctx context.Context, tx pgx.Tx, where string, arg any, reason string) ([]string, error) {
	rows, _ := tx.Query(ctx, `WITH r AS (UPDATE sessions SET revoked_at = now(), revoke_reason = $2
		WHERE revoked_at IS NULL AND `+where+` RETURNING id)
		SELECT id::text, pg_notify('`+RevocationsChannel+`', 's|' || $3 || '|' || id::text) FROM r`,
		arg, reason, taruvi.ScopeKeyFromContext(ctx))
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var id string
		var notified any
		err := row.Scan(&id, &notified)
		return id, err
	})
}

// revokeUserSessions ends every session of a user and tells every replica
// to forget what it cached about the user.
func revokeUserSessions(ctx context.Context, tx pgx.Tx, userID int64, reason string) ([]string, error) {
	ended, err := revokeSessions(ctx, tx, "user_id = $1", userID, reason)
	if err != nil {
		return nil, err
	}
	return ended, notifyUserChanged(ctx, tx, userID)
}

// notifyUserChanged tells every replica to forget what it cached about the
// user's sessions (their owner flag, say).
func notifyUserChanged(ctx context.Context, tx pgx.Tx, userID int64) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify('`+RevocationsChannel+`', $1)`,
		"u|"+taruvi.ScopeKeyFromContext(ctx)+"|"+formatID(userID))
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
