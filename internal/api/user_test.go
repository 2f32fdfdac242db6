package api_test

import (
	"strings"
	"testing"
	"time"

	"taruvi"
)

// TestUsers: an owner manages the tenant's users.
func TestUsers(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	owner := s.createUser(t, a, taruvi.UserCreate{Email: "Owner@Example.test", Password: "password of owner", IsOwner: true, FirstName: "Olga"})
	po := s.login(t, a.host, "owner@example.test", "password of owner")
	asOwner := func(name, method, path, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(po.Access), body: body, status: status, want: want}
	}
	withAbsent := func(r row, absent ...string) row { r.absent = absent; return r }
	withSave := func(r row, name, path string) row { r.save = map[string]string{name: path}; return r }
	const newUser = `{"email":"New@Example.test","username":"newbie","password":"password of nia","first_name":"Nia","attributes":{"team":"red"}}`

	s.scenario(nil).run(t, []row{
		asOwner("me", "GET", mePath, "", 200, `"id":`+id(owner.ID), `"email":"Owner@Example.test"`, `"is_owner":true`, `"first_name":"Olga"`),
		{name: "me without credentials", method: "GET", path: mePath, host: a.host, status: 401, want: unauthorized},
		asOwner("list", "GET", "/api/users", "", 200, `"email":"Owner@Example.test"`),
		withSave(withAbsent(asOwner("create", "POST", "/api/users", newUser, 201,
			`"email":"New@Example.test"`, `"username":"newbie"`, `"is_active":true`, `"is_owner":false`, `"team":"red"`, `"message":"User created."`),
			"password", "argon2"), "uid", "data.id"),
		asOwner("invalid email", "POST", "/api/users", `{"email":"not an email"}`, 400, append(invalid, `"email":"Enter a valid email address."`)...),
		asOwner("email with a display name", "POST", "/api/users", `{"email":"Nia <nia@example.test>"}`, 400, `"email":"Enter a valid email address."`),
		asOwner("no email", "POST", "/api/users", `{}`, 400, `"email":"Enter a valid email address."`),
		asOwner("duplicate email differing in case", "POST", "/api/users", `{"email":"new@EXAMPLE.test","username":"other"}`,
			409, `"code":"CONFLICT"`),
		asOwner("duplicate username differing in case", "POST", "/api/users", `{"email":"other@example.test","username":"NEWBIE"}`,
			409, `"code":"CONFLICT"`),
		asOwner("username with a space", "POST", "/api/users", `{"email":"sp@example.test","username":"a b"}`, 400, `"username":"`),
		asOwner("short password", "POST", "/api/users", `{"email":"short@example.test","password":"short"}`,
			400, append(invalid, `"password":"Password must be at least 10 characters long."`)...),
		asOwner("password is the email", "POST", "/api/users", `{"email":"Long.Name@example.test","password":"long.name@EXAMPLE.test"}`,
			400, append(invalid, `"password":"Password must not be your email address or your name."`)...),
		asOwner("password is the email's local part", "POST", "/api/users", `{"email":"longername@example.test","password":"LongerName"}`,
			400, append(invalid, `"password":"Password must not be your email address or your name."`)...),
		asOwner("password is the name", "POST", "/api/users", `{"email":"np@example.test","first_name":"Maximiliana","password":"maximiliana"}`,
			400, append(invalid, `"password":"Password must not be your email address or your name."`)...),
		asOwner("common password", "POST", "/api/users", `{"email":"common@example.test","password":"password123"}`,
			400, append(invalid, `"password":"Password is one of the most common passwords; choose another."`)...),
		asOwner("attributes not an object", "POST", "/api/users", `{"email":"attr@example.test","attributes":[1]}`, 400, invalid...),
		asOwner("get", "GET", "/api/users/{{uid}}", "", 200, `"id":{{uid}}`, `"first_name":"Nia"`),
		asOwner("patch", "PATCH", "/api/users/{{uid}}", `{"first_name":"Nora","attributes":{"team":"blue"}}`,
			200, `"first_name":"Nora"`, `"team":"blue"`, `"username":"newbie"`, `"email":"New@Example.test"`),
		asOwner("the change is stored", "GET", "/api/users/{{uid}}", "", 200, `"first_name":"Nora"`, `"team":"blue"`),
		asOwner("put works as patch", "PUT", "/api/users/{{uid}}", `{"last_name":"Nash"}`, 200, `"first_name":"Nora"`, `"last_name":"Nash"`),
		asOwner("patch an unknown field", "PATCH", "/api/users/{{uid}}", `{"nickname":"Nono"}`, 400, append(invalid, `"nickname":"Unknown field."`)...),
		asOwner("patch a field with a wrong type", "PATCH", "/api/users/{{uid}}", `{"is_active":"yes"}`, 400, append(invalid, `"is_active":"`)...),
		asOwner("patch to a taken email", "PATCH", "/api/users/{{uid}}", `{"email":"OWNER@example.test"}`, 409, `"code":"CONFLICT"`),
		asOwner("patch to an invalid email", "PATCH", "/api/users/{{uid}}", `{"email":"nope"}`, 400, `"email":"Enter a valid email address."`),
		{name: "the new user signs in", method: "POST", path: loginPath, host: a.host, body: credentials("new@example.test", "password of nia"),
			status: 200, want: signedIn, save: map[string]string{"access": "data.access"}},
		{name: "and is known", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}", status: 200, want: []string{`"first_name":"Nora"`}},
		asOwner("set the user's password", "POST", "/api/users/{{uid}}/set-password", `{"password":"reset by owner"}`, 200),
		{name: "the reset ended the user's session", within: time.Second, method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}",
			status: 401, want: unauthorized},
		{name: "the reset password works", method: "POST", path: loginPath, host: a.host, body: credentials("new@example.test", "reset by owner"),
			status: 200, want: signedIn, save: map[string]string{"access": "data.access"}},
		{name: "and is used", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}", status: 200},
		asOwner("deactivate", "PATCH", "/api/users/{{uid}}", `{"is_active":false}`, 200, `"is_active":false`),
		{name: "the deactivated user's token fails on the next request", method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}",
			status: 401, want: unauthorized},
		{name: "the deactivated user's token fails", within: time.Second, method: "GET", path: mePath, host: a.host, cred: "Bearer {{access}}",
			status: 401, want: unauthorized},
		{name: "the deactivated user cannot sign in", method: "POST", path: loginPath, host: a.host, body: credentials("new@example.test", "reset by owner"),
			status: 401, want: badLogin},
		asOwner("the owner cannot delete itself", "DELETE", "/api/users/"+id(owner.ID), "", 409, `"code":"CONFLICT"`),
		asOwner("delete", "DELETE", "/api/users/{{uid}}", "", 200, `"message":"User deleted."`),
		asOwner("a deleted user is not found", "GET", "/api/users/{{uid}}", "", 404, notFound...),
		asOwner("delete again", "DELETE", "/api/users/{{uid}}", "", 404, notFound...),
		asOwner("patch a deleted user", "PATCH", "/api/users/{{uid}}", `{"first_name":"X"}`, 404, notFound...),
		withAbsent(asOwner("the list no longer has them", "GET", "/api/users", "", 200, `"email":"Owner@Example.test"`), "New@Example.test"),
		asOwner("unknown id", "GET", "/api/users/999999", "", 404, notFound...),
		asOwner("non-numeric id", "GET", "/api/users/abc", "", 404, notFound...),
		asOwner("negative id", "GET", "/api/users/-1", "", 404, notFound...),
		asOwner("id out of range", "GET", "/api/users/99999999999999999999", "", 404, notFound...),
		asOwner("unknown route", "GET", "/api/users/1/nothing", "", 404, notFound...),
	})
}

