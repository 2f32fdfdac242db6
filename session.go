package taruvi

import (
	"context"
	"time"
)

// BrowserSession is a sign-in to the admin web UI: a server-side session of
// the scope (tenant or platform) it was opened in, which a browser refers
// to by its ID in a cookie. Ending the user's sessions (logout, password
// change, deactivation) ends it too.
type BrowserSession struct {
	ID        string
	Principal *Principal
	ExpiresAt time.Time
}

// BrowserSessionService opens, finds and ends browser sessions in the scope
// of ctx. SignIn returns EINVALID for a missing email or password,
// EUNAUTHORIZED for bad credentials (without saying which part was wrong)
// and ERATELIMITED while the account or address is throttled, exactly as
// AuthService.Login. FindSession returns EUNAUTHORIZED for an unknown,
// expired or ended session, and for a session of another scope.
type BrowserSessionService interface {
	SignIn(ctx context.Context, c Credentials, client Client, ttl time.Duration) (*BrowserSession, error)
	FindSession(ctx context.Context, id string) (*BrowserSession, error)
	SignOut(ctx context.Context, id string) error
}

// Session is a stored sign-in as the authentication rules read it: a
// refresh-token session (RefreshHash set) or a browser session. A session
// remembers its last exchange of refresh tokens (PrevHash, RotatedAt and
// the claims of the access token it minted, NextJTI and NextIAT), so that a
// retry of that exchange within the grace window gets the same pair.
type Session struct {
	ID          string
	UserID      int64
	UserActive  bool // the user's is_active
	RefreshHash []byte
	PrevHash    []byte
	RotatedAt   *time.Time
	NextJTI     string
	NextIAT     *time.Time
	ExpiresAt   time.Time
	RevokedAt   *time.Time
}
