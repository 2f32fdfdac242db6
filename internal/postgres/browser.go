package postgres

import (
	"context"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

var _ taruvi.BrowserSessionService = (*Auth)(nil)

// A browser session is a row of the scope's sessions table without refresh
// tokens: it ends with the user's other sessions (logout, password change,
// deactivation) and expires at expires_at, which is never extended.
var sessionIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SignIn implements taruvi.BrowserSessionService: the credentials are
// checked and throttled as by Login.
func (a *Auth) SignIn(ctx context.Context, c taruvi.Credentials, client taruvi.Client, ttl time.Duration) (*taruvi.BrowserSession, error) {
	userID, err := a.checkCredentials(ctx, c, client)
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	sid := newUUID()
	err = a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH s AS (INSERT INTO sessions (id, user_id, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, $5))
			UPDATE users SET last_login_at = $6 WHERE id = $2`,
			sid, userID, truncate(client.IP, 64), truncate(client.UserAgent, 512), now.Add(ttl), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.security(ctx, "login", "user_id", userID, "ip", client.IP, "via", "browser")
	return a.FindSession(ctx, sid)
}

// FindSession implements taruvi.BrowserSessionService. It reads the
// session from the scope of ctx only, so an id from another tenant is
// unknown here.
func (a *Auth) FindSession(ctx context.Context, id string) (*taruvi.BrowserSession, error) {
	ended := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	if !sessionIDRE.MatchString(id) {
		return nil, ended
	}
	aud := taruvi.AudienceFromContext(ctx)
	s := &taruvi.BrowserSession{ID: id, Principal: &taruvi.Principal{Audience: aud, SessionID: id, IsAdmin: aud == taruvi.PlatformAudience}}
	p := s.Principal
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT u.id, u.email, u.is_owner, s.expires_at
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.is_active`, id, a.opts.Now()).
			Scan(&p.UserID, &p.Email, &p.IsOwner, &s.ExpiresAt)
	})
	switch taruvi.ErrorCode(err) {
	case "":
		return s, nil
	case taruvi.ENOTFOUND:
		return nil, ended
	}
	return nil, err
}

// SignOut implements taruvi.BrowserSessionService: the session ends on
// every replica.
func (a *Auth) SignOut(ctx context.Context, id string) error {
	if !sessionIDRE.MatchString(id) {
		return nil
	}
	var ended []string
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		ended, err = revokeSessions(ctx, tx, "id = $1", id, "logout")
		return err
	})
	if err != nil {
		return err
	}
	a.db.sessionsEnded(ctx, 0, ended)
	return nil
}
