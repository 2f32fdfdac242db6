package postgres

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/token"
)

// AuthOptions configure the authentication service.
type AuthOptions struct {
	Issuer     *token.Issuer
	Sealer     *token.Sealer // derives refresh-token successors
	AccessTTL  time.Duration // default 15m
	RefreshTTL time.Duration // default 7 days
	Grace      time.Duration // a refresh token retried within this returns the same pair; default 10s
	Accounts   taruvi.Throttle
	Addresses  taruvi.Throttle
	Log        *slog.Logger // security events
	Now        func() time.Time
}

// Auth implements taruvi.AuthService for tenant users and platform admins.
type Auth struct {
	db   *DB
	opts AuthOptions
}

var _ taruvi.AuthService = (*Auth)(nil)

// NewAuth returns the authentication service. Call Listen (or feed
// HandleRevocation from Listen) so revocations on other replicas apply here.
func NewAuth(db *DB, opts AuthOptions) *Auth {
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 15 * time.Minute
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 7 * 24 * time.Hour
	}
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Revoked marks must outlive every access token they refuse.
	db.sessions.extendTTL(opts.AccessTTL)
	return &Auth{db: db, opts: opts}
}

var errBadCredentials = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid credentials.")

func (a *Auth) security(ctx context.Context, event string, attrs ...any) {
	attrs = append([]any{"category", "security", "event", event, "tenant", taruvi.AudienceFromContext(ctx),
		"request_id", taruvi.RequestIDFromContext(ctx)}, attrs...)
	a.opts.Log.WarnContext(ctx, event, attrs...)
}

// Login checks credentials and opens a session. Unknown users, wrong
// passwords and inactive users get the same error after the same work.
func (a *Auth) Login(ctx context.Context, c taruvi.Credentials, client taruvi.Client) (*taruvi.TokenPair, error) {
	userID, err := a.checkCredentials(ctx, c, client)
	if err != nil {
		return nil, err
	}
	pair, err := a.openSession(ctx, userID, client)
	if err == nil {
		a.security(ctx, "login", "user_id", userID, "ip", client.IP)
	}
	return pair, err
}

