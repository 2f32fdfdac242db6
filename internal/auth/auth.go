// Package auth holds the rules of authentication and authorization:
// credential checks and throttling, token pairs, refresh rotation with reuse
// detection, sessions and their revocation, API keys, browser sessions,
// password rules and permission checks. It mints and verifies with
// internal/token and reads and writes through the small store interfaces
// it declares, which internal/postgres implements with plain SQL.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// Store is the storage of sign-ins, sessions and API keys for the scope in
// the context (postgres.AuthStore). Finders return ENOTFOUND when there is
// nothing to find.
type Store interface {
	FindLogin(ctx context.Context, ident string, byEmail bool) (id int64, hash string, active bool, err error)
	ReplacePasswordHash(ctx context.Context, userID int64, old, hash string) error
	CreateSession(ctx context.Context, sid string, userID int64, client taruvi.Client, expires time.Time, refreshHash, tokenHash []byte, now time.Time) error
	FindSession(ctx context.Context, sid string) (*taruvi.Session, error)
	FindSessionPrincipal(ctx context.Context, sid string) (p taruvi.Principal, active, revoked bool, err error)
	// FindLiveSession returns a session that is neither revoked nor expired
	// at now, of an active user, with the hash of its session token.
	FindLiveSession(ctx context.Context, sid string, now time.Time) (p taruvi.Principal, expires time.Time, tokenHash []byte, err error)
	SessionUser(ctx context.Context, sid string) (int64, error)
	// RotateRefresh exchanges the current refresh token of a live session
	// (hashed to hash) for its successor (hashed to next) in one round trip,
	// and returns false when the token, the session or its user does not
	// qualify.
	RotateRefresh(ctx context.Context, sid string, hash, next []byte, jti string, iat, now, expires time.Time) (userID int64, ok bool, err error)
	// RevokeSessions ends the live sessions among sids on every replica and
	// returns those it ended.
	RevokeSessions(ctx context.Context, sids []string, reason string) ([]string, error)

	CreateAPIKey(ctx context.Context, k *taruvi.APIKey, hash []byte) error
	FindAPIKey(ctx context.Context, prefix string) (*taruvi.APIKey, []byte, *taruvi.User, error)
	TouchAPIKey(ctx context.Context, id int64, now time.Time) error
	ListAPIKeys(ctx context.Context, userID int64) ([]*taruvi.APIKey, error)
	RevokeAPIKey(ctx context.Context, id, userID int64) error
}

// Options configure the authentication service. Issuer, Sealer, Hasher,
// Accounts, Addresses and Log are required.
type Options struct {
	Issuer     *token.Issuer
	Sealer     *token.Sealer // derives refresh-token successors
	Hasher     *token.Hasher // bounds the password hashes in flight; share it with Users
	AccessTTL  time.Duration // default 15m
	RefreshTTL time.Duration // default 7 days
	Grace      time.Duration // a refresh token retried within this returns the same pair; default 10s
	Accounts   taruvi.Throttle
	Addresses  taruvi.Throttle
	Log        *slog.Logger // security events
	Now        func() time.Time
}

// Service implements taruvi.AuthService and taruvi.BrowserSessionService
// for tenant users and platform admins. It keeps this replica's knowledge
// of which sessions are live or revoked; feed it RevocationsChannel
// (HandleRevocation, ResetSessions) so that revocations on other replicas
// apply here.
type Service struct {
	store    Store
	opts     Options
	sessions *sessionCache
}

var (
	_ taruvi.AuthService           = (*Service)(nil)
	_ taruvi.BrowserSessionService = (*Service)(nil)
)

// New returns the authentication service over store.
func New(store Store, opts Options) *Service {
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
	if opts.Hasher == nil {
		opts.Hasher = token.NewHasher(token.HasherOptions{})
	}
	// Revoked marks must outlive every access token they refuse.
	return &Service{store: store, opts: opts, sessions: newSessionCache(max(15*time.Minute, opts.AccessTTL), 100_000)}
}

var errBadCredentials = taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid credentials.")

func (a *Service) security(ctx context.Context, event string, attrs ...any) {
	attrs = append([]any{"category", "security", "event", event, "tenant", taruvi.AudienceFromContext(ctx),
		"request_id", taruvi.RequestIDFromContext(ctx)}, attrs...)
	a.opts.Log.WarnContext(ctx, event, attrs...)
}

// Login checks credentials and opens a session. Unknown users, wrong
// passwords and inactive users get the same error after the same work.
func (a *Service) Login(ctx context.Context, c taruvi.Credentials, client taruvi.Client) (*taruvi.TokenPair, error) {
	s, err := a.login(ctx, c, client, false)
	if err != nil {
		return nil, err
	}
	return &s.TokenPair, nil
}

