package taruvi

import (
	"context"
	"time"
)

// PlatformAudience is the token audience of the platform scope; a tenant's
// audience is its schema name.
const PlatformAudience = "platform"

// Principal is who makes a request: a user of the scope the request
// addresses, signed in by an access token (SessionID set) or an API key
// (APIKeyID set).
type Principal struct {
	UserID    int64
	Email     string
	Audience  string // the tenant's schema, or PlatformAudience
	IsOwner   bool   // a tenant owner may do everything in the tenant
	IsAdmin   bool   // a platform admin (platform scope only)
	SessionID string
	APIKeyID  int64
}

type principalKey struct{}

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal ctx carries, or nil for an
// anonymous request.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// AudienceFromContext is the audience of the scope ctx addresses: the
// tenant's schema, or PlatformAudience when it carries no tenant.
func AudienceFromContext(ctx context.Context) string {
	if t := TenantFromContext(ctx); t != nil {
		return t.Schema
	}
	return PlatformAudience
}

// ScopeKeyFromContext names the scope ctx addresses wherever a name must
// outlive a request: cache entries, rate-limit and throttle keys,
// revocations. It is the tenant's ScopeKey, or PlatformAudience when ctx
// carries no tenant.
func ScopeKeyFromContext(ctx context.Context) string {
	if t := TenantFromContext(ctx); t != nil {
		return t.ScopeKey()
	}
	return PlatformAudience
}

// SigningKey is a JWT signing key as it is stored: the private key sealed
// with TARUVI_SECRET_KEY, so that the database alone never holds what
// signs tokens.
type SigningKey struct {
	ID        string // the kid of the tokens it signs
	Sealed    []byte // the sealed Ed25519 private key
	Public    []byte // the Ed25519 public key
	CreatedAt time.Time
}

// TokenPair is what a login or a refresh returns.
type TokenPair struct {
	Access    string `json:"access"`
	Refresh   string `json:"refresh"`
	TokenType string `json:"token_type"` // "Bearer"
	ExpiresIn int    `json:"expires_in"` // seconds until Access expires
}

// AppSession is what an app sign-in returns (the allauth-style login the
// SDKs use): a session token, sent back as X-Session-Token, and a token
// pair of the same server-side session, so that ending the session ends
// all three credentials.
type AppSession struct {
	SessionToken string
	TokenPair
	Principal *Principal // who signed in
}

// Credentials identify a user at login: an email or a username, and a
// password.
type Credentials struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Client describes where a request comes from, for sessions and throttling.
type Client struct {
	IP        string
	UserAgent string
}

// APIKey is a long-lived credential of one user. Its secret is shown once,
// when created (Key); only a hash is stored.
type APIKey struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the public part, to recognise a key
	Key        string     `json:"key,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// AuthService signs users of the scope in ctx in and out. Login and Refresh
// return EUNAUTHORIZED for any bad credential without saying which part was
// wrong, and ERATELIMITED while an account or address is throttled.
type AuthService interface {
	Login(ctx context.Context, c Credentials, client Client) (*TokenPair, error)
	Refresh(ctx context.Context, refreshToken string, client Client) (*TokenPair, error)
	// Logout ends the session of the principal in ctx, and the session of
	// refreshToken when given (it must belong to the same user).
	Logout(ctx context.Context, refreshToken string) error
	// AppLogin is Login for app clients: the same checks and throttles,
	// and a session token besides the pair.
	AppLogin(ctx context.Context, c Credentials, client Client) (*AppSession, error)
	// Authenticate turns an Authorization header value ("Bearer ...",
	// "Api-Key ...") into a principal of the scope in ctx.
	Authenticate(ctx context.Context, authorization string) (*Principal, error)
	// AuthenticateSessionToken turns an X-Session-Token header value into
	// the principal of its session, if the session is live in the scope in
	// ctx; EUNAUTHORIZED otherwise.
	AuthenticateSessionToken(ctx context.Context, sessionToken string) (*Principal, error)

	CreateAPIKey(ctx context.Context, name string, expiresAt *time.Time) (*APIKey, error)
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) error
}

// Authorizer answers the one question every handler asks. Can returns nil
// when the principal in ctx may use permission on obj, EUNAUTHORIZED when
// ctx has no principal and EFORBIDDEN otherwise.
type Authorizer interface {
	Can(ctx context.Context, permission string, obj Object) error
	// RequireOwner returns nil when the principal in ctx owns the tenant
	// ctx addresses, or is a platform admin on the platform; EUNAUTHORIZED
	// without a principal and EFORBIDDEN otherwise.
	RequireOwner(ctx context.Context) error
}
