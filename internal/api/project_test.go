package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	adder := a.member(t, "adam", taruvi.PermAddProject)
	viewer := a.member(t, "vera", taruvi.PermViewProject)
	plain := a.member(t, "paul")
	outsider := a.member(t, "otto")
	h := a.host
	vars := map[string]string{"owner": owner.ID(), "plain": plain.ID(), "adder": adder.ID()}

	s.run(t, vars, []call{
		{name: "create", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"  Apollo  ","description":"To the moon."}`, status: 201,
			want: []string{`"name":"Apollo"`, `"status":"active"`, `"owner_id":{{owner}}`, `"members":[{"user_id":{{owner}},"role":"manager"}]`},
			save: map[string]string{"p1": "data.id"}},
		{name: "create without trailing slash", method: "POST", path: "/api/projects", host: h, cred: adder.cred,
			body: `{"name":"Gemini","status":"archived"}`, status: 201,
			want: []string{`"status":"archived"`, `"owner_id":{{adder}}`, `"role":"manager"`}, save: map[string]string{"p2": "data.id"}},
		{name: "create without a name", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"description":"x"}`, status: 400, want: invalidField("name")},
		{name: "create with a blank name", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"   "}`, status: 400, want: invalidField("name")},
		{name: "create with a long name", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"` + strings.Repeat("n", 201) + `"}`, status: 400, want: invalidField("name")},
		{name: "create with a NUL", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"a\u0000b"}`, status: 400, want: invalidField("name")},
		{name: "create with a bad status", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"x","status":"done"}`, status: 400, want: append(invalidField("status"), "active, archived")},
		{name: "create with an unknown field", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":"x","owner_id":1}`, status: 400, want: invalidField("owner_id")},
		{name: "create with a wrong type", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":7}`, status: 400, want: invalidField("name")},
		{name: "create with malformed JSON", method: "POST", path: "/api/projects/", host: h, cred: owner.cred,
			body: `{"name":`, status: 400, want: []string{`"code":"BAD_REQUEST"`}},
		{name: "create without permission", method: "POST", path: "/api/projects/", host: h, cred: plain.cred,
			body: `{"name":"x"}`, status: 403, want: wantForbidden},
		{name: "create anonymously", method: "POST", path: "/api/projects/", host: h,
			body: `{"name":"x"}`, status: 401, want: wantUnauthorized},

		{name: "get", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 200,
			want: []string{`"id":{{p1}}`, `"description":"To the moon."`, `"created_at":"`, `"updated_at":"`}},
		{name: "get without trailing slash", method: "GET", path: "/api/projects/{{p1}}", host: h, cred: viewer.cred, status: 200,
			want: []string{`"name":"Apollo"`}},
		{name: "get with doubled slashes", method: "GET", path: "//api//projects//{{p1}}//", host: h, cred: owner.cred, status: 200,
			want: []string{`"name":"Apollo"`}},
		{name: "get invisible", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: outsider.cred, status: 404, want: wantNotFound,
			absent: []string{"Apollo"}},
		{name: "get unknown", method: "GET", path: "/api/projects/999999/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "get non-numeric", method: "GET", path: "/api/projects/abc/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "get zero", method: "GET", path: "/api/projects/0/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "get anonymously", method: "GET", path: "/api/projects/{{p1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "list anonymously", method: "GET", path: "/api/projects/", host: h, status: 401, want: wantUnauthorized},
		{name: "no projects on the platform", method: "GET", path: "/api/projects/", host: "localhost", status: 404, want: wantNotFound},
		{name: "method not allowed", method: "POST", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, body: `{}`, status: 405},

		{name: "patch", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"status":"archived"}`, status: 200, want: []string{`"status":"archived"`, `"name":"Apollo"`, `"description":"To the moon."`}},
		{name: "patch nothing", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{}`, status: 400, want: wantInvalid},
		{name: "patch a null name", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"name":null}`, status: 400, want: invalidField("name")},
		{name: "patch a blank name", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"name":" "}`, status: 400, want: invalidField("name")},
		{name: "patch a bad status", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"status":"open"}`, status: 400, want: invalidField("status")},
		{name: "patch an unknown field", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"colour":"red"}`, status: 400, want: invalidField("colour")},
		{name: "patch without a body", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			status: 400, want: []string{`"code":"BAD_REQUEST"`}},
		{name: "patch visible without permission", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: viewer.cred,
			body: `{"name":"Hijacked"}`, status: 403, want: wantForbidden},
		{name: "patch invisible", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: outsider.cred,
			body: `{"name":"Hijacked"}`, status: 404, want: wantNotFound},
		{name: "patch unknown", method: "PATCH", path: "/api/projects/999999/", host: h, cred: owner.cred,
			body: `{"name":"x"}`, status: 404, want: wantNotFound},
		{name: "patch non-numeric", method: "PATCH", path: "/api/projects/x1/", host: h, cred: owner.cred,
			body: `{"name":"x"}`, status: 404, want: wantNotFound},
		{name: "patch anonymously", method: "PATCH", path: "/api/projects/{{p1}}/", host: h,
			body: `{"name":"x"}`, status: 401, want: wantUnauthorized},
		{name: "still unchanged", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 200,
			want: []string{`"name":"Apollo"`}},

		{name: "put with missing fields", method: "PUT", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"name":"Apollo 11"}`, status: 400, want: append(invalidField("description"), `"status":"This field is required."`)},
		{name: "put", method: "PUT", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred,
			body: `{"name":"Apollo 11","description":"","status":"active"}`, status: 200,
			want: []string{`"name":"Apollo 11"`, `"description":""`, `"status":"active"`}},
		{name: "put without permission", method: "PUT", path: "/api/projects/{{p1}}/", host: h, cred: viewer.cred,
			body: `{"name":"x","description":"","status":"active"}`, status: 403, want: wantForbidden},

		{name: "add a member", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: owner.cred,
			body: `{"user_id":{{plain}}}`, status: 201, want: []string{`"user_id":{{plain}}`, `"role":"member"`}},
		{name: "the member sees it", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: plain.cred, status: 200,
			want: []string{`{"user_id":{{plain}},"role":"member"}`, `{"user_id":{{owner}},"role":"manager"}`}},
		{name: "add the member again", method: "POST", path: "/api/projects/{{p1}}/members", host: h, cred: owner.cred,
			body: `{"user_id":{{plain}},"role":"manager"}`, status: 409, want: wantConflict},
		{name: "add an unknown user", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: owner.cred,
			body: `{"user_id":999999}`, status: 404, want: wantNotFound},
		{name: "add with a bad role", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: owner.cred,
			body: `{"user_id":{{adder}},"role":"boss"}`, status: 400, want: invalidField("role")},
		{name: "add without a user", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: owner.cred,
			body: `{"role":"member"}`, status: 400, want: invalidField("user_id")},
		{name: "add to an unknown project", method: "POST", path: "/api/projects/999999/members/", host: h, cred: owner.cred,
			body: `{"user_id":{{adder}}}`, status: 404, want: wantNotFound},
		{name: "add as a member without permission", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: plain.cred,
			body: `{"user_id":{{adder}}}`, status: 403, want: wantForbidden},
		{name: "add to an invisible project", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: outsider.cred,
			body: `{"user_id":{{adder}}}`, status: 404, want: wantNotFound},
		{name: "add anonymously", method: "POST", path: "/api/projects/{{p1}}/members/", host: h,
			body: `{"user_id":{{adder}}}`, status: 401, want: wantUnauthorized},
		{name: "remove as a member without permission", method: "DELETE", path: "/api/projects/{{p1}}/members/{{owner}}/", host: h, cred: plain.cred,
			status: 403, want: wantForbidden},
		{name: "remove the member", method: "DELETE", path: "/api/projects/{{p1}}/members/{{plain}}/", host: h, cred: owner.cred, status: 200},
		{name: "remove a non-member", method: "DELETE", path: "/api/projects/{{p1}}/members/{{plain}}/", host: h, cred: owner.cred,
			status: 404, want: wantNotFound},
		{name: "remove a non-numeric user", method: "DELETE", path: "/api/projects/{{p1}}/members/abc/", host: h, cred: owner.cred,
			status: 404, want: wantNotFound},
		{name: "remove anonymously", method: "DELETE", path: "/api/projects/{{p1}}/members/{{owner}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "the former member no longer sees it", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: plain.cred,
			status: 404, want: wantNotFound},

		{name: "delete visible without permission", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, cred: viewer.cred,
			status: 403, want: wantForbidden},
		{name: "delete invisible", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, cred: outsider.cred,
			status: 404, want: wantNotFound},
		{name: "delete anonymously", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "delete non-numeric", method: "DELETE", path: "/api/projects/-1/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "delete", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 200,
			want: []string{`"status":"success"`}},
		{name: "gone", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "delete again", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "the rest", method: "GET", path: "/api/projects/", host: h, cred: owner.cred, status: 200,
			total: total(1), field: "name", values: []string{"Gemini"}},
	})
}

// TestProjectVisibility: members see their projects, an object grant lets
// exactly one project through, model-wide view and owners see them all;
// lists count only what the caller sees.
func TestProjectVisibility(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	member := a.member(t, "mia")
	grantee := a.member(t, "gus")
	grouped := a.member(t, "gina")
	viewer := a.member(t, "vera", taruvi.PermViewProject)
	nobody := a.member(t, "ned")

	var ids []string
	for _, name := range []string{"One", "Two", "Three", "Four", "Five"} {
		ids = append(ids, s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"`+name+`"}`))
	}
	for _, p := range ids[:2] {
		if status, body := s.send(t, "POST", a.host, "/api/projects/"+p+"/members/", owner.cred, `{"user_id":`+member.ID()+`}`, ""); status != 201 {
			t.Fatalf("add member: %d %s", status, body)
		}
	}
	a.grantOn(t, grantee, taruvi.PermViewProject, ids[2])
	// Grants of other permissions do not show a project.
	a.grantOn(t, grantee, taruvi.PermDeleteProject, ids[4])
	group, err := a.s.users.CreateGroup(a.operator(), "readers")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.s.users.AddGroupMember(a.operator(), group.ID, grouped.id); err != nil {
		t.Fatal(err)
	}
	a.grant(t, taruvi.ObjectGrant{GroupID: &group.ID, Permission: taruvi.PermViewProject, ObjectType: "project", ObjectID: ids[3]})
	vars := map[string]string{"p1": ids[0], "p2": ids[1], "p3": ids[2], "p4": ids[3], "p5": ids[4]}

	h := a.host
	list := "/api/projects/?ordering=id"
	s.run(t, vars, []call{
		{name: "owner sees all", method: "GET", path: list, host: h, cred: owner.cred, status: 200,
			total: total(5), field: "name", values: []string{"One", "Two", "Three", "Four", "Five"}},
		{name: "model-wide view sees all", method: "GET", path: list, host: h, cred: viewer.cred, status: 200, total: total(5)},
		{name: "member sees theirs", method: "GET", path: list, host: h, cred: member.cred, status: 200,
			total: total(2), field: "name", values: []string{"One", "Two"}},
		{name: "member pages theirs", method: "GET", path: list + "&page_size=1&page=2", host: h, cred: member.cred, status: 200,
			total: total(2), field: "name", values: []string{"Two"}, want: []string{`"has_next":false`, `"has_previous":true`, `"total_pages":2`}},
		{name: "member past the end", method: "GET", path: list + "&page=3&page_size=1", host: h, cred: member.cred, status: 200,
			total: total(2), field: "name", values: []string{}},
		{name: "member filters theirs", method: "GET", path: list + "&name__in=One,Three", host: h, cred: member.cred, status: 200,
			total: total(1), field: "name", values: []string{"One"}},
		{name: "object grant lets one through", method: "GET", path: list, host: h, cred: grantee.cred, status: 200,
			total: total(1), field: "name", values: []string{"Three"}},
		{name: "object grant reads it", method: "GET", path: "/api/projects/{{p3}}/", host: h, cred: grantee.cred, status: 200},
		{name: "object grant reads no other", method: "GET", path: "/api/projects/{{p1}}/", host: h, cred: grantee.cred, status: 404},
		{name: "a delete grant does not show", method: "GET", path: "/api/projects/{{p5}}/", host: h, cred: grantee.cred, status: 404},
		{name: "a grant on one project does not delete another", method: "DELETE", path: "/api/projects/{{p3}}/", host: h, cred: grantee.cred,
			status: 403, want: wantForbidden},
		{name: "group grant lets one through", method: "GET", path: list, host: h, cred: grouped.cred, status: 200,
			total: total(1), field: "name", values: []string{"Four"}},
		{name: "nobody sees nothing", method: "GET", path: list, host: h, cred: nobody.cred, status: 200,
			total: total(0), field: "name", values: []string{}, want: []string{`"data":[]`}},
		{name: "members cannot change", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: member.cred,
			body: `{"name":"Mine"}`, status: 403},
	})

	// An object grant of change_project lets a member change that project.
	a.grantOn(t, member, taruvi.PermChangeProject, ids[0])
	s.run(t, vars, []call{
		{name: "granted change", method: "PATCH", path: "/api/projects/{{p1}}/", host: h, cred: member.cred,
			body: `{"name":"Mine"}`, status: 200, want: []string{`"name":"Mine"`}},
		{name: "not on another", method: "PATCH", path: "/api/projects/{{p2}}/", host: h, cred: member.cred,
			body: `{"name":"Mine"}`, status: 403},
		{name: "granted members management", method: "POST", path: "/api/projects/{{p1}}/members/", host: h, cred: member.cred,
			body: `{"user_id":` + nobody.ID() + `,"role":"manager"}`, status: 201},
		{name: "the new member sees it", method: "GET", path: list, host: h, cred: nobody.cred, status: 200,
			total: total(1), field: "name", values: []string{"Mine"}},
	})
}