// checkCredentials returns the id of the active user c names when the
// password is right, counting failures against the account and the
// address; every sign-in, by token or by browser, goes through it.
func (a *Auth) checkCredentials(ctx context.Context, c taruvi.Credentials, client taruvi.Client) (int64, error) {
	ident, byEmail := strings.ToLower(strings.TrimSpace(c.Email)), true
	if ident == "" {
		ident, byEmail = strings.ToLower(strings.TrimSpace(c.Username)), false
	}
	if ident == "" || c.Password == "" {
		fields := map[string]string{}
		if ident == "" {
			fields["email"] = "Give an email or a username."
		}
		if c.Password == "" {
			fields["password"] = "This field is required."
		}
		return 0, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid login request.", Fields: fields}
	}
	accountKey := taruvi.ScopeKeyFromContext(ctx) + "|" + ident
	if wait := max(a.opts.Accounts.Blocked(ctx, accountKey), a.opts.Addresses.Blocked(ctx, client.IP)); wait > 0 {
		a.security(ctx, "login_throttled", "account", ident, "ip", client.IP)
		return 0, &taruvi.Error{Code: taruvi.ERATELIMITED, Message: "Too many failed sign-ins; try again later.", RetryAfter: wait}
	}
	var u struct {
		id     int64
		hash   string
		active bool
	}
	where := "lower(email) = $1"
	if !byEmail {
		where = "lower(username) = $1"
	}
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, password_hash, is_active FROM users WHERE `+where, ident).
			Scan(&u.id, &u.hash, &u.active)
	})
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return 0, err
	}
	// An account's email and username share one count of failures, kept
	// under its id. An unknown account gets a key of its own in that
	// place, so that both answers make the same calls to the throttle (each
	// a round trip to Redis) and take the same time.
	idKey := taruvi.ScopeKeyFromContext(ctx) + "|?" + ident
	if u.id != 0 {
		idKey = taruvi.ScopeKeyFromContext(ctx) + "|#" + formatID(u.id)
	}
	keys := []string{accountKey, idKey}
	if wait := a.opts.Accounts.Blocked(ctx, idKey); wait > 0 {
		a.security(ctx, "login_throttled", "account", ident, "ip", client.IP)
		return 0, &taruvi.Error{Code: taruvi.ERATELIMITED, Message: "Too many failed sign-ins; try again later.", RetryAfter: wait}
	}
	// An unknown user, or one without a password, costs a verify too.
	ok, err := a.db.hasher.Verify(ctx, u.hash, c.Password)
	if err != nil { // a busy hasher's EUNAVAILABLE shows through
		return 0, fmt.Errorf("verify password of user %d: %w", u.id, err)
	}
	if !ok || !u.active {
		for _, k := range keys {
			a.opts.Accounts.Fail(ctx, k)
		}
		a.opts.Addresses.Fail(ctx, client.IP)
		a.security(ctx, "login_failed", "account", ident, "ip", client.IP)
		return 0, errBadCredentials
	}
	for _, k := range keys {
		a.opts.Accounts.Reset(ctx, k)
	}
	if token.NeedsRehash(u.hash) {
		a.rehash(ctx, u.id, u.hash, c.Password)
	}
	return u.id, nil
}

// rehash stores a new hash of a user's password, made with the current
// parameters, in place of old, unless the password changed meanwhile. The
// sign-in succeeds whatever happens here: a busy hasher or a failed update
// leaves the old hash, which still verifies, for the next sign-in.
func (a *Auth) rehash(ctx context.Context, userID int64, old, pw string) {
	hash, err := a.db.hasher.Hash(ctx, pw)
	if err == nil {
		err = a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, userID, old, hash)
			return err
		})
	}
	if err != nil {
		a.opts.Log.InfoContext(ctx, "password rehash skipped", "user_id", userID, "error", err)
	}
}

func (a *Auth) openSession(ctx context.Context, userID int64, client taruvi.Client) (*taruvi.TokenPair, error) {
	now := a.opts.Now().Truncate(time.Second)
	sidBytes := newUUIDBytes()
	sid, jti := formatUUID(sidBytes), newUUID()
	refresh := token.NewRefreshToken(a.opts.Sealer, sidBytes)
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH s AS (INSERT INTO sessions (id, user_id, ip, user_agent, expires_at, refresh_hash) VALUES ($1, $2, $3, $4, $5, $6))
			UPDATE users SET last_login_at = $7 WHERE id = $2`,
			sid, userID, truncate(client.IP, 64), truncate(client.UserAgent, 512), now.Add(a.opts.RefreshTTL), token.Hash(refresh), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.pair(ctx, userID, sid, jti, now, refresh)
}

