package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

const (
	appLoginPath   = "/_allauth/app/v1/auth/login"
	appSessionPath = "/_allauth/app/v1/auth/session"
)

// appSession is what an app sign-in gave: its tokens.
type appSession struct {
	sessionToken, access, refresh string
}

// appLogin signs in through the allauth path at prefix+path on host and
// returns the tokens, failing unless the answer is allauth's 200.
func (s *stack) appLogin(t *testing.T, host, prefix string, body string) appSession {
	t.Helper()
	res := s.request(t, "POST", host, prefix+appLoginPath, textBody(body), map[string]string{"Content-Type": "application/json"})
	if res.status != http.StatusOK {
		t.Fatalf("app login on %s%s: %d %s", host, prefix, res.status, res.body)
	}
	res.mustBeJSON(t, "app login")
	var out appSession
	for name, dst := range map[string]*string{"meta.session_token": &out.sessionToken, "meta.access_token": &out.access, "meta.refresh_token": &out.refresh} {
		v, err := lookup(res.body, name)
		if err != nil || v == "" {
			t.Fatalf("app login: no %s in %s (%v)", name, res.body, err)
		}
		*dst = v
	}
	return out
}

// get sends a GET with the given headers (empty values are not sent).
func (s *stack) get(t *testing.T, host, path string, header map[string]string) response {
	t.Helper()
	return s.request(t, "GET", host, path, nil, header)
}

// wantJSON fails unless res has status and the body holds every fragment.
func wantJSON(t *testing.T, what string, res response, status int, fragments ...string) {
	t.Helper()
	if res.status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, res.status, status, shorten(res.body))
	}
	for _, f := range fragments {
		if !strings.Contains(res.body, f) {
			t.Errorf("%s: body lacks %s: %s", what, f, shorten(res.body))
		}
	}
}

// allauthUnauthenticated is the 401 allauth answers when nobody is signed
// in.
var allauthUnauthenticated = []string{`"status":401`, `"meta":{"is_authenticated":false}`, `"flows":[{"id":"login"}]`}

