package auth

import (
	"context"
	"regexp"
	"time"

	"taruvi"
)

// A browser session is a row of the scope's sessions table without refresh
// tokens: it ends with the user's other sessions (logout, password change,
// deactivation) and expires at expires_at, which is never extended.
var sessionIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SignIn implements taruvi.BrowserSessionService: the credentials are
// checked and throttled as by Login.
func (a *Service) SignIn(ctx context.Context, c taruvi.Credentials, client taruvi.Client, ttl time.Duration) (*taruvi.BrowserSession, error) {
	userID, err := a.checkCredentials(ctx, c, client)
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	sid := newUUID()
	if err := a.store.CreateSession(ctx, sid, userID, client, now.Add(ttl), nil, nil, now); err != nil {
		return nil, err
	}
	a.security(ctx, "login", "user_id", userID, "ip", client.IP, "via", "browser")
	return a.FindSession(ctx, sid)
}

// FindSession implements taruvi.BrowserSessionService. It reads the
// session from the scope of ctx only, so an id from another tenant is
// unknown here.
func (a *Service) FindSession(ctx context.Context, id string) (*taruvi.BrowserSession, error) {
	ended := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Session ended; sign in again.")
	if !sessionIDRE.MatchString(id) {
		return nil, ended
	}
	found, expires, _, err := a.store.FindLiveSession(ctx, id, a.opts.Now())
	switch taruvi.ErrorCode(err) {
	case "":
	case taruvi.ENOTFOUND:
		return nil, ended
	default:
		return nil, err
	}
	aud := taruvi.AudienceFromContext(ctx)
	p := &taruvi.Principal{UserID: found.UserID, Email: found.Email, IsOwner: found.IsOwner,
		Audience: aud, SessionID: id, IsAdmin: aud == taruvi.PlatformAudience}
	return &taruvi.BrowserSession{ID: id, Principal: p, ExpiresAt: expires}, nil
}

// SignOut implements taruvi.BrowserSessionService: the session ends on
// every replica.
func (a *Service) SignOut(ctx context.Context, id string) error {
	if !sessionIDRE.MatchString(id) {
		return nil
	}
	ended, err := a.store.RevokeSessions(ctx, []string{id}, "logout")
	if err != nil {
		return err
	}
	a.SessionsEnded(ctx, 0, ended)
	return nil
}
