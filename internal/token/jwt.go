// Package token makes and checks the credentials of Taruvi: signed access
// tokens (JWT), opaque refresh tokens and API keys, password hashes, and the
// sealing of signing keys at rest. It touches no database: callers store
// what it produces.
//
// Dependencies: github.com/golang-jwt/jwt/v5 parses and signs the JWTs, a
// well-reviewed implementation whose parser lets us pin the algorithm, so we
// do not write JOSE parsing ourselves; golang.org/x/crypto/argon2 provides
// argon2id, which the standard library lacks (the tests also read CPU
// clocks through golang.org/x/sys/unix). HKDF, AES-GCM, HMAC, SHA-256 and
// Ed25519 come from the standard library.
package token

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"taruvi"
)

const (
	// leeway is the clock skew tolerated between the replica that signed a
	// token and the one that verifies it.
	leeway = 5 * time.Second
	// reloadInterval bounds how often an unknown kid may trigger a reload
	// of the key set, so forged kids cannot hammer the key store.
	reloadInterval = 10 * time.Second
	// maxTokenLen rejects absurd inputs before any decoding; our tokens are
	// about 400 bytes.
	maxTokenLen = 4096
)

// Claims are the claims of an access token.
type Claims struct {
	Issuer    string    // iss: the issuer's name
	Subject   string    // sub: the user id, a decimal string
	Audience  string    // aud: the tenant's schema, or taruvi.PlatformAudience
	TenantID  string    // tid: the tenant's ID (taruvi.Tenant.ID, never reused), "" on the platform
	SessionID string    // sid: the session the token belongs to
	ID        string    // jti: unique per token
	IssuedAt  time.Time // iat, whole seconds
	ExpiresAt time.Time // exp, whole seconds
}

// UserID returns Subject as a user id; false when it is not a positive
// decimal number.
func (c Claims) UserID() (int64, bool) { return positiveID(c.Subject) }

// positiveID parses s as a positive decimal number in canonical form.
func positiveID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// check reports what is wrong with claims a token may carry, or nil.
func (c Claims) check() error {
	switch {
	case c.Audience == "":
		return errors.New("no audience")
	case c.Audience == taruvi.PlatformAudience && c.TenantID != "":
		return errors.New("platform token names a tenant")
	case c.Audience != taruvi.PlatformAudience && !validTenantID(c.TenantID):
		return errors.New("tenant token without a tenant id")
	case c.SessionID == "" || c.ID == "":
		return errors.New("no session or token id")
	case c.IssuedAt.IsZero() || c.ExpiresAt.IsZero():
		return errors.New("no issue or expiry time")
	}
	if _, ok := c.UserID(); !ok {
		return errors.New("subject is not a user id")
	}
	return nil
}

func validTenantID(tid string) bool {
	_, ok := positiveID(tid)
	return ok
}

