package api_test

import (
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

func refreshBody(tok string) string { return `{"refresh":"` + tok + `"}` }

// tamper returns tok with its i-th character changed.
func tamper(tok string, i int) string {
	c := "A"
	if tok[i] == 'A' {
		c = "B"
	}
	return tok[:i] + c + tok[i+1:]
}

// advance returns a row hook moving the stack's clock forward by d.
func (s *stack) advance(d time.Duration) func(map[string]string) {
	return func(map[string]string) { s.clock.Advance(d) }
}

// TestRefreshRotation: each refresh token works once; a retry inside the
// 10 s grace window gets the very same pair, a reuse after it ends the
// whole family, and the user's other sessions live on.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	other := s.login(t, a.host, "ann@example.test", "password of ann")
	login := credentials("ann@example.test", "password of ann")

	s.scenario(nil).run(t, []row{
		{name: "sign in", method: "POST", path: loginPath, host: a.host, body: login, status: 200, want: signedIn,
			save: map[string]string{"access0": "data.access", "refresh0": "data.refresh"}},
		{name: "refresh gives a new pair", before: s.advance(2 * time.Second), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{refresh0}}"), status: 200, want: append(signedIn, `"message":"Token refreshed."`),
			absent: []string{"{{refresh0}}", "{{access0}}"}, save: map[string]string{"access1": "data.access", "refresh1": "data.refresh"}},
		{name: "the new access token works", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access1}}", status: 200},
		{name: "the old access token still works until it expires", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access0}}", status: 200},
		{name: "retry inside the grace window returns the same pair", before: s.advance(7 * time.Second), method: "POST", path: refreshPath,
			host: a.host, body: refreshBody("{{refresh0}}"), status: 200,
			want: []string{`"access":"{{access1}}"`, `"refresh":"{{refresh1}}"`}},
		{name: "the successor rotates on", before: s.advance(time.Second), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{refresh1}}"), status: 200, want: signedIn, absent: []string{"{{refresh1}}"},
			save: map[string]string{"access2": "data.access", "refresh2": "data.refresh"}},
		{name: "reuse after the grace window is refused", before: s.advance(9 * time.Second), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{refresh0}}"), status: 401, want: append(unauthorized, "Refresh token reused")},
		{name: "the newest refresh token of the family is dead", method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{refresh2}}"), status: 401, want: unauthorized},
		{name: "the family's newest access token is dead", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access2}}",
			status: 401, want: append(unauthorized, `"message":"Session ended; sign in again."`)},
		{name: "the family's cached access token is dead", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access1}}", status: 401, want: unauthorized},
		{name: "the family's first access token is dead", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access0}}", status: 401, want: unauthorized},
		{name: "a changed token naming a live session is no reuse", method: "POST", path: refreshPath, host: a.host,
			body: refreshBody(tamper(other.Refresh, 50)), status: 401, want: append(unauthorized, `"message":"Invalid refresh token."`)},
		{name: "another session of the user lives on", method: "GET", path: mePath, host: a.host, cred: bearer(other.Access), status: 200},
		{name: "and refreshes", method: "POST", path: refreshPath, host: a.host, body: refreshBody(other.Refresh), status: 200, want: signedIn},
		{name: "signing in again works", method: "POST", path: loginPath, host: a.host, body: login, status: 200, want: signedIn},
		{name: "a malformed refresh token", method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("rt_" + strings.Repeat("A", 43)), status: 401, want: append(unauthorized, `"message":"Invalid refresh token."`)},
		{name: "a well-formed token of no session", method: "POST", path: refreshPath, host: a.host,
			body: refreshBody(token.NewRefreshToken(s.sealer, [16]byte{1, 2, 3})), status: 401, want: append(unauthorized, `"message":"Invalid refresh token."`)},
		{name: "not a refresh token", method: "POST", path: refreshPath, host: a.host, body: refreshBody("{{access2}}"),
			status: 401, want: append(unauthorized, `"message":"Invalid refresh token."`)},
		{name: "no refresh token", method: "POST", path: refreshPath, host: a.host, body: `{}`,
			status: 400, want: append(invalid, `"refresh":"This field is required."`)},
	})
	if !strings.Contains(s.log.String(), `"event":"refresh_token_reuse"`) {
		t.Errorf("no refresh_token_reuse security event in the log:\n%s", s.log.String())
	}
}

