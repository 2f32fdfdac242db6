package api_test

import (
	"testing"

	"taruvi"
)

// TestCrossTenant: tenants A and B share nothing. The same email is two
// users with two passwords; A's tokens and keys are nothing on B; and user
// ids, which start at 1 in every tenant, never reach across.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA := s.createUser(t, a, taruvi.UserCreate{Email: "owner@a.test", Password: "password of olga", IsOwner: true, FirstName: "Olga"})
	sameA := s.createUser(t, a, taruvi.UserCreate{Email: "same@example.test", Password: "password in A", FirstName: "Ann"})
	sameB := s.createUser(t, b, taruvi.UserCreate{Email: "same@example.test", Password: "password in B", FirstName: "Bea"})
	ownerB := s.createUser(t, b, taruvi.UserCreate{Email: "owner@b.test", Password: "password of otto", IsOwner: true, FirstName: "Otto"})
	if ownerA.ID != 1 || sameB.ID != 1 || sameA.ID != 2 || ownerB.ID != 2 {
		t.Fatalf("user ids A %d, %d and B %d, %d: the test wants ids to start at 1 in each tenant", ownerA.ID, sameA.ID, sameB.ID, ownerB.ID)
	}
	pOwnerA := s.login(t, a.host, "owner@a.test", "password of olga")
	pSameA := s.login(t, a.host, "same@example.test", "password in A")
	pSameB := s.login(t, b.host, "same@example.test", "password in B")
	pOwnerB := s.login(t, b.host, "owner@b.test", "password of otto")
	onB := func(name, method, path, cred, body string) row {
		return row{name: name, method: method, path: path, host: b.host, cred: cred, body: body, status: 401, want: unauthorized}
	}
	aOnly := []string{"Olga", "Ann", "owner@a.test"}

	s.scenario(nil).run(t, []row{
		{name: "A's password does not open B", method: "POST", path: loginPath, host: b.host, body: credentials("same@example.test", "password in A"),
			status: 401, want: badLogin},
		{name: "B's password does not open A", method: "POST", path: loginPath, host: a.host, body: credentials("same@example.test", "password in B"),
			status: 401, want: badLogin},
		{name: "the email on A is A's user", method: "GET", path: mePath, host: a.host, cred: bearer(pSameA.Access), status: 200,
			want: []string{`"id":2`, `"first_name":"Ann"`}, absent: []string{"Bea"}},
		{name: "the email on B is B's user", method: "GET", path: mePath, host: b.host, cred: bearer(pSameB.Access), status: 200,
			want: []string{`"id":1`, `"first_name":"Bea"`}, absent: aOnly},

		onB("A's token on B", "GET", mePath, bearer(pSameA.Access), ""),
		onB("A's owner reads user 1 on B", "GET", "/api/users/1", bearer(pOwnerA.Access), ""),
		onB("A's owner lists B's users", "GET", "/api/users", bearer(pOwnerA.Access), ""),
		onB("A's owner changes user 1 on B", "PATCH", "/api/users/1", bearer(pOwnerA.Access), `{"first_name":"Hacked"}`),
		onB("A's owner deletes user 1 on B", "DELETE", "/api/users/1", bearer(pOwnerA.Access), ""),
		onB("A's owner sets a password on B", "POST", "/api/users/1/set-password", bearer(pOwnerA.Access), `{"password":"taken over"}`),
		onB("A's owner makes a user on B", "POST", "/api/users", bearer(pOwnerA.Access), `{"email":"spy@example.test","is_owner":true}`),
		onB("A's owner grants on B", "POST", "/api/grants", bearer(pOwnerA.Access), `{"user_id":1,"permission":"users.view_user"}`),
		onB("A's token logs out on B", "POST", logoutPath, bearer(pSameA.Access), ""),
		onB("A's refresh token on B", "POST", refreshPath, "", refreshBody(pSameA.Refresh)),
		onB("A's token verified on B", "POST", verifyPath, "", jsonBody(map[string]string{"token": pSameA.Access})),

		{name: "B's member reads B's user 1, never A's", method: "GET", path: "/api/users/1", host: b.host, cred: bearer(pSameB.Access),
			status: 200, want: []string{`"id":1`, `"email":"same@example.test"`, `"first_name":"Bea"`}, absent: aOnly},
		{name: "B's member may not read B's user 2", method: "GET", path: "/api/users/2", host: b.host, cred: bearer(pSameB.Access),
			status: 403, want: forbidden},
		{name: "A's owner reads A's user 1", method: "GET", path: "/api/users/1", host: a.host, cred: bearer(pOwnerA.Access),
			status: 200, want: []string{`"first_name":"Olga"`}, absent: []string{"Bea", "Otto"}},
		{name: "A's owner lists A's users only", method: "GET", path: "/api/users", host: a.host, cred: bearer(pOwnerA.Access),
			status: 200, want: []string{"Olga", "Ann"}, absent: []string{"Bea", "Otto", "owner@b.test"}},
		{name: "B's owner lists B's users only", method: "GET", path: "/api/users", host: b.host, cred: bearer(pOwnerB.Access),
			status: 200, want: []string{"Bea", "Otto"}, absent: aOnly},
		{name: "B's user 1 was not changed", method: "GET", path: mePath, host: b.host, cred: bearer(pSameB.Access),
			status: 200, want: []string{`"first_name":"Bea"`}, absent: []string{"Hacked"}},

		{name: "A's member makes an API key", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(pSameA.Access), body: `{"name":"a-key"}`,
			status: 201, save: map[string]string{"keyA": "data.key", "prefixA": "data.prefix"}},
		{name: "A's key works on A", method: "GET", path: mePath, host: a.host, cred: "Api-Key {{keyA}}", status: 200, want: []string{`"first_name":"Ann"`}},
		onB("A's key on B", "GET", mePath, "Api-Key {{keyA}}", ""),
		onB("A's key lists keys on B", "GET", apiKeysPath, "Api-Key {{keyA}}", ""),
		{name: "A's key on the platform", method: "GET", path: mePath, host: platformHost, cred: "Api-Key {{keyA}}", status: 401, want: unauthorized},
		{name: "B's same user does not see A's key", method: "GET", path: apiKeysPath, host: b.host, cred: bearer(pSameB.Access),
			status: 200, want: []string{`"data":[]`}, absent: []string{"{{prefixA}}"}},

		{name: "A's owner makes a group", method: "POST", path: "/api/groups", host: a.host, cred: bearer(pOwnerA.Access), body: `{"name":"Alpha"}`, status: 201},
		{name: "B does not see it", method: "GET", path: "/api/groups", host: b.host, cred: bearer(pOwnerB.Access),
			status: 200, want: []string{`"data":[]`}, absent: []string{"Alpha"}},
		{name: "B may take the same name", method: "POST", path: "/api/groups", host: b.host, cred: bearer(pOwnerB.Access), body: `{"name":"Alpha"}`, status: 201},
	})
}
