package api_test

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

const (
	loginPath   = "/api/auth/jwt/token"
	refreshPath = "/api/auth/jwt/refresh"
	verifyPath  = "/api/auth/jwt/verify"
	logoutPath  = "/api/auth/logout"
	mePath      = "/api/users/me"
)

var (
	signedIn = []string{`"status":"success"`, `"token_type":"Bearer"`, `"expires_in":`, `"access":"ey`, `"refresh":"rt_`}
	// badLogin is the one answer to every failed sign-in: nothing tells an
	// unknown user from a wrong password or an inactive account.
	badLogin     = []string{`"code":"UNAUTHORIZED"`, `"message":"Invalid credentials."`}
	unauthorized = []string{`"code":"UNAUTHORIZED"`}
	forbidden    = []string{`"code":"FORBIDDEN"`, `"message":"You do not have permission to perform this action."`}
	notFound     = []string{`"code":"NOT_FOUND"`}
	invalid      = []string{`"code":"VALIDATION_ERROR"`}
	// refused is what the authentication middleware says to a bad
	// credential before any handler runs.
	refused = []string{"WWW-Authenticate"}
)

// platformBadLogin is that answer on a platform host, which says where
// tenant users sign in, whoever tried.
var platformBadLogin = []string{`"code":"UNAUTHORIZED"`, `"message":"Invalid credentials. Platform admins sign in here; ` +
	`tenant users sign in on their tenant's host, {tenant}.localhost, or under /sites/{tenant}/."`}

func credentials(email, password string) string {
	return jsonBody(map[string]string{"email": email, "password": password})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "Ann@Example.test", Username: "ann", Password: "correct horse"})
	ina := s.createUser(t, a, taruvi.UserCreate{Email: "ina@example.test", Password: "correct horse"})
	if _, err := s.users.UpdateUser(a.operator(), ina.ID, taruvi.UserUpdate{IsActive: new(false)}); err != nil {
		t.Fatal(err)
	}
	admin := uniqueEmail("admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: admin, Password: "platform password"})

	s.scenario(nil).run(t, []row{
		{name: "by email", method: "POST", path: loginPath, host: a.host, body: credentials("ann@example.test", "correct horse"),
			status: 200, want: append(signedIn, `"message":"Signed in."`), save: map[string]string{"access": "data.access"}},
		{name: "the token works", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}",
			status: 200, want: []string{`"email":"Ann@Example.test"`, `"last_login_at":"`}},
		{name: "email in other case", method: "POST", path: loginPath, host: a.host, body: credentials("ANN@EXAMPLE.TEST", "correct horse"),
			status: 200, want: signedIn},
		{name: "email with surrounding spaces", method: "POST", path: loginPath, host: a.host, body: credentials(" ann@example.test ", "correct horse"),
			status: 200, want: signedIn},
		{name: "by username", method: "POST", path: loginPath, host: a.host, body: `{"username":"ann","password":"correct horse"}`,
			status: 200, want: signedIn},
		{name: "by username in other case", method: "POST", path: loginPath, host: a.host, body: `{"username":"ANN","password":"correct horse"}`,
			status: 200, want: signedIn},
		{name: "with a trailing slash", method: "POST", path: loginPath + "/", host: a.host, body: credentials("ann@example.test", "correct horse"),
			status: 200, want: signedIn},
		{name: "wrong password", method: "POST", path: loginPath, host: a.host, body: credentials("ann@example.test", "wrong horse"),
			status: 401, want: badLogin, absent: []string{`"access"`}},
		{name: "password in other case", method: "POST", path: loginPath, host: a.host, body: credentials("ann@example.test", "CORRECT HORSE"),
			status: 401, want: badLogin},
		{name: "unknown user", method: "POST", path: loginPath, host: a.host, body: credentials("nobody@example.test", "correct horse"),
			status: 401, want: badLogin},
		{name: "unknown username", method: "POST", path: loginPath, host: a.host, body: `{"username":"nobody","password":"correct horse"}`,
			status: 401, want: badLogin},
		{name: "inactive user", method: "POST", path: loginPath, host: a.host, body: credentials("ina@example.test", "correct horse"),
			status: 401, want: badLogin},
		{name: "tenant user on the platform", method: "POST", path: loginPath, host: platformHost, body: credentials("ann@example.test", "correct horse"),
			status: 401, want: platformBadLogin, absent: []string{`"access"`}},
		{name: "unknown user on the platform", method: "POST", path: loginPath, host: platformHost, body: credentials("nobody@example.test", "correct horse"),
			status: 401, want: platformBadLogin},
		{name: "platform admin with a wrong password", method: "POST", path: loginPath, host: platformHost, body: credentials(admin, "wrong password"),
			status: 401, want: platformBadLogin},
		{name: "platform admin on the platform", method: "POST", path: loginPath, host: platformHost, body: credentials(admin, "platform password"),
			status: 200, want: signedIn},
		{name: "platform admin on a tenant", method: "POST", path: loginPath, host: a.host, body: credentials(admin, "platform password"),
			status: 401, want: badLogin},
		{name: "no password", method: "POST", path: loginPath, host: a.host, body: `{"email":"ann@example.test"}`,
			status: 400, want: append(invalid, `"password":"This field is required."`)},
		{name: "no identity", method: "POST", path: loginPath, host: a.host, body: `{"password":"correct horse"}`,
			status: 400, want: append(invalid, `"email":"Give an email or a username."`)},
		{name: "unknown tenant host", method: "POST", path: loginPath, host: "t_nosuchtenant.localhost", body: credentials("ann@example.test", "correct horse"),
			status: 404, want: notFound},
		{name: "GET is not allowed", method: "GET", path: loginPath, host: a.host, status: 405, want: []string{`"code":"BAD_REQUEST"`}},
	})
}