// TestGroups: groups, their members and their permissions.
func TestGroups(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "password of owner", IsOwner: true})
	member := s.createUser(t, a, taruvi.UserCreate{Email: "member@example.test"})
	admin := uniqueEmail("admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: admin, Password: "platform password"})
	po := s.login(t, a.host, "owner@example.test", "password of owner")
	pp := s.login(t, platformHost, admin, "platform password")
	m := id(member.ID)
	asOwner := func(name, method, path, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(po.Access), body: body, status: status, want: want}
	}

	s.scenario(nil).run(t, []row{
		{name: "create", method: "POST", path: "/api/groups", host: a.host, cred: bearer(po.Access), body: `{"name":"Editors"}`, status: 201,
			want: []string{`"name":"Editors"`, `"members":[]`, `"permissions":[]`}, save: map[string]string{"gid": "data.id"}},
		asOwner("duplicate name differing in case", "POST", "/api/groups", `{"name":"editors"}`, 409, `"code":"CONFLICT"`, `exists already`),
		asOwner("blank name", "POST", "/api/groups", `{"name":"  "}`, 400, append(invalid, `"name":"Use 1 to 150 characters."`)...),
		asOwner("name too long", "POST", "/api/groups", `{"name":"`+strings.Repeat("g", 151)+`"}`, 400, `"name":"`),
		asOwner("add a member", "POST", "/api/groups/{{gid}}/members", `{"user_id":`+m+`}`, 200, `"message":"Member added."`),
		asOwner("add the member twice", "POST", "/api/groups/{{gid}}/members", `{"user_id":`+m+`}`, 200),
		asOwner("add an unknown user", "POST", "/api/groups/{{gid}}/members", `{"user_id":999999}`, 404, notFound...),
		asOwner("add to an unknown group", "POST", "/api/groups/999999/members", `{"user_id":`+m+`}`, 404, notFound...),
		asOwner("add without a user", "POST", "/api/groups/{{gid}}/members", `{}`, 400, append(invalid, `"user_id":"This field is required."`)...),
		asOwner("give the group a permission", "POST", "/api/grants", `{"group_id":{{gid}},"permission":"users.view_group"}`, 201),
		asOwner("the list shows members and permissions", "GET", "/api/groups", "", 200,
			`"id":{{gid}}`, `"members":[`+m+`]`, `"permissions":["users.view_group"]`),
		asOwner("remove the member", "DELETE", "/api/groups/{{gid}}/members/"+m, "", 200, `"message":"Member removed."`),
		asOwner("remove the member again", "DELETE", "/api/groups/{{gid}}/members/"+m, "", 404, notFound...),
		asOwner("the list shows no member", "GET", "/api/groups", "", 200, `"members":[]`),
		asOwner("delete", "DELETE", "/api/groups/{{gid}}", "", 200, `"message":"Group deleted."`),
		asOwner("delete again", "DELETE", "/api/groups/{{gid}}", "", 404, notFound...),
		asOwner("the list is empty", "GET", "/api/groups", "", 200, `"data":[]`),
		asOwner("its grant went with it", "GET", "/api/grants", "", 200, `"data":[]`),
		{name: "no groups on the platform", method: "GET", path: "/api/groups", host: platformHost, cred: bearer(pp.Access),
			status: 404, want: append(notFound, "tenant hosts only")},
		{name: "no permissions on the platform", method: "GET", path: "/api/permissions", host: platformHost, cred: bearer(pp.Access),
			status: 404, want: notFound},
	})
}