// pair signs the access token for these claims and puts it beside refresh.
// The same inputs always give the same pair (Ed25519 is deterministic).
func (a *Auth) pair(ctx context.Context, userID int64, sid, jti string, iat time.Time, refresh string) (*taruvi.TokenPair, error) {
	access, err := a.opts.Issuer.Sign(token.Claims{
		Subject:   strconv.FormatInt(userID, 10),
		Audience:  taruvi.AudienceFromContext(ctx),
		TenantID:  tenantID(ctx),
		SessionID: sid,
		ID:        jti,
		IssuedAt:  iat,
		ExpiresAt: iat.Add(a.opts.AccessTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	return &taruvi.TokenPair{Access: access, Refresh: refresh, TokenType: "Bearer",
		ExpiresIn: int(iat.Add(a.opts.AccessTTL).Sub(a.opts.Now()).Seconds())}, nil
}

// tenantID is the tid claim of the scope of ctx: the tenant's ID, which
// no later tenant of the same schema name has, or "" on the platform.
func tenantID(ctx context.Context) string {
	if t := taruvi.TenantFromContext(ctx); t != nil {
		return formatID(t.ID)
	}
	return ""
}

// Refresh exchanges a refresh token for a new pair. Each token works once;
// a retry within the grace window returns the same pair, and a reuse after
// it ends the whole session (the family) and is logged as a security event.
func (a *Auth) Refresh(ctx context.Context, refresh string, client taruvi.Client) (*taruvi.TokenPair, error) {
	session, ok := token.ParseRefreshToken(a.opts.Sealer, refresh)
	if !ok {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid refresh token.")
	}
	// What every outcome but a refusal needs, worked out once.
	sid, hash, now := formatUUID(session), token.Hash(refresh), a.opts.Now()
	successor := token.NextRefreshToken(a.opts.Sealer, session, refresh)
	if pair, err := a.rotate(ctx, sid, hash, successor, now); err != nil || pair != nil {
		return pair, err
	}
	// The token is not its session's current one, or the session ended:
	// the transaction below tells which, and answers a retry or a reuse.
	var (
		pair    *taruvi.TokenPair
		outcome error
		revoked bool // this call ended the session
	)
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var r struct {
			current, prev      []byte
			rotatedAt, nextIAT *time.Time
			nextJTI            *string
			expires            time.Time
			revoked            *time.Time
			userID             int64
			active             bool
		}
		err := tx.QueryRow(ctx, `SELECT s.refresh_hash, s.prev_hash, s.rotated_at, s.next_jti::text, s.next_iat,
				s.expires_at, s.revoked_at, s.user_id, u.is_active
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = $1 FOR UPDATE OF s`, sid).
			Scan(&r.current, &r.prev, &r.rotatedAt, &r.nextJTI, &r.nextIAT, &r.expires, &r.revoked, &r.userID, &r.active)
		if errors.Is(err, pgx.ErrNoRows) {
			// A session of another tenant, or one purged after it ended.
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid refresh token.")
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case r.revoked != nil || !r.active || !now.Before(r.expires):
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
			return nil
		case subtle.ConstantTimeCompare(hash, r.current) == 1:
			// The current token, which rotate found taken by a concurrent
			// exchange that has since rolled back: exchange it here.
			iat, jti := now.Truncate(time.Second), newUUID()
			tag, err := tx.Exec(ctx, rotateSQL(""), sid, hash, now, token.Hash(successor), jti, iat, now.Add(a.opts.RefreshTTL))
			if err != nil {
				return err
			} else if tag.RowsAffected() != 1 { // the user was deactivated meanwhile
				outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
				return nil
			}
			pair, err = a.pair(ctx, r.userID, sid, jti, iat, successor)
			return err
		case subtle.ConstantTimeCompare(hash, r.prev) == 1 && r.rotatedAt != nil && now.Sub(*r.rotatedAt) <= a.opts.Grace:
			pair, err = a.pair(ctx, r.userID, sid, *r.nextJTI, *r.nextIAT, successor)
			return err
		}
		// A token the server minted for this session that is neither its
		// current one nor a retry of the last exchange: it was used before.
		a.security(ctx, "refresh_token_reuse", "user_id", r.userID, "session_id", sid, "ip", client.IP)
		outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Refresh token reused; the session has been ended.")
		revoked = true
		_, err = revokeSessions(ctx, tx, "id = $1", sid, "refresh token reuse")
		return err
	})
	if err != nil {
		return nil, err
	}
	if revoked {
		// This replica refuses the family's access tokens at once; the
		// others on the notification.
		a.db.sessionsEnded(ctx, 0, []string{sid})
	}
	return pair, outcome
}

// rotateSQL is the exchange of a session's current refresh token, with
// table names after prefix (a schema and a dot, or nothing). If the token
// is current, the session live and its user active, it records the token
// as the previous one with the claims of the pair it got, stores the
// successor's hash and extends the session. It touches no indexed column,
// so it is a heap-only update. Parameters: session id, token hash, now,
// successor hash, jti, iat, new expiry.
func rotateSQL(prefix string) string {
	return `UPDATE ` + prefix + `sessions s SET prev_hash = s.refresh_hash, refresh_hash = $4, rotated_at = $3,
			next_jti = $5, next_iat = $6, expires_at = $7
		FROM ` + prefix + `users u
		WHERE s.id = $1 AND s.refresh_hash = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
			AND u.id = s.user_id AND u.is_active
		RETURNING s.user_id`
}

// rotate is the common case of Refresh in one round trip: a batch, run as
// one implicit transaction, that scopes it and runs rotateSQL for the token
// of session sid hashed to hash, whose successor is given. It returns
// nil, nil when the token does not qualify, and leaves that case to the
// full transaction. Table names are qualified with the schema because the
// batch's statements are prepared before the scope is set.
func (a *Auth) rotate(ctx context.Context, sid string, hash []byte, successor string, now time.Time) (*taruvi.TokenPair, error) {
	schema, role, err := a.db.scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	iat, jti := now.Truncate(time.Second), newUUID()
	b := &pgx.Batch{}
	// Not waiting for the WAL flush is a trade made here: a rotation lost
	// in a crash makes the client's newest token look like a reuse (the
	// session reverted to the token before), so the session ends, a
	// refresh_token_reuse event is logged, and the client signs in again.
	// The search_path stays pg_catalog, the pool's default, under which the
	// statement below was prepared: it names its tables in full, and
	// running it under another search_path would make PostgreSQL plan it
	// again each time.
	args := scopeArgs(ctx, schema, role)
	args[0] = "pg_catalog"
	b.Queue(scopeSQL+`, set_config('synchronous_commit', 'off', true)`, args...)
	b.Queue(rotateSQL(pgx.Identifier{schema}.Sanitize()+"."),
		sid, hash, now, token.Hash(successor), jti, iat, now.Add(a.opts.RefreshTTL))
	var userID int64
	conn, release, err := a.db.acquireLane(ctx, schema)
	if err != nil {
		return nil, err
	}
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&userID)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	release()
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, translate(fmt.Errorf("rotate refresh token: %w", err))
	}
	return a.pair(ctx, userID, sid, jti, iat, successor)
}

