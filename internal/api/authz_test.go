package api_test

import (
	"strings"
	"testing"

	"taruvi"
)

// TestPermissions: a member gets what groups, direct permissions and
// object grants give, and nothing more; every denial is a 403 envelope and
// a security event.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	owner := s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "password of owner", IsOwner: true})
	member := s.createUser(t, a, taruvi.UserCreate{Email: "member@example.test", Password: "password of member"})
	po := s.login(t, a.host, owner.Email, "password of owner")
	pm := s.login(t, a.host, member.Email, "password of member")
	m := id(member.ID)
	asOwner := func(name, method, path, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(po.Access), body: body, status: status, want: want}
	}
	asMember := func(name, method, path, body string, status int, want ...string) row {
		if status == 403 {
			want = append(want, forbidden...)
		}
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(pm.Access), body: body, status: status, want: want}
	}
	viewUsers := `{"user_id":` + m + `,"permission":"users.view_user"}`
	doc := func(docID string) string {
		return `{"user_id":` + m + `,"permission":"users.change_user","object_type":"doc","object_id":"` + docID + `"}`
	}

	s.scenario(nil).run(t, []row{
		asMember("a member may not list users", "GET", "/api/users", "", 403),
		asMember("nor read another user", "GET", "/api/users/"+id(owner.ID), "", 403),
		asMember("but may read itself", "GET", "/api/users/"+m, "", 200, `"email":"member@example.test"`),
		asMember("and its own record", "GET", mePath, "", 200, `"email":"member@example.test"`),
		asMember("may not create users", "POST", "/api/users", `{"email":"x@example.test"}`, 403),
		asMember("nor change them", "PATCH", "/api/users/"+id(owner.ID), `{"first_name":"X"}`, 403),
		asMember("nor change itself", "PATCH", "/api/users/"+m, `{"is_owner":true}`, 403),
		asMember("nor delete them", "DELETE", "/api/users/"+id(owner.ID), "", 403),
		asMember("nor set their passwords", "POST", "/api/users/"+id(owner.ID)+"/set-password", `{"password":"taken over"}`, 403),
		asMember("nor list groups", "GET", "/api/groups", "", 403),
		asMember("nor make groups", "POST", "/api/groups", `{"name":"Mine"}`, 403),
		asMember("nor list grants", "GET", "/api/grants", "", 403),
		asMember("nor grant itself a permission", "POST", "/api/grants", viewUsers, 403),

		asOwner("the owner makes a group", "POST", "/api/groups", `{"name":"Viewers"}`, 201),
		{name: "and finds its id", method: "GET", path: "/api/groups", host: a.host, cred: bearer(po.Access), status: 200,
			want: []string{`"name":"Viewers"`}, save: map[string]string{"gid": "data.0.id"}},
		asOwner("adds the member", "POST", "/api/groups/{{gid}}/members", `{"user_id":`+m+`}`, 200),
		asOwner("and grants the group users.view_user", "POST", "/api/grants", `{"group_id":{{gid}},"permission":"users.view_user"}`, 201),
		asMember("the member may list users now", "GET", "/api/users", "", 200, `"email":"owner@example.test"`),
		asMember("and read another user", "GET", "/api/users/"+id(owner.ID), "", 200, `"email":"owner@example.test"`),
		asMember("but still not create users", "POST", "/api/users", `{"email":"x@example.test"}`, 403),
		asOwner("the owner takes the member out", "DELETE", "/api/groups/{{gid}}/members/"+m, "", 200),
		asMember("the member is denied again", "GET", "/api/users", "", 403),

		asOwner("the owner grants users.view_user directly", "POST", "/api/grants", viewUsers, 201),
		asMember("the member may list users", "GET", "/api/users", "", 200),
		asOwner("the owner revokes it", "POST", "/api/grants/revoke", viewUsers, 200),
		asMember("denied once more", "GET", "/api/users", "", 403),

		asMember("no grant, no document", "GET", docRoute+"7", "", 403),
		asOwner("the owner grants the member document 7", "POST", "/api/grants", doc("7"), 201, `"object_id":"7"`),
		asMember("the member may change document 7", "GET", docRoute+"7", "", 200, `"doc":"7"`),
		asMember("but not document 8", "GET", docRoute+"8", "", 403),
		asMember("nor document 70", "GET", docRoute+"70", "", 403),
		asMember("nor the model as a whole", "PATCH", "/api/users/"+id(owner.ID), `{"first_name":"X"}`, 403),
		{name: "nor an anonymous caller", method: "GET", path: docRoute + "7", host: a.host, status: 401, want: unauthorized},
		asOwner("the owner may change any document", "GET", docRoute+"8", "", 200),
		asOwner("a group gets document 9", "POST", "/api/grants",
			`{"group_id":{{gid}},"permission":"users.change_user","object_type":"doc","object_id":"9"}`, 201),
		asMember("outside the group the member may not", "GET", docRoute+"9", "", 403),
		asOwner("the member joins again", "POST", "/api/groups/{{gid}}/members", `{"user_id":`+m+`}`, 200),
		asMember("inside it may", "GET", docRoute+"9", "", 200),
		asOwner("the owner revokes document 7", "POST", "/api/grants/revoke", doc("7"), 200),
		asMember("document 7 is closed again", "GET", docRoute+"7", "", 403),
	})
	if n := strings.Count(s.log.String(), `"event":"permission_denied"`); n < 15 {
		t.Errorf("%d permission_denied security events in the log, want one per denial", n)
	}
}