// TestGrants: model-wide and object grants are listed, made and revoked.
func TestGrants(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "password of owner", IsOwner: true})
	member := s.createUser(t, a, taruvi.UserCreate{Email: "member@example.test", Password: "password of member"})
	po := s.login(t, a.host, "owner@example.test", "password of owner")
	pm := s.login(t, a.host, "member@example.test", "password of member")
	m := id(member.ID)
	asOwner := func(name, method, path, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: a.host, cred: bearer(po.Access), body: body, status: status, want: want}
	}
	modelWide := `{"user_id":` + m + `,"permission":"users.view_user"}`
	object := `{"user_id":` + m + `,"permission":"users.change_user","object_type":"doc","object_id":"7"}`

	s.scenario(nil).run(t, []row{
		{name: "a member lists the permissions", method: "GET", path: "/api/permissions", host: a.host, cred: bearer(pm.Access), status: 200,
			want: []string{`"codename":"users.view_user"`, `"name":"Can view users"`, `"codename":"users.grant_permission"`}},
		{name: "the permissions need a credential", method: "GET", path: "/api/permissions", host: a.host, status: 401, want: unauthorized},
		asOwner("no grants yet", "GET", "/api/grants", "", 200, `"data":[]`),
		asOwner("grant model-wide", "POST", "/api/grants", modelWide, 201, `"permission":"users.view_user"`, `"object_type":""`),
		asOwner("grant on one object", "POST", "/api/grants", object, 201, `"object_type":"doc"`, `"object_id":"7"`),
		asOwner("the same object grant again", "POST", "/api/grants", object, 409, `"code":"CONFLICT"`),
		asOwner("the list shows both", "GET", "/api/grants", "", 200,
			`"user_id":`+m+`,"group_id":null,"permission":"users.view_user","object_type":"",`,
			`"user_id":`+m+`,"group_id":null,"permission":"users.change_user","object_type":"doc","object_id":"7"`),
		asOwner("both user and group", "POST", "/api/grants", `{"user_id":`+m+`,"group_id":1,"permission":"users.view_user"}`,
			400, append(invalid, `"user_id":"Give exactly one of user_id and group_id."`)...),
		asOwner("neither user nor group", "POST", "/api/grants", `{"permission":"users.view_user"}`, 400, `"user_id":"`),
		asOwner("no permission", "POST", "/api/grants", `{"user_id":`+m+`}`, 400, `"permission":"This field is required."`),
		asOwner("an unknown permission", "POST", "/api/grants", `{"user_id":`+m+`,"permission":"users.fly"}`,
			400, append(invalid, `"permission":"Unknown permission."`)...),
		asOwner("an object type without id", "POST", "/api/grants", `{"user_id":`+m+`,"permission":"users.view_user","object_type":"doc"}`,
			400, `"object_id":"`),
		asOwner("an unknown user", "POST", "/api/grants", `{"user_id":999999,"permission":"users.view_user"}`, 404, notFound...),
		asOwner("an unknown group", "POST", "/api/grants", `{"group_id":999999,"permission":"users.view_user"}`, 404, notFound...),
		{name: "a member may not grant", method: "POST", path: "/api/grants", host: a.host, cred: bearer(pm.Access),
			body: `{"user_id":` + m + `,"permission":"users.grant_permission"}`, status: 403, want: forbidden},
		asOwner("revoke the object grant", "POST", "/api/grants/revoke", object, 200, `"message":"Grant revoked."`),
		asOwner("revoke it again", "POST", "/api/grants/revoke", object, 404, notFound...),
		asOwner("revoke the model-wide grant", "POST", "/api/grants/revoke", modelWide, 200),
		asOwner("the list is empty again", "GET", "/api/grants", "", 200, `"data":[]`),
	})
}