// Logout ends the principal's session, and refresh's session when given
// (it must be the principal's own).
func (a *Auth) Logout(ctx context.Context, refresh string) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	var ended []string
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if p.SessionID != "" {
			ended = append(ended, p.SessionID)
			if _, err := revokeSessions(ctx, tx, "id = $1", p.SessionID, "logout"); err != nil {
				return err
			}
		}
		if refresh == "" {
			return nil
		}
		var userID int64
		sidBytes, ok := token.ParseRefreshToken(a.opts.Sealer, refresh)
		sid := formatUUID(sidBytes)
		err := pgx.ErrNoRows
		if ok {
			err = tx.QueryRow(ctx, `SELECT user_id FROM sessions WHERE id = $1`, sid).Scan(&userID)
		}
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && userID != p.UserID) {
			return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid refresh token.", Fields: map[string]string{"refresh": "Not a refresh token of yours."}}
		} else if err != nil {
			return err
		}
		ended = append(ended, sid)
		_, err = revokeSessions(ctx, tx, "id = $1", sid, "logout")
		return err
	})
	if err != nil {
		return err
	}
	a.db.sessionsEnded(ctx, 0, ended)
	return nil
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

// sessionsEnded applies, on this replica and at once, what a committed
// transaction did to sessions: the ended ones are refused from now on, and
// nothing cached about the user is trusted any more.
func (db *DB) sessionsEnded(ctx context.Context, userID int64, ended []string) {
	scope := taruvi.ScopeKeyFromContext(ctx)
	for _, sid := range ended {
		db.sessions.revoke(scope + "|" + sid)
	}
	if userID != 0 {
		db.sessions.apply("u|" + scope + "|" + formatID(userID))
	}
}

// HandleRevocation applies a notification from RevocationsChannel: an
// ended session, a changed user, or a tenant gone, whose sessions and
// cached reads this replica forgets.
func (a *Auth) HandleRevocation(payload string) { a.db.revoked(payload) }