// TestProjectCrossTenant: tenant B's owner, with every right in B, can
// neither list, read, change nor delete A's projects, even by id; ids
// overlap across tenants; B's role cannot read A's tables.
func TestProjectCrossTenant(t *testing.T) {
	t.Parallel()
	s := newAppStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA, ownerB := a.owner(t, "anna"), b.owner(t, "bert")
	a1 := s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"Secret A1"}`)
	a2 := s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"Secret A2"}`)
	b1 := s.create(t, b.host, "/api/projects/", ownerB.cred, `{"name":"Bert's"}`)
	if a1 != "1" || b1 != "1" || a2 != "2" {
		t.Fatalf("ids: A %s %s, B %s; want A's project 1 and B's project 1 to exist", a1, a2, b1)
	}
	userA := a.member(t, "anne")
	vars := map[string]string{"userA": userA.ID()}
	s.run(t, vars, []call{
		{name: "B lists its own only", method: "GET", path: "/api/projects/", host: b.host, cred: ownerB.cred, status: 200,
			total: total(1), field: "name", values: []string{"Bert's"}, absent: []string{"Secret"}},
		{name: "B's project 1 is B's", method: "GET", path: "/api/projects/1/", host: b.host, cred: ownerB.cred, status: 200,
			want: []string{`"name":"Bert's"`}, absent: []string{"Secret"}},
		{name: "B cannot read A's 2", method: "GET", path: "/api/projects/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B cannot change A's 2", method: "PATCH", path: "/api/projects/2/", host: b.host, cred: ownerB.cred,
			body: `{"name":"Owned"}`, status: 404},
		{name: "B cannot put A's 2", method: "PUT", path: "/api/projects/2/", host: b.host, cred: ownerB.cred,
			body: `{"name":"Owned","description":"","status":"active"}`, status: 404},
		{name: "B cannot add members to A's 2", method: "POST", path: "/api/projects/2/members/", host: b.host, cred: ownerB.cred,
			body: `{"user_id":{{userA}}}`, status: 404},
		{name: "B cannot delete A's 2", method: "DELETE", path: "/api/projects/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B's token is refused on A", method: "GET", path: "/api/projects/", host: a.host, cred: ownerB.cred, status: 401},
		{name: "B's token is refused on A's project", method: "DELETE", path: "/api/projects/1/", host: a.host, cred: ownerB.cred, status: 401},
		{name: "A's projects are intact", method: "GET", path: "/api/projects/?ordering=id", host: a.host, cred: ownerA.cred, status: 200,
			total: total(2), field: "name", values: []string{"Secret A1", "Secret A2"}},
	})
	for _, table := range []string{"projects", "project_members"} {
		rawSelectRefused(t, s, b.operator(), a.tenant.Schema, table)
	}
}

// rawSelectRefused checks that SQL in scope ctx cannot read table of
// another tenant's schema: PostgreSQL refuses it (42501).
func rawSelectRefused(t *testing.T, s *appStack, ctx context.Context, schema, table string) {
	t.Helper()
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var n int
		return tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, table}.Sanitize()).Scan(&n)
	})
	if err == nil || !strings.Contains(err.Error(), "42501") {
		t.Errorf("select from %s.%s in another tenant's scope: %v, want permission denied (42501)", schema, table, err)
	}
}