// TestJWKS: the published key set verifies the tokens the server signs.
func TestJWKS(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	kid := kidOf(t, s.login(t, a.host, "ann@example.test", "password of ann").Access)
	x := seg.EncodeToString(s.key.Public)
	for _, host := range []string{a.host, platformHost} {
		s.scenario(nil).run(t, []row{
			{name: "on " + host, method: "GET", path: "/.well-known/jwks.json", host: host, status: 200,
				want:   []string{`"kid":"` + kid + `"`, `"kty":"OKP"`, `"crv":"Ed25519"`, `"alg":"EdDSA"`, `"use":"sig"`, `"x":"` + x + `"`},
				absent: []string{`"d":`}, header: []string{"Cache-Control"}},
		})
	}
}

// TestRequestBodies: bad bodies are client errors that say what is wrong.
func TestRequestBodies(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "owner@example.test", Password: "password of owner", IsOwner: true})
	po := s.login(t, a.host, "owner@example.test", "password of owner")
	huge := `{"email":"` + strings.Repeat("a", 1<<20) + `@example.test","password":"x"}`
	badRequest := []string{`"code":"BAD_REQUEST"`}
	post := func(name, path, body string, status int, want ...string) row {
		return row{name: name, method: "POST", path: path, host: a.host, cred: bearer(po.Access), body: body, status: status, want: want}
	}
	s.scenario(nil).run(t, []row{
		post("malformed JSON", loginPath, `{"email":`, 400, append(badRequest, "Malformed JSON")...),
		post("not JSON", loginPath, `hello`, 400, badRequest...),
		post("two objects", loginPath, `{} {}`, 400, append(badRequest, "The body must hold one JSON object.")...),
		post("an array", loginPath, `[]`, 400),
		post("no body", loginPath, ``, 400, append(badRequest, "The body must be a JSON object.")...),
		post("unknown field", loginPath, `{"email":"a@example.test","password":"password","remember_me":true}`,
			400, append(invalid, `"remember_me":"Unknown field."`)...),
		post("wrong type", loginPath, `{"email":5,"password":"password"}`, 400, append(invalid, `"email":"Want a string."`)...),
		post("over 1 MiB", loginPath, huge, 413, `"code":"PAYLOAD_TOO_LARGE"`),
		post("over 1 MiB on users", "/api/users", huge, 413, `"code":"PAYLOAD_TOO_LARGE"`),
		post("unknown field on users", "/api/users", `{"email":"x@example.test","is_admin":true}`, 400, append(invalid, `"is_admin":"Unknown field."`)...),
		post("unknown field on groups", "/api/groups", `{"name":"G","perms":[]}`, 400, append(invalid, `"perms":"Unknown field."`)...),
		post("wrong type on grants", "/api/grants", `{"user_id":"one","permission":"users.view_user"}`, 400, append(invalid, `"user_id":"`)...),
	})
}