// revoked applies a RevocationsChannel payload on this replica; a
// tenant's deletion ("t|<scope key>") also drops its hot reads and tells
// the followers of OnTenantChange.
func (db *DB) revoked(payload string) {
	db.sessions.apply(payload)
	if scope, ok := strings.CutPrefix(payload, "t|"); ok {
		db.reads.forget(scope)
	}
}

// ResetSessions forgets every cached session (after the listener
// reconnected and may have missed revocations).
func (a *Auth) ResetSessions() { a.db.sessions.reset() }

// Authenticate implements taruvi.AuthService.
func (a *Auth) Authenticate(ctx context.Context, authorization string) (*taruvi.Principal, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		return a.authenticateAccess(ctx, cred)
	case strings.EqualFold(scheme, "Api-Key") && cred != "":
		return a.authenticateAPIKey(ctx, cred)
	}
	return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Use `Authorization: Bearer <token>` or `Authorization: Api-Key <key>`.")
}

func (a *Auth) authenticateAccess(ctx context.Context, jwt string) (*taruvi.Principal, error) {
	aud := taruvi.AudienceFromContext(ctx)
	claims, err := a.opts.Issuer.Verify(ctx, jwt, aud, a.opts.Now())
	if err != nil {
		return nil, err
	}
	// The audience is the schema name, which a tenant created again after
	// a deletion takes again; the tenant id is never given twice.
	if claims.TenantID != tenantID(ctx) {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Token is for another tenant.")
	}
	key := taruvi.ScopeKeyFromContext(ctx) + "|" + claims.SessionID
	p, state, gen := a.db.sessions.get(key)
	switch state {
	case sessionRevoked:
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	case sessionValid:
		if strconv.FormatInt(p.UserID, 10) == claims.Subject {
			return p, nil
		}
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid token.")
	}
	p = &taruvi.Principal{Audience: aud, SessionID: claims.SessionID, IsAdmin: aud == taruvi.PlatformAudience}
	var revoked *time.Time
	var active bool
	err = a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.revoked_at, u.id, u.email, u.is_owner, u.is_active
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, claims.SessionID).
			Scan(&revoked, &p.UserID, &p.Email, &p.IsOwner, &active)
	})
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return nil, err
	}
	if err != nil || revoked != nil || !active || strconv.FormatInt(p.UserID, 10) != claims.Subject {
		a.db.sessions.revoke(key)
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	}
	a.db.sessions.put(key, p, gen)
	return p, nil
}

func (a *Auth) authenticateAPIKey(ctx context.Context, key string) (*taruvi.Principal, error) {
	prefix, ok := token.ParseAPIKey(key)
	if !ok {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid API key.")
	}
	aud := taruvi.AudienceFromContext(ctx)
	p := &taruvi.Principal{Audience: aud, IsAdmin: aud == taruvi.PlatformAudience}
	var outcome error
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var hash []byte
		var expires, revoked, lastUsed *time.Time
		var active bool
		err := tx.QueryRow(ctx, `SELECT k.id, k.key_hash, k.expires_at, k.revoked_at, k.last_used_at, u.id, u.email, u.is_owner, u.is_active
			FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = $1`, prefix).
			Scan(&p.APIKeyID, &hash, &expires, &revoked, &lastUsed, &p.UserID, &p.Email, &p.IsOwner, &active)
		now := a.opts.Now()
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(hash, token.Hash(key)) != 1):
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid API key.")
		case err != nil:
			return err
		case revoked != nil:
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "API key revoked.")
		case expires != nil && now.After(*expires):
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "API key expired.")
		case !active:
			outcome = taruvi.Errorf(taruvi.EUNAUTHORIZED, "User is inactive.")
		case lastUsed == nil || now.Sub(*lastUsed) > time.Minute:
			_, err = tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, p.APIKeyID, now)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		return nil, outcome
	}
	return p, nil
}

func newUUID() string {
	return formatUUID(newUUIDBytes())
}

// newUUIDBytes returns a random (version 4) UUID.
func newUUIDBytes() [16]byte {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

func formatUUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