// AppLogin implements taruvi.AuthService: Login, whose session also gets a
// session token.
func (a *Service) AppLogin(ctx context.Context, c taruvi.Credentials, client taruvi.Client) (*taruvi.AppSession, error) {
	return a.login(ctx, c, client, true)
}

// login is every token sign-in: the credentials checked and throttled,
// then a session opened, with a session token when app is set.
func (a *Service) login(ctx context.Context, c taruvi.Credentials, client taruvi.Client, app bool) (*taruvi.AppSession, error) {
	userID, err := a.checkCredentials(ctx, c, client)
	if err != nil {
		return nil, err
	}
	s, err := a.openSession(ctx, userID, client, app)
	if err != nil {
		return nil, err
	}
	via := "token"
	if app {
		via = "app"
	}
	a.security(ctx, "login", "user_id", userID, "ip", client.IP, "via", via)
	return s, nil
}

// checkCredentials returns the id of the active user c names when the
// password is right, counting failures against the account and the
// address; every sign-in, by token or by browser, goes through it.
func (a *Service) checkCredentials(ctx context.Context, c taruvi.Credentials, client taruvi.Client) (int64, error) {
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
	id, hash, active, err := a.store.FindLogin(ctx, ident, byEmail)
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return 0, err
	}
	// An account's email and username share one count of failures, kept
	// under its id. An unknown account gets a key of its own in that
	// place, so that both answers make the same calls to the throttle (each
	// a round trip to Redis) and take the same time.
	idKey := taruvi.ScopeKeyFromContext(ctx) + "|?" + ident
	if id != 0 {
		idKey = taruvi.ScopeKeyFromContext(ctx) + "|#" + strconv.FormatInt(id, 10)
	}
	keys := []string{accountKey, idKey}
	if wait := a.opts.Accounts.Blocked(ctx, idKey); wait > 0 {
		a.security(ctx, "login_throttled", "account", ident, "ip", client.IP)
		return 0, &taruvi.Error{Code: taruvi.ERATELIMITED, Message: "Too many failed sign-ins; try again later.", RetryAfter: wait}
	}
	// An unknown user, or one without a password, costs a verify too.
	ok, err := a.opts.Hasher.Verify(ctx, hash, c.Password)
	if err != nil { // a busy hasher's EUNAVAILABLE shows through
		return 0, fmt.Errorf("verify password of user %d: %w", id, err)
	}
	if !ok || !active {
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
	if token.NeedsRehash(hash) {
		a.rehash(ctx, id, hash, c.Password)
	}
	return id, nil
}

// rehash stores a new hash of a user's password, made with the current
// parameters, in place of old, unless the password changed meanwhile. The
// sign-in succeeds whatever happens here: a busy hasher or a failed update
// leaves the old hash, which still verifies, for the next sign-in.
func (a *Service) rehash(ctx context.Context, userID int64, old, pw string) {
	hash, err := a.opts.Hasher.Hash(ctx, pw)
	if err == nil {
		err = a.store.ReplacePasswordHash(ctx, userID, old, hash)
	}
	if err != nil {
		a.opts.Log.InfoContext(ctx, "password rehash skipped", "user_id", userID, "error", err)
	}
}

// openSession opens a session of userID with a refresh token, and with a
// session token too when app is set, and returns them with the first
// access token.
func (a *Service) openSession(ctx context.Context, userID int64, client taruvi.Client, app bool) (*taruvi.AppSession, error) {
	now := a.opts.Now().Truncate(time.Second)
	sidBytes := newUUIDBytes()
	sid, jti := formatUUID(sidBytes), newUUID()
	refresh := token.NewRefreshToken(a.opts.Sealer, sidBytes)
	var sessionToken string
	var tokenHash []byte
	if app {
		sessionToken = token.NewSessionToken(a.opts.Sealer, sidBytes)
		tokenHash = token.Hash(sessionToken)
	}
	if err := a.store.CreateSession(ctx, sid, userID, client, now.Add(a.opts.RefreshTTL), token.Hash(refresh), tokenHash, now); err != nil {
		return nil, err
	}
	pair, err := a.pair(ctx, userID, sid, jti, now, refresh)
	if err != nil {
		return nil, err
	}
	aud := taruvi.AudienceFromContext(ctx)
	return &taruvi.AppSession{SessionToken: sessionToken, TokenPair: *pair,
		Principal: &taruvi.Principal{UserID: userID, Audience: aud, SessionID: sid, IsAdmin: aud == taruvi.PlatformAudience}}, nil
}