// TestRefreshExpiry: a refresh token lives 7 days from its last use.
func TestRefreshExpiry(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	p := s.login(t, a.host, "ann@example.test", "password of ann")
	s.scenario(nil).run(t, []row{
		{name: "six days later it still works", before: s.advance(6 * 24 * time.Hour), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody(p.Refresh), status: 200, want: signedIn, save: map[string]string{"next": "data.refresh"}},
		{name: "the successor lives 7 days from now", before: s.advance(6 * 24 * time.Hour), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{next}}"), status: 200, want: signedIn, save: map[string]string{"last": "data.refresh"}},
		{name: "after 7 days unused it is refused", before: s.advance(7*24*time.Hour + time.Minute), method: "POST", path: refreshPath, host: a.host,
			body: refreshBody("{{last}}"), status: 401, want: unauthorized},
	})
}

// TestLogout: logout ends the session at once and refuses to end another
// user's session.
func TestLogout(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	s.createUser(t, a, taruvi.UserCreate{Email: "bob@example.test", Password: "password of bob"})
	ann := s.login(t, a.host, "ann@example.test", "password of ann")
	annOther := s.login(t, a.host, "ann@example.test", "password of ann")
	annThird := s.login(t, a.host, "ann@example.test", "password of ann")
	bob := s.login(t, a.host, "bob@example.test", "password of bob")

	s.scenario(nil).run(t, []row{
		{name: "ann's token works", method: "GET", path: mePath, host: a.host, cred: bearer(ann.Access), status: 200},
		{name: "logout with bob's refresh token is refused", method: "POST", path: logoutPath, host: a.host, cred: bearer(ann.Access),
			body: refreshBody(bob.Refresh), status: 400, want: append(invalid, `"refresh":"Not a refresh token of yours."`)},
		{name: "the refused logout ended nothing of ann's", method: "GET", path: mePath, host: a.host, cred: bearer(ann.Access), status: 200},
		{name: "nor of bob's", method: "POST", path: refreshPath, host: a.host, body: refreshBody(bob.Refresh), status: 200, want: signedIn},
		{name: "logout with a malformed refresh token is refused", method: "POST", path: logoutPath, host: a.host, cred: bearer(ann.Access),
			body: refreshBody("rt_" + strings.Repeat("B", 43)), status: 400, want: invalid},
		{name: "logout with a token of no session is refused", method: "POST", path: logoutPath, host: a.host, cred: bearer(ann.Access),
			body: refreshBody(token.NewRefreshToken(s.sealer, [16]byte{4, 5, 6})), status: 400, want: invalid},
		{name: "logout without credentials", method: "POST", path: logoutPath, host: a.host, status: 401, want: unauthorized},
		{name: "logout", method: "POST", path: logoutPath, host: a.host, cred: bearer(ann.Access), status: 200,
			want: []string{`"message":"Signed out."`}},
		{name: "the access token fails on the next request", method: "GET", path: mePath, host: a.host, cred: bearer(ann.Access),
			status: 401, want: append(unauthorized, `"message":"Session ended; sign in again."`), header: refused},
		{name: "so does its refresh token", method: "POST", path: refreshPath, host: a.host, body: refreshBody(ann.Refresh), status: 401, want: unauthorized},
		{name: "a second logout", method: "POST", path: logoutPath, host: a.host, cred: bearer(ann.Access), status: 401, want: unauthorized},
		{name: "ann's other session lives on", method: "GET", path: mePath, host: a.host, cred: bearer(annOther.Access), status: 200},
		{name: "logout also ending another own session by its refresh token", method: "POST", path: logoutPath, host: a.host,
			cred: bearer(annThird.Access), body: refreshBody(annOther.Refresh), status: 200},
		{name: "that session's cached access token fails", method: "GET", path: mePath, host: a.host, cred: bearer(annOther.Access), status: 401, want: unauthorized},
		{name: "and the caller's own", method: "GET", path: mePath, host: a.host, cred: bearer(annThird.Access), status: 401, want: unauthorized},
		{name: "bob is still signed in", method: "GET", path: mePath, host: a.host, cred: bearer(bob.Access), status: 200},
	})
}