// TestAppLoginSDKFlow is the sign-in of the Taruvi SDKs: log in through
// the allauth path under /sites/<tenant>/, use the session token as
// X-Session-Token and the access token as Bearer, validate and end the
// session; then every credential of the session is refused with 401, on
// this replica and on another.
func TestAppLoginSDKFlow(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	other := s.replica(t)
	a := s.newTenant(t)
	ann := s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Username: "ann", Password: "password of ann",
		FirstName: "Ann", LastName: "Lee"})
	prefix := "/sites/" + a.tenant.Schema

	res := s.request(t, "POST", platformHost, prefix+appLoginPath,
		textBody(`{"email":"Ann@Example.test","password":"password of ann"}`), map[string]string{"Content-Type": "application/json"})
	wantJSON(t, "login", res, 200, `"status":200`, `"is_authenticated":true`, `"session_token":"st_`, `"access_token":"ey`,
		`"refresh_token":"rt_`, `"user":{"id":`+id(ann.ID)+`,"display":"Ann Lee","email":"ann@example.test","username":"ann","has_usable_password":true}`,
		`"methods":[{"method":"password"`)
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login: Cache-Control %q, want no-store", cc)
	}
	sess := s.appLogin(t, platformHost, prefix, `{"email":"ann@example.test","password":"password of ann"}`)

	me := prefix + "/api/users/me/"
	wantUser := []string{`"status":"success"`, `"id":` + id(ann.ID), `"username":"ann"`, `"email":"ann@example.test"`,
		`"first_name":"Ann"`, `"last_name":"Lee"`}
	wantJSON(t, "me by session token", s.get(t, platformHost, me, map[string]string{"X-Session-Token": sess.sessionToken}), 200, wantUser...)
	wantJSON(t, "me by access token", s.get(t, platformHost, me, map[string]string{"Authorization": bearer(sess.access)}), 200, wantUser...)
	wantJSON(t, "me by session token on the tenant's host", s.get(t, a.host, "/api/users/me", map[string]string{"X-Session-Token": sess.sessionToken}), 200, wantUser...)
	wantJSON(t, "me by session token on another replica", other.get(t, platformHost, me, map[string]string{"X-Session-Token": sess.sessionToken}), 200, wantUser...)

	for _, path := range []string{prefix + appSessionPath, prefix + appSessionPath + "/", prefix + "/" + appSessionPath} {
		wantJSON(t, "validate at "+path, s.get(t, platformHost, path, map[string]string{"X-Session-Token": sess.sessionToken}), 200,
			`"status":200`, `"is_authenticated":true`, `"email":"ann@example.test"`)
	}
	wantJSON(t, "validate on the tenant's host", s.get(t, a.host, appSessionPath, map[string]string{"X-Session-Token": sess.sessionToken}), 200,
		`"is_authenticated":true`)
	wantJSON(t, "validate without a credential", s.get(t, platformHost, prefix+appSessionPath, nil), 401, allauthUnauthenticated...)

	res = s.request(t, "DELETE", platformHost, prefix+appSessionPath+"/", nil, map[string]string{"X-Session-Token": sess.sessionToken})
	wantJSON(t, "sign out", res, 401, allauthUnauthenticated...)

	wantJSON(t, "validate after sign-out", s.get(t, platformHost, prefix+appSessionPath, map[string]string{"X-Session-Token": sess.sessionToken}),
		401, allauthUnauthenticated...)
	wantJSON(t, "me by session token after sign-out", s.get(t, platformHost, me, map[string]string{"X-Session-Token": sess.sessionToken}),
		401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "me by access token after sign-out", s.get(t, platformHost, me, map[string]string{"Authorization": bearer(sess.access)}),
		401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "refresh after sign-out", s.do(t, "POST", platformHost, prefix+"/api/auth/jwt/refresh", "", refreshBody(sess.refresh)),
		401, `"code":"UNAUTHORIZED"`)
	// The other replica remembered the session as live; the revocation
	// reaches it through the change feed.
	deadline := time.Now().Add(5 * time.Second)
	res = other.get(t, platformHost, me, map[string]string{"X-Session-Token": sess.sessionToken})
	for res.status == 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		res = other.get(t, platformHost, me, map[string]string{"X-Session-Token": sess.sessionToken})
	}
	wantJSON(t, "me by session token on the other replica after sign-out", res, 401, `"code":"UNAUTHORIZED"`)

	// A sign-out ends its own session only.
	wantJSON(t, "another sign-in", s.get(t, platformHost, me, map[string]string{"X-Session-Token": s.appLogin(t, a.host, "",
		`{"username":"ANN","password":"password of ann"}`).sessionToken}), 200, wantUser...)
	if !strings.Contains(s.log.String(), `"event":"login"`) || !strings.Contains(s.log.String(), `"via":"app"`) {
		t.Errorf("no login security event via app in the log:\n%s", s.log.String())
	}
}