// TestUserList: the users list pages, searches, filters and orders as
// every list does, and refuses what it does not know.
func TestUserList(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga") // olga@example.test, the first user
	for _, u := range []taruvi.UserCreate{
		{Email: "ann@example.test", Username: "ann", FirstName: "Ann", LastName: "Zeller"},
		{Email: "bob@example.test", Username: "bob", FirstName: "Bob", LastName: "Young"},
		{Email: "cyd@example.test", Username: "cyd", FirstName: "Cyd", LastName: "Xu"},
		{Email: "dan@example.test", Username: "dan", FirstName: "Dan", LastName: "Anna"},
	} {
		created, err := s.users.CreateUser(a.operator(), u)
		if err != nil {
			t.Fatal(err)
		}
		if u.Username == "bob" {
			if _, err := s.users.UpdateUser(a.operator(), created.ID, taruvi.UserUpdate{IsActive: new(false)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	emails := func(name, query string, want ...string) call {
		return call{name: name, method: "GET", path: "/api/users/?" + query, host: a.host, cred: owner.cred,
			status: 200, total: total(len(want)), field: "email", values: want}
	}
	bad := func(name, query, param string) call {
		return call{name: name, method: "GET", path: "/api/users/?" + query, host: a.host, cred: owner.cred,
			status: 400, want: invalidField(param)}
	}
	all := []string{"olga@example.test", "ann@example.test", "bob@example.test", "cyd@example.test", "dan@example.test"}
	s.run(t, nil, []call{
		emails("oldest first", "", all...),
		{name: "a page", method: "GET", path: "/api/users/?page=2&page_size=2", host: a.host, cred: owner.cred, status: 200,
			total: total(5), field: "email", values: all[2:4],
			want: []string{`"pagination":{"offset":2,"limit":2,"count":2,"current_page":2,"total_pages":3,"has_next":true,"has_previous":true}`}},
		emails("search in names", "search=ann", "ann@example.test", "dan@example.test"),
		emails("search in emails", "search=CYD%40", "cyd@example.test"),
		emails("inactive", "is_active=false", "bob@example.test"),
		emails("active owners", "is_active=true&is_owner=true", "olga@example.test"),
		emails("by email", "email=dan@example.test", "dan@example.test"),
		emails("email contains", "email__icontains=B@EX", "bob@example.test"),
		emails("never signed in", "last_login_at__null=true&ordering=-email", "dan@example.test", "cyd@example.test", "bob@example.test", "ann@example.test"),
		{name: "by last name", method: "GET", path: "/api/users/?ordering=last_name&page_size=3", host: a.host, cred: owner.cred, status: 200,
			total: total(5), field: "email", values: []string{"olga@example.test", "dan@example.test", "cyd@example.test"}},
		bad("unknown parameter", "colour=red", "colour"),
		bad("unknown ordering", "ordering=password_hash", "ordering"),
		bad("not a boolean", "is_active=maybe", "is_active"),
		bad("page size too large", "page_size=101", "page_size"),
		bad("no filter on attributes", "attributes=x", "attributes"),
	})
}