// wireClaims is the JSON form of Claims. Field order is fixed, so the same
// Claims always encode to the same bytes and, Ed25519 being deterministic,
// to the same token.
type wireClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	TenantID  string `json:"tid"`
	SessionID string `json:"sid"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

func toWire(c Claims) *wireClaims {
	return &wireClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, TenantID: c.TenantID,
		SessionID: c.SessionID, ID: c.ID, IssuedAt: c.IssuedAt.Unix(), ExpiresAt: c.ExpiresAt.Unix(),
	}
}

func (w *wireClaims) claims() Claims {
	c := Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, TenantID: w.TenantID,
		SessionID: w.SessionID, ID: w.ID,
	}
	if w.IssuedAt != 0 {
		c.IssuedAt = time.Unix(w.IssuedAt, 0).UTC()
	}
	if w.ExpiresAt != 0 {
		c.ExpiresAt = time.Unix(w.ExpiresAt, 0).UTC()
	}
	return c
}

// The methods below make wireClaims a jwt.Claims for the library's checks.

func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDate(w.ExpiresAt), nil
}
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return numericDate(w.IssuedAt), nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (w *wireClaims) GetIssuer() (string, error)              { return w.Issuer, nil }
func (w *wireClaims) GetSubject() (string, error)             { return w.Subject, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{w.Audience}, nil
}

func numericDate(sec int64) *jwt.NumericDate {
	if sec == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(sec, 0))
}

// Issuer signs and verifies access tokens with the keys of a KeySet. It is
// safe for concurrent use.
type Issuer struct {
	name   string
	keys   *KeySet
	reload func(context.Context) error

	reloadMu   sync.Mutex
	lastReload time.Time // guarded by reloadMu

	verified verifiedCache
}

// NewIssuer returns an Issuer named issuer (the "iss" of its tokens) using
// keys. reload, which may be nil, refreshes keys from where they are kept;
// Verify calls it when a token names a key the set does not hold (one
// rotated on another replica), at most once per 10 seconds.
func NewIssuer(issuer string, keys *KeySet, reload func(ctx context.Context) error) *Issuer {
	return &Issuer{name: issuer, keys: keys, reload: reload}
}

// Sign returns the token for c, signed with the current key of the set,
// with the key's ID as "kid" in the header. Issuer is set to the issuer's
// name. Times are truncated to whole seconds, and the same claims signed
// with the same key always give the same token.
func (i *Issuer) Sign(c Claims) (string, error) {
	c.Issuer = i.name
	if err := c.check(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	key, ok := i.keys.Current()
	if !ok {
		return "", errors.New("sign token: no signing key")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, toWire(c))
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks token at time now for audience (the tenant's schema of the
// request, or taruvi.PlatformAudience) and returns its claims. Only EdDSA is
// accepted; the token must name a known key, come from this issuer, be for
// exactly audience, and carry iat and an exp in the future (5 seconds of
// clock skew allowed). Every bad token gives EUNAUTHORIZED with a short
// message; the cause is in the error's Wrapped field, for logs. Verify
// returns a plain error only when reloading the key set fails.
func (i *Issuer) Verify(ctx context.Context, token, audience string, now time.Time) (Claims, error) {
	if token == "" || len(token) > maxTokenLen || audience == "" {
		return Claims{}, invalid(errors.New("empty or oversized token"))
	}
	if c, ok := i.verified.get(token, audience, now, i.keys); ok {
		return c, nil
	}
	var reloadErr error
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		if pub, ok := i.keys.Lookup(kid); ok {
			return pub, nil
		}
		if reloadErr = i.reloadKeys(ctx, now); reloadErr != nil {
			return nil, reloadErr
		}
		if pub, ok := i.keys.Lookup(kid); ok {
			return pub, nil
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(i.name),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var w wireClaims
	parsed, err := parser.ParseWithClaims(token, &w, keyFunc)
	switch {
	case reloadErr != nil:
		return Claims{}, fmt.Errorf("verify token: %w", reloadErr)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		e := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Token is for another tenant.")
		e.Wrapped = err
		return Claims{}, e
	case errors.Is(err, jwt.ErrTokenExpired):
		e := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Token expired.")
		e.Wrapped = err
		return Claims{}, e
	case err != nil:
		return Claims{}, invalid(err)
	}
	c := w.claims()
	if err := c.check(); err != nil {
		return Claims{}, invalid(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	i.verified.put(token, audience, kid, c)
	return c, nil
}

// invalid is the answer to any malformed, forged or unverifiable token.
func invalid(cause error) error {
	e := taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid token.")
	e.Wrapped = cause
	return e
}

// reloadKeys calls the reload function unless it ran less than
// reloadInterval before now. Concurrent callers wait for a running reload
// and then find the interval not yet passed, so they look keys up again
// without reloading twice.
func (i *Issuer) reloadKeys(ctx context.Context, now time.Time) error {
	if i.reload == nil {
		return nil
	}
	i.reloadMu.Lock()
	defer i.reloadMu.Unlock()
	// Compared both ways: callers' clocks differ slightly, and a request
	// that read its clock just before the last reload must not reload again.
	if since := now.Sub(i.lastReload); !i.lastReload.IsZero() && since < reloadInterval && since > -reloadInterval {
		return nil
	}
	i.lastReload = now
	if err := i.reload(ctx); err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	return nil
}