// TestNoEscalationToOwner: users.change_user and users.delete_user let a
// member manage members, never take over or remove an owner.
func TestNoEscalationToOwner(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	owner := s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "password of owner", IsOwner: true})
	member := s.createUser(t, a, taruvi.UserCreate{Email: "member@example.test", Password: "password of member"})
	other := s.createUser(t, a, taruvi.UserCreate{Email: "other@example.test"})
	for _, perm := range []string{taruvi.PermChangeUser, taruvi.PermDeleteUser} {
		if _, err := s.users.GrantPermission(a.operator(), taruvi.ObjectGrant{UserID: &member.ID, Permission: perm}); err != nil {
			t.Fatal(err)
		}
	}
	pm := s.login(t, a.host, member.Email, "password of member")
	asMember := func(name, method, path, body string, status int) row {
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(pm.Access), body: body, status: status}
	}
	o := "/api/users/" + id(owner.ID)
	s.scenario(nil).run(t, []row{
		asMember("the member manages another member", "PATCH", "/api/users/"+id(other.ID), `{"first_name":"Otto"}`, 200),
		asMember("and sets a member's password", "POST", "/api/users/"+id(other.ID)+"/set-password", `{"password":"a new password"}`, 200),
		asMember("but not to the member's own email", "POST", "/api/users/"+id(other.ID)+"/set-password", `{"password":"Other@Example.test"}`, 400),
		asMember("nor to a common one", "POST", "/api/users/"+id(other.ID)+"/set-password", `{"password":"1q2w3e4r5t"}`, 400),
		asMember("but may not make itself owner", "PATCH", "/api/users/"+id(member.ID), `{"is_owner":true}`, 403),
		asMember("nor set the owner's password", "POST", o+"/set-password", `{"password":"taken over!"}`, 403),
		asMember("nor change the owner's email", "PATCH", o, `{"email":"mine@example.test"}`, 403),
		asMember("nor deactivate the owner", "PATCH", o, `{"is_active":false}`, 403),
		asMember("nor delete the owner", "DELETE", o, "", 403),
		{name: "the owner still signs in with their password", method: "POST", path: loginPath, host: a.host,
			body: credentials("owner@example.test", "password of owner"), status: 200, want: signedIn},
	})
}