// pair signs the access token for these claims and puts it beside refresh.
// The same inputs always give the same pair (Ed25519 is deterministic).
func (a *Service) pair(ctx context.Context, userID int64, sid, jti string, iat time.Time, refresh string) (*taruvi.TokenPair, error) {
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
		return strconv.FormatInt(t.ID, 10)
	}
	return ""
}

// Refresh exchanges a refresh token for a new pair. Each token works once;
// a retry within the grace window returns the same pair, and a reuse after
// it ends the whole session (the family) and is logged as a security event.
func (a *Service) Refresh(ctx context.Context, refresh string, client taruvi.Client) (*taruvi.TokenPair, error) {
	session, ok := token.ParseRefreshToken(a.opts.Sealer, refresh)
	if !ok {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid refresh token.")
	}
	// What every outcome but a refusal needs, worked out once.
	sid, hash, now := formatUUID(session), token.Hash(refresh), a.opts.Now()
	successor := token.NextRefreshToken(a.opts.Sealer, session, refresh)
	for attempt := 0; ; attempt++ {
		if pair, err := a.rotate(ctx, sid, hash, successor, now); err != nil || pair != nil {
			return pair, err
		}
		// The token is not its session's current one, or the session
		// ended: the session as stored tells which, and answers a retry or
		// a reuse. A rotation that ran meanwhile has committed by now
		// (rotate's update waited for it), so what is read here is what it
		// left.
		s, err := a.store.FindSession(ctx, sid)
		switch {
		case taruvi.ErrorCode(err) == taruvi.ENOTFOUND:
			// A session of another tenant, or one purged after it ended.
			return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid refresh token.")
		case err != nil:
			return nil, err
		case attempt == 0 && live(s, now) && subtle.ConstantTimeCompare(hash, s.RefreshHash) == 1:
			// The current token, which rotate found taken by a concurrent
			// exchange that has since rolled back: exchange it again.
			continue
		}
		return a.settle(ctx, s, hash, successor, now, client)
	}
}

// live reports whether session s may still exchange refresh tokens at now.
func live(s *taruvi.Session, now time.Time) bool {
	return s.RevokedAt == nil && s.UserActive && now.Before(s.ExpiresAt)
}

// settle answers a refresh token that rotate did not exchange, from its
// session s as stored: a session ended, a retry of the last exchange within
// the grace window (the same pair again), or a reuse (the session ends).
func (a *Service) settle(ctx context.Context, s *taruvi.Session, hash []byte, successor string, now time.Time, client taruvi.Client) (*taruvi.TokenPair, error) {
	switch {
	case !live(s, now) || subtle.ConstantTimeCompare(hash, s.RefreshHash) == 1:
		// Ended, or still current after a second exchange failed: the
		// session or its user ended meanwhile.
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	case subtle.ConstantTimeCompare(hash, s.PrevHash) == 1 && s.RotatedAt != nil && now.Sub(*s.RotatedAt) <= a.opts.Grace &&
		s.NextIAT != nil:
		return a.pair(ctx, s.UserID, s.ID, s.NextJTI, *s.NextIAT, successor)
	}
	// A token the server minted for this session that is neither its
	// current one nor a retry of the last exchange: it was used before.
	a.security(ctx, "refresh_token_reuse", "user_id", s.UserID, "session_id", s.ID, "ip", client.IP)
	revoked, err := a.store.RevokeSessions(ctx, []string{s.ID}, "refresh token reuse")
	if err != nil {
		return nil, err
	}
	// This replica refuses the family's access tokens at once; the others
	// on the notification.
	a.SessionsEnded(ctx, 0, revoked)
	return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Refresh token reused; the session has been ended.")
}

// rotate is the common case of Refresh in one round trip (the store's
// RotateRefresh). It returns nil, nil when the token does not qualify,
// and leaves that case to settle.
func (a *Service) rotate(ctx context.Context, sid string, hash []byte, successor string, now time.Time) (*taruvi.TokenPair, error) {
	iat, jti := now.Truncate(time.Second), newUUID()
	userID, ok, err := a.store.RotateRefresh(ctx, sid, hash, token.Hash(successor), jti, iat, now, now.Add(a.opts.RefreshTTL))
	if err != nil || !ok {
		return nil, err
	}
	return a.pair(ctx, userID, sid, jti, iat, successor)
}