// TestChangePassword: the old password must be right; a change ends every
// session of the user.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "first password"})
	p := s.login(t, a.host, "ann@example.test", "first password")
	change := func(old, new string) string {
		return jsonBody(map[string]string{"old_password": old, "new_password": new})
	}
	const path = "/api/auth/password/change"
	s.scenario(nil).run(t, []row{
		{name: "old password wrong", method: "POST", path: path, host: a.host, cred: bearer(p.Access), body: change("wrong password", "second password"),
			status: 400, want: append(invalid, `"old_password":"The current password is wrong."`)},
		{name: "the session survives a refused change", method: "GET", path: mePath, host: a.host, cred: bearer(p.Access), status: 200},
		{name: "new password too short", method: "POST", path: path, host: a.host, cred: bearer(p.Access), body: change("first password", "short"),
			status: 400, want: append(invalid, "at least 10 characters")},
		{name: "new password too common", method: "POST", path: path, host: a.host, cred: bearer(p.Access), body: change("first password", "qwertyuiop"),
			status: 400, want: append(invalid, `"new_password":"Password is one of the most common passwords`)},
		{name: "new password too short names the new_password field", method: "POST", path: path, host: a.host, cred: bearer(p.Access),
			body: change("first password", "short"), status: 400, want: []string{`"new_password":"`}},
		{name: "without credentials", method: "POST", path: path, host: a.host, body: change("first password", "second password"),
			status: 401, want: unauthorized},
		{name: "change", method: "POST", path: path, host: a.host, cred: bearer(p.Access), body: change("first password", "second password"),
			status: 200, want: []string{`"message":"Password changed; sign in again."`}},
		{name: "the old access token fails on the next request", method: "GET", path: mePath, host: a.host, cred: bearer(p.Access),
			status: 401, want: unauthorized},
		{name: "the old access token fails once the notification arrives", method: "GET", path: mePath, host: a.host, cred: bearer(p.Access),
			within: time.Second, status: 401, want: unauthorized},
		{name: "the old refresh token fails", method: "POST", path: refreshPath, host: a.host, body: refreshBody(p.Refresh), status: 401, want: unauthorized},
		{name: "the old password fails", method: "POST", path: loginPath, host: a.host, body: credentials("ann@example.test", "first password"),
			status: 401, want: badLogin},
		{name: "the new password works", method: "POST", path: loginPath, host: a.host, body: credentials("ann@example.test", "second password"),
			status: 200, want: signedIn},
	})
}

// TestRevocationOnEveryReplica: a session ended on one replica is refused
// by another that had it cached, through the notification alone.
func TestRevocationOnEveryReplica(t *testing.T) {
	t.Parallel()
	one := newStack(t, defaultLimits)
	two := one.replica(t)
	a := one.newTenant(t)
	one.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	p := one.login(t, a.host, "ann@example.test", "password of ann")
	q := one.login(t, a.host, "ann@example.test", "password of ann")
	onTwo := func(name, cred string, status int, within time.Duration) row {
		return row{name: name, method: "GET", path: mePath, host: a.host, cred: cred, status: status, within: within}
	}
	two.scenario(nil).run(t, []row{
		onTwo("replica two accepts the token", bearer(p.Access), 200, 0),
		onTwo("and the other session's", bearer(q.Access), 200, 0),
	})
	one.scenario(nil).run(t, []row{
		{name: "logout on replica one", method: "POST", path: logoutPath, host: a.host, cred: bearer(p.Access), status: 200},
		{name: "replica one refuses the token at once", method: "GET", path: mePath, host: a.host, cred: bearer(p.Access), status: 401},
		{name: "refresh on replica one", method: "POST", path: refreshPath, host: a.host, body: refreshBody(q.Refresh), status: 200},
		{name: "reuse after the grace window on replica one", before: one.advance(time.Minute), method: "POST", path: refreshPath,
			host: a.host, body: refreshBody(q.Refresh), status: 401, want: []string{"Refresh token reused"}},
	})
	two.scenario(nil).run(t, []row{
		onTwo("replica two refuses the logged-out token within a second", bearer(p.Access), 401, time.Second),
		onTwo("and the reused family's token", bearer(q.Access), 401, time.Second),
	})
}