// TestTokenClaims checks what an access token says: its algorithm and key,
// and claims binding it to one user, session and scope for 15 minutes.
func TestTokenClaims(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	u := s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "correct horse"})
	admin := s.createUser(t, s.platform(), taruvi.UserCreate{Email: uniqueEmail("admin"), Password: "platform password"})
	tenantPair := s.login(t, a.host, u.Email, "correct horse")
	platformPair := s.login(t, platformHost, admin.Email, "platform password")

	h, _, _ := split(t, tenantPair.Access)
	if h["alg"] != "EdDSA" || h["kid"] != s.key.ID {
		t.Errorf("header = %v, want alg EdDSA and kid %s", h, s.key.ID)
	}
	if tenantPair.TokenType != "Bearer" || tenantPair.ExpiresIn < 895 || tenantPair.ExpiresIn > 900 {
		t.Errorf("token_type %q, expires_in %d; want Bearer and 900 s", tenantPair.TokenType, tenantPair.ExpiresIn)
	}
	tests := []struct {
		jwt, name, want string
	}{
		{tenantPair.Access, "iss", "taruvi"},
		{tenantPair.Access, "sub", id(u.ID)},
		{tenantPair.Access, "aud", a.tenant.Schema},
		{tenantPair.Access, "tid", id(a.tenant.ID)},
		{platformPair.Access, "sub", id(admin.ID)},
		{platformPair.Access, "aud", taruvi.PlatformAudience},
		{platformPair.Access, "tid", ""},
	}
	for _, tt := range tests {
		if got := claim(t, tt.jwt, tt.name); got != tt.want {
			t.Errorf("claim %s = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, name := range []string{"sid", "jti"} {
		if claim(t, tenantPair.Access, name) == "" || claim(t, tenantPair.Access, name) == claim(t, platformPair.Access, name) {
			t.Errorf("claim %s missing or shared between sessions", name)
		}
	}
	iat, _ := strconv.ParseInt(claim(t, tenantPair.Access, "iat"), 10, 64)
	exp, _ := strconv.ParseInt(claim(t, tenantPair.Access, "exp"), 10, 64)
	if exp-iat != 900 || time.Since(time.Unix(iat, 0)).Abs() > time.Minute {
		t.Errorf("iat %d, exp %d: want issued now, valid for 900 s", iat, exp)
	}
}

// TestTokenScopes: a token is good in the one scope it was issued for and
// only as the server signed it.
func TestTokenScopes(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a, b := s.newTenant(t), s.newTenant(t)
	ann := s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	s.createUser(t, b, taruvi.UserCreate{Email: "bob@example.test", Password: "password of bob"})
	admin := uniqueEmail("admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: admin, Password: "platform password"})
	pa := s.login(t, a.host, "ann@example.test", "password of ann")
	pb := s.login(t, b.host, "bob@example.test", "password of bob")
	pp := s.login(t, platformHost, admin, "platform password")

	// The server checks tokens against the stack's clock, not the wall
	// clock: forged times are relative to it.
	now := s.clock.Now()
	stranger, err := token.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	// A key of the attacker's own, published under the server's kid.
	impostor := token.NewIssuer("taruvi", token.NewKeySet(token.Key{ID: s.key.ID, Private: stranger.Private, CreatedAt: now}), nil)
	forged, err := impostor.Sign(token.Claims{Subject: id(ann.ID), Audience: a.tenant.Schema, TenantID: id(a.tenant.ID),
		SessionID: claim(t, pa.Access, "sid"), ID: "forged", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer := token.NewIssuer("someone-else", s.keys, nil)
	foreign, err := otherIssuer.Sign(token.Claims{Subject: id(ann.ID), Audience: a.tenant.Schema, TenantID: id(a.tenant.ID),
		SessionID: claim(t, pa.Access, "sid"), ID: "foreign", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	pub := []byte(s.key.Public)
	me := func(name, host, cred string, status int, want ...string) row {
		r := row{name: name, method: "GET", path: mePath, host: host, cred: cred, status: status, want: want}
		if status == 401 {
			r.want, r.header = append(unauthorized, want...), refused
		}
		return r
	}
	s.scenario(nil).run(t, []row{
		me("A's token on A", a.host, bearer(pa.Access), 200, `"email":"ann@example.test"`),
		me("A's token on B", b.host, bearer(pa.Access), 401, `"message":"Token is for another tenant."`),
		me("B's token on A", a.host, bearer(pb.Access), 401),
		me("platform token on a tenant", a.host, bearer(pp.Access), 401),
		me("tenant token on the platform", platformHost, bearer(pa.Access), 401),
		me("platform token on the platform", platformHost, bearer(pp.Access), 200, `"email":"`+admin+`"`),
		me("re-signed by the server's key (control)", a.host, bearer(s.resign(t, pa.Access, now, now.Add(time.Minute))), 200),
		me("expired", a.host, bearer(s.resign(t, pa.Access, now.Add(-30*time.Minute), now.Add(-15*time.Minute))), 401, `"message":"Token expired."`),
		me("expired a minute ago", a.host, bearer(s.resign(t, pa.Access, now.Add(-16*time.Minute), now.Add(-time.Minute))), 401),
		me("claims changed (another user)", a.host, bearer(withSubject(t, pa.Access, "1")), 401, `"message":"Invalid token."`),
		me("signature changed", a.host, bearer(withFlippedSignature(t, pa.Access)), 401, `"message":"Invalid token."`),
		me("alg none", a.host, bearer(algNone(t, pa.Access)), 401, `"message":"Invalid token."`),
		me("HS256 keyed by the public key", a.host, bearer(hs256(t, pa.Access, pub)), 401, `"message":"Invalid token."`),
		me("HS256 keyed by the JWKS x", a.host, bearer(hs256(t, pa.Access, []byte(base64.RawURLEncoding.EncodeToString(pub)))), 401),
		me("signed by a stranger under the server's kid", a.host, bearer(forged), 401, `"message":"Invalid token."`),
		me("from another issuer", a.host, bearer(foreign), 401),
		me("not a JWT", a.host, "Bearer not-a-token", 401),
		me("an empty bearer", a.host, "Bearer ", 401),
		me("Basic scheme", a.host, "Basic YW5uOnBhc3N3b3Jk", 401),
		me("a refresh token as bearer", a.host, bearer(pa.Refresh), 401),
		{name: "no credential", method: "GET", path: mePath, host: a.host, status: 401,
			want: append(unauthorized, `"message":"Authentication required."`)},
		{name: "verify A's token on A", method: "POST", path: verifyPath, host: a.host, body: jsonBody(map[string]string{"token": pa.Access}),
			status: 200, want: []string{`"valid":true`}},
		{name: "verify A's token on B", method: "POST", path: verifyPath, host: b.host, body: jsonBody(map[string]string{"token": pa.Access}),
			status: 401, want: unauthorized},
		{name: "verify alg none", method: "POST", path: verifyPath, host: a.host, body: jsonBody(map[string]string{"token": algNone(t, pa.Access)}),
			status: 401, want: unauthorized},
		{name: "verify without token", method: "POST", path: verifyPath, host: a.host, body: `{}`,
			status: 400, want: append(invalid, `"token":"This field is required."`)},
		{name: "A's refresh token on B", method: "POST", path: refreshPath, host: b.host, body: jsonBody(map[string]string{"refresh": pa.Refresh}),
			status: 401, want: unauthorized},
		{name: "platform refresh token on a tenant", method: "POST", path: refreshPath, host: a.host, body: jsonBody(map[string]string{"refresh": pp.Refresh}),
			status: 401, want: unauthorized},
		{name: "A's refresh token on A (control)", method: "POST", path: refreshPath, host: a.host, body: jsonBody(map[string]string{"refresh": pa.Refresh}),
			status: 200, want: signedIn},
		{name: "signing in while sending an expired token", method: "POST", path: loginPath, host: a.host,
			cred: bearer(s.resign(t, pa.Access, now.Add(-30*time.Minute), now.Add(-15*time.Minute))),
			body: credentials("ann@example.test", "password of ann"), status: 200, want: signedIn},
	})
}