// TestAppLoginRefused: wrong credentials are allauth's 400 whose text the
// SDKs recognise, the same for an unknown user; missing fields and
// malformed bodies are 400 too; repeated failures are throttled as on
// POST /api/auth/jwt/token, and logged.
func TestAppLoginRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t, limits{account: 3, address: 1000})
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	prefix := "/sites/" + a.tenant.Schema
	login := func(body, contentType string) response {
		return s.request(t, "POST", platformHost, prefix+appLoginPath, textBody(body), map[string]string{"Content-Type": contentType})
	}
	mismatch := []string{`"status":400`, `"code":"email_password_mismatch"`, `"param":"password"`, "Invalid credentials"}

	res := login(`{"email":"ann@example.test","password":"wrong"}`, "application/json")
	wantJSON(t, "wrong password", res, 400, mismatch...)
	res.mustBeJSON(t, "wrong password")
	wantJSON(t, "wrong password on the platform host", s.request(t, "POST", platformHost, appLoginPath,
		textBody(`{"email":"ann@example.test","password":"password of ann"}`), map[string]string{"Content-Type": "application/json"}),
		400, `"code":"email_password_mismatch"`, "Invalid credentials", "/sites/{tenant}/")
	wantJSON(t, "unknown user", login(`{"email":"nobody@example.test","password":"wrong"}`, "application/json"), 400, mismatch...)
	wantJSON(t, "no password", login(`{"email":"ann@example.test"}`, "application/json"), 400,
		`"status":400`, `"code":"required","param":"password"`)
	wantJSON(t, "an unknown field", login(`{"email":"ann@example.test","password":"x","phone":"1"}`, "application/json"), 400,
		`"status":400`, `"code":"invalid","param":"phone"`)
	wantJSON(t, "neither email nor username", login(`{"password":"password of ann"}`, "application/json"), 400,
		`"status":400`, `"code":"required","param":"email"`)
	wantJSON(t, "malformed JSON", login(`{"email":`, "application/json"), 400, `"status":400`, `"code":"invalid"`)
	wantJSON(t, "not JSON", login(`email=ann`, "application/x-www-form-urlencoded"), 415, `"status":415`)

	// One failure of ann's account so far (a missing password or a bad
	// body counts nothing, an unknown user is another account): two more
	// reach the limit of three.
	for i := range 2 {
		wantJSON(t, "another failure "+id(int64(i)), login(`{"email":"ann@example.test","password":"wrong again"}`, "application/json"), 400, mismatch...)
	}
	res = login(`{"email":"ann@example.test","password":"password of ann"}`, "application/json")
	wantJSON(t, "throttled", res, 429, `"status":429`, `"code":"too_many_login_attempts"`)
	if res.header.Get("Retry-After") == "" {
		t.Error("throttled sign-in without Retry-After")
	}
	wantJSON(t, "throttled on the token route too", s.do(t, "POST", a.host, "/api/auth/jwt/token", "",
		credentials("ann@example.test", "password of ann")), 429, `"code":"RATE_LIMITED"`)
	if !strings.Contains(s.log.String(), `"event":"login_failed"`) || !strings.Contains(s.log.String(), `"event":"login_throttled"`) {
		t.Errorf("no login_failed and login_throttled security events in the log:\n%s", s.log.String())
	}
}