// Logout ends the principal's session, and refresh's session when given
// (it must be the principal's own).
func (a *Service) Logout(ctx context.Context, refresh string) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	var sids []string
	if p.SessionID != "" {
		sids = append(sids, p.SessionID)
	}
	if refresh != "" {
		invalid := &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid refresh token.", Fields: map[string]string{"refresh": "Not a refresh token of yours."}}
		sidBytes, ok := token.ParseRefreshToken(a.opts.Sealer, refresh)
		if !ok {
			return invalid
		}
		sid := formatUUID(sidBytes)
		userID, err := a.store.SessionUser(ctx, sid)
		if taruvi.ErrorCode(err) == taruvi.ENOTFOUND || (err == nil && userID != p.UserID) {
			return invalid
		} else if err != nil {
			return err
		}
		sids = append(sids, sid)
	}
	if len(sids) == 0 {
		return nil
	}
	ended, err := a.store.RevokeSessions(ctx, sids, "logout")
	if err != nil {
		return err
	}
	a.SessionsEnded(ctx, 0, ended)
	return nil
}

// SessionsEnded applies, on this replica and at once, what a committed
// transaction did to sessions: the ended ones are refused from now on, and
// nothing cached about the user (when userID is not 0) is trusted any more.
// It is the postgres.SessionsEnded of the user store.
func (a *Service) SessionsEnded(ctx context.Context, userID int64, ended []string) {
	scope := taruvi.ScopeKeyFromContext(ctx)
	for _, sid := range ended {
		a.sessions.revoke(scope + "|" + sid)
	}
	if userID != 0 {
		a.sessions.apply("u|" + scope + "|" + strconv.FormatInt(userID, 10))
	}
}

// HandleRevocation applies a notification from RevocationsChannel: an
// ended session ("s|<scope key>|<session id>"), a changed user
// ("u|<scope key>|<user id>"), or a tenant gone ("t|<scope key>"), whose
// sessions this replica forgets.
func (a *Service) HandleRevocation(payload string) { a.sessions.apply(payload) }

// ResetSessions forgets every cached session (after the listener
// reconnected and may have missed revocations).
func (a *Service) ResetSessions() { a.sessions.reset() }

// Authenticate implements taruvi.AuthService.
func (a *Service) Authenticate(ctx context.Context, authorization string) (*taruvi.Principal, error) {
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

func (a *Service) authenticateAccess(ctx context.Context, jwt string) (*taruvi.Principal, error) {
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
	p, state, gen, _ := a.sessions.get(key)
	switch state {
	case sessionRevoked:
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	case sessionValid:
		if strconv.FormatInt(p.UserID, 10) == claims.Subject {
			return p, nil
		}
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid token.")
	}
	found, active, revoked, err := a.store.FindSessionPrincipal(ctx, claims.SessionID)
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return nil, err
	}
	if err != nil || revoked || !active || strconv.FormatInt(found.UserID, 10) != claims.Subject {
		a.sessions.revoke(key)
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	}
	p = &taruvi.Principal{UserID: found.UserID, Email: found.Email, IsOwner: found.IsOwner,
		Audience: aud, SessionID: claims.SessionID, IsAdmin: aud == taruvi.PlatformAudience}
	a.sessions.put(key, p, gen, time.Time{})
	return p, nil
}

// AuthenticateSessionToken implements taruvi.AuthService. A session token
// names its session and carries a tag only the server makes, so a token
// of an unknown, ended or foreign session costs one lookup at most; a live
// session is remembered as access tokens' are, until it expires, and a
// revocation on any replica ends it at once.
func (a *Service) AuthenticateSessionToken(ctx context.Context, sessionToken string) (*taruvi.Principal, error) {
	ended := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid session token, or the session ended; sign in again.")
	sessionToken = strings.TrimSpace(sessionToken)
	sidBytes, ok := token.ParseSessionToken(a.opts.Sealer, sessionToken)
	if !ok {
		return nil, ended
	}
	sid := formatUUID(sidBytes)
	key := taruvi.ScopeKeyFromContext(ctx) + "|" + sid
	p, state, gen, ends := a.sessions.get(key)
	switch {
	case state == sessionRevoked:
		return nil, ended
	case state == sessionValid && !ends.IsZero() && a.opts.Now().Before(ends):
		// Remembered by a check of this very kind, which compared the
		// stored hash (access tokens' checks do not know the session's
		// end, and are not enough here).
		return p, nil
	}
	found, expires, hash, err := a.store.FindLiveSession(ctx, sid, a.opts.Now())
	switch {
	case taruvi.ErrorCode(err) == taruvi.ENOTFOUND:
		// Revoked, expired, of an inactive user, or of another scope.
		a.sessions.revoke(key)
		return nil, ended
	case err != nil:
		return nil, err
	case subtle.ConstantTimeCompare(hash, token.Hash(sessionToken)) != 1:
		return nil, ended
	}
	aud := taruvi.AudienceFromContext(ctx)
	p = &taruvi.Principal{UserID: found.UserID, Email: found.Email, IsOwner: found.IsOwner,
		Audience: aud, SessionID: sid, IsAdmin: aud == taruvi.PlatformAudience}
	a.sessions.put(key, p, gen, expires)
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
