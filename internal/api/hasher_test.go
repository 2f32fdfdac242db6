package api_test

import (
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// TestPasswordHashesBusy: while every hash slot is taken and the queue is
// full, whatever needs a password hash (signing in, changing a password,
// creating a user) answers 503 with Retry-After, and requests that need
// none go on; once a slot is free they all work again.
func TestPasswordHashesBusy(t *testing.T) {
	t.Parallel()
	hasher := token.NewHasher(token.HasherOptions{Concurrent: 1, Queue: -1, Wait: 50 * time.Millisecond})
	s := newStack(t, limits{account: 5, address: 1000, hasher: hasher})
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "owner password", IsOwner: true})
	pair := s.login(t, a.host, "owner@example.test", "owner password")
	release, err := hasher.Acquire(a.ctx)
	if err != nil {
		t.Fatal(err)
	}
	busy := []string{`"code":"SERVICE_UNAVAILABLE"`, "try again shortly"}
	s.scenario(nil).run(t, []row{
		{name: "sign-in", method: "POST", path: loginPath, host: a.host, body: credentials("owner@example.test", "owner password"),
			status: 503, want: busy, header: []string{"Retry-After"}, absent: []string{`"access"`}},
		{name: "unknown email", method: "POST", path: loginPath, host: a.host, body: credentials("nobody@example.test", "owner password"),
			status: 503, want: busy, header: []string{"Retry-After"}},
		{name: "password change", method: "POST", path: "/api/auth/password/change", host: a.host, cred: bearer(pair.Access),
			body: `{"old_password":"owner password","new_password":"a new password of the owner"}`, status: 503, want: busy},
		{name: "user creation", method: "POST", path: "/api/users/", host: a.host, cred: bearer(pair.Access),
			body: `{"email":"bob@example.test","password":"password of bob"}`, status: 503, want: busy},
		{name: "a request without a hash goes on", method: "GET", path: "/api/tenant/", host: a.host, cred: bearer(pair.Access),
			status: 200},
	})
	res := s.do(t, "POST", a.host, loginPath, "", credentials("owner@example.test", "owner password"))
	if got := res.header.Get("Retry-After"); res.status != 503 || got != "1" {
		t.Errorf("busy sign-in: %d, Retry-After %q; want 503 and 1", res.status, got)
	}
	release()
	s.login(t, a.host, "owner@example.test", "owner password")
}