// TestSessionTokenCrossTenant: a session token (and its access token) of
// tenant A signs nobody in on tenant B, by host or by prefix, nor on the
// platform; a tampered token, a refresh token or a token of no session is
// refused.
func TestSessionTokenCrossTenant(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a, b := s.newTenant(t), s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	// The same email on B, so that only the scope tells them apart.
	s.createUser(t, b, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	sess := s.appLogin(t, a.host, "", `{"email":"ann@example.test","password":"password of ann"}`)
	st := map[string]string{"X-Session-Token": sess.sessionToken}

	wantJSON(t, "on A", s.get(t, a.host, "/api/users/me", st), 200, `"email":"ann@example.test"`)
	wantJSON(t, "on B's host", s.get(t, b.host, "/api/users/me", st), 401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "under B's prefix", s.get(t, platformHost, "/sites/"+b.tenant.Schema+"/api/users/me/", st), 401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "B's session route", s.get(t, b.host, appSessionPath, st), 401, allauthUnauthenticated...)
	wantJSON(t, "on the platform", s.get(t, platformHost, "/api/users/me", st), 401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "A's access token on B", s.get(t, b.host, "/api/users/me", map[string]string{"Authorization": bearer(sess.access)}),
		401, `"code":"UNAUTHORIZED"`)
	res := s.request(t, "DELETE", b.host, appSessionPath, nil, st)
	wantJSON(t, "sign-out on B", res, 401, allauthUnauthenticated...)
	wantJSON(t, "A's session outlives a sign-out on B", s.get(t, a.host, "/api/users/me", st), 200)

	// A platform admin signs in on the platform host; the token is nothing
	// on a tenant.
	admin := uniqueEmail("admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: admin, Password: "password of the admin"})
	adm := s.appLogin(t, platformHost, "", `{"email":"`+admin+`","password":"password of the admin"}`)
	wantJSON(t, "the admin on the platform", s.get(t, platformHost, "/api/users/me", map[string]string{"X-Session-Token": adm.sessionToken}),
		200, `"email":"`+admin+`"`)
	wantJSON(t, "the admin's token on A", s.get(t, a.host, "/api/users/me", map[string]string{"X-Session-Token": adm.sessionToken}),
		401, `"code":"UNAUTHORIZED"`)
	wantJSON(t, "the admin's token under A's prefix", s.get(t, platformHost, "/sites/"+a.tenant.Schema+"/api/users/me/",
		map[string]string{"X-Session-Token": adm.sessionToken}), 401, `"code":"UNAUTHORIZED"`)

	for name, tok := range map[string]string{
		"a tampered token":        tamper(sess.sessionToken, 20),
		"the refresh token":       sess.refresh,
		"a refresh token renamed": "st_" + sess.refresh[3:],
		"a token of no session":   token.NewSessionToken(s.sealer, [16]byte{1, 2, 3}),
		"not a token":             "nonsense",
	} {
		wantJSON(t, name, s.get(t, a.host, "/api/users/me", map[string]string{"X-Session-Token": tok}), 401, `"code":"UNAUTHORIZED"`)
		wantJSON(t, name+" at the session route", s.get(t, a.host, appSessionPath, map[string]string{"X-Session-Token": tok}), 401,
			allauthUnauthenticated...)
	}
}

// TestCredentialPrecedence: of several credentials the server goes by one,
// an API key, else an access token, else a session token, and ignores the
// others; a bad chosen credential is 401 even beside a good one.
func TestCredentialPrecedence(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	s.createUser(t, a, taruvi.UserCreate{Email: "bob@example.test", Password: "password of bob"})
	ann := s.appLogin(t, a.host, "", `{"email":"ann@example.test","password":"password of ann"}`)
	bob := s.appLogin(t, a.host, "", `{"email":"bob@example.test","password":"password of bob"}`)
	res := s.do(t, "POST", a.host, apiKeysPath, bearer(ann.access), `{"name":"ci"}`)
	annKey, err := lookup(res.body, "data.key")
	if err != nil {
		t.Fatalf("create an API key: %v in %s", err, res.body)
	}

	for _, c := range []struct {
		name   string
		header map[string]string
		status int
		who    string
	}{
		{"an API key beats a session token", map[string]string{"Authorization": "Api-Key " + annKey, "X-Session-Token": bob.sessionToken}, 200, "ann"},
		{"an access token beats a session token", map[string]string{"Authorization": bearer(bob.access), "X-Session-Token": ann.sessionToken}, 200, "bob"},
		{"a bad access token is not passed over", map[string]string{"Authorization": bearer(tamper(bob.access, 30)), "X-Session-Token": ann.sessionToken}, 401, ""},
		{"a bad API key is not passed over", map[string]string{"Authorization": "Api-Key " + tamper(annKey, len(annKey)-1), "X-Session-Token": bob.sessionToken}, 401, ""},
		{"a bad session token beside nothing else", map[string]string{"X-Session-Token": tamper(bob.sessionToken, 20)}, 401, ""},
		{"a bad session token is ignored beside an access token", map[string]string{"Authorization": bearer(ann.access), "X-Session-Token": "nonsense"}, 200, "ann"},
		{"another scheme gives way to a session token", map[string]string{"Authorization": "Basic YW5uOnB3", "X-Session-Token": bob.sessionToken}, 200, "bob"},
		{"another scheme alone fails", map[string]string{"Authorization": "Basic YW5uOnB3"}, 401, ""},
	} {
		res := s.get(t, a.host, "/api/users/me", c.header)
		if c.status == 200 {
			wantJSON(t, c.name, res, 200, `"email":"`+c.who+`@example.test"`)
		} else {
			wantJSON(t, c.name, res, 401, `"code":"UNAUTHORIZED"`)
		}
	}

	// Two Authorization headers: the API key wins whatever their order.
	for _, order := range [][]string{{bearer(bob.access), "Api-Key " + annKey}, {"Api-Key " + annKey, bearer(bob.access)}} {
		req, err := http.NewRequest("GET", s.url+"/api/users/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = a.host
		for _, v := range order {
			req.Header.Add("Authorization", v)
		}
		got, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if got.StatusCode != 200 || !strings.Contains(string(body), `"email":"ann@example.test"`) {
			t.Errorf("Authorization %q: %d %s, want ann", order, got.StatusCode, body)
		}
	}
}

// TestSessionTokenEnds: a session token ends with its session, whatever
// ends it: a password change, the user's deactivation, the API's logout,
// or the session's expiry (7 days after its last refresh).
func TestSessionTokenEnds(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	ann := s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "first password"})
	s.createUser(t, a, taruvi.UserCreate{Email: "own@example.test", Password: "password of own", IsOwner: true})
	owner := s.login(t, a.host, "own@example.test", "password of own")
	annLogin := func(password string) appSession {
		return s.appLogin(t, a.host, "", `{"email":"ann@example.test","password":"`+password+`"}`)
	}
	me := func(name string, sess appSession, status int) {
		t.Helper()
		res := s.get(t, a.host, "/api/users/me", map[string]string{"X-Session-Token": sess.sessionToken})
		for deadline := time.Now().Add(time.Second); res.status != status && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			res = s.get(t, a.host, "/api/users/me", map[string]string{"X-Session-Token": sess.sessionToken})
		}
		if res.status != status {
			t.Errorf("%s: %d, want %d; %s", name, res.status, status, shorten(res.body))
		}
	}

	// The API's logout, with the session token as the credential.
	first := annLogin("first password")
	me("before logout", first, 200)
	wantJSON(t, "logout", s.request(t, "POST", a.host, "/api/auth/logout", nil, map[string]string{"X-Session-Token": first.sessionToken}), 200)
	me("after logout", first, 401)

	// A password change by another session of the user.
	second, third := annLogin("first password"), annLogin("first password")
	me("before the password change", second, 200)
	res := s.do(t, "POST", a.host, "/api/auth/password/change", bearer(third.access),
		jsonBody(map[string]string{"old_password": "first password", "new_password": "second password"}))
	wantJSON(t, "password change", res, 200)
	me("after the password change", second, 401)
	me("the changer's own session after the change", third, 401)

	// Deactivation by an owner.
	fourth := annLogin("second password")
	me("before deactivation", fourth, 200)
	wantJSON(t, "deactivate", s.do(t, "PATCH", a.host, "/api/users/"+id(ann.ID), bearer(owner.Access), `{"is_active":false}`), 200)
	me("after deactivation", fourth, 401)
	wantJSON(t, "reactivate", s.do(t, "PATCH", a.host, "/api/users/"+id(ann.ID), bearer(owner.Access), `{"is_active":true}`), 200)

	// Expiry: the session lives 7 days from its sign-in (or last refresh).
	fifth := annLogin("second password")
	me("a fresh session", fifth, 200)
	s.clock.Advance(7*24*time.Hour - time.Minute)
	me("a minute before the session's end", fifth, 200)
	s.clock.Advance(2 * time.Minute)
	me("past the session's end", fifth, 401)
	wantJSON(t, "validate past the session's end", s.get(t, a.host, appSessionPath, map[string]string{"X-Session-Token": fifth.sessionToken}),
		401, allauthUnauthenticated...)
}
