package api_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// TestHistory: the triggers record who changed what in which request, and
// the history of an object is readable by whoever can see the object, also
// after it was deleted.
func TestHistory(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	member := a.member(t, "mia")
	grantee := a.member(t, "gus")
	outsider := a.member(t, "otto", taruvi.PermViewGroup)
	h := a.host
	vars := map[string]string{"owner": owner.ID(), "member": member.ID()}
	s.run(t, vars, []call{
		{name: "create a project", method: "POST", path: "/api/projects/", host: h, cred: owner.cred, reqID: "req-p-create",
			body: `{"name":"Audited"}`, status: 201, save: map[string]string{"p": "data.id"}},
		{name: "change it", method: "PATCH", path: "/api/projects/{{p}}/", host: h, cred: owner.cred, reqID: "req-p-update",
			body: `{"status":"archived","description":"Now with history."}`, status: 200},
		{name: "change nothing", method: "PATCH", path: "/api/projects/{{p}}/", host: h, cred: owner.cred, reqID: "req-p-noop",
			body: `{"name":"Audited"}`, status: 200},
		{name: "add a member", method: "POST", path: "/api/projects/{{p}}/members/", host: h, cred: owner.cred,
			body: `{"user_id":{{member}}}`, status: 201},
		{name: "create a task", method: "POST", path: "/api/tasks/", host: h, cred: owner.cred, reqID: "req-t-create",
			body: `{"project_id":{{p}},"title":"Tracked"}`, status: 201, save: map[string]string{"t": "data.id"}},
	})
	a.grantOn(t, member, taruvi.PermChangeTask, vars["p"])
	a.grantOn(t, grantee, taruvi.PermViewProject, vars["p"])
	fileID := insertFile(t, s, a, vars["p"])
	vars["f"] = fileID

	projectHistory := "/api/history/?object_type=project&object_id={{p}}"
	taskHistory := "/api/history/?object_type=task&object_id={{t}}"
	fileHistory := "/api/history/?object_type=file&object_id={{f}}"
	memberHistory := "/api/history/?object_type=project_member&object_id={{p}}"
	s.run(t, vars, []call{
		{name: "move the task", method: "PATCH", path: "/api/tasks/{{t}}/", host: h, cred: member.cred, reqID: "req-t-move",
			body: `{"status":"in_progress","position":2}`, status: 200},
		{name: "delete the task", method: "DELETE", path: "/api/tasks/{{t}}/", host: h, cred: owner.cred, reqID: "req-t-delete", status: 200},

		{name: "project history, newest first", method: "GET", path: projectHistory, host: h, cred: owner.cred, status: 200,
			total: total(2), field: "action", values: []string{"update", "create"},
			want: []string{`"object_type":"project"`, `"object_id":"{{p}}"`, `"actor_id":{{owner}},`,
				`"request_id":"req-p-update"`, `"request_id":"req-p-create"`, `"changed":["description","status"]`,
				`"before":{`, `"after":{`, `"before":null`, `"status":"archived"`},
			absent: []string{"req-p-noop"}},
		{name: "oldest first", method: "GET", path: projectHistory + "&ordering=id", host: h, cred: owner.cred, status: 200,
			total: total(2), field: "request_id", values: []string{"req-p-create", "req-p-update"}},
		{name: "by action", method: "GET", path: projectHistory + "&action=create", host: h, cred: owner.cred, status: 200,
			total: total(1), field: "request_id", values: []string{"req-p-create"}},
		{name: "by actor", method: "GET", path: projectHistory + "&actor_id={{member}}", host: h, cred: owner.cred, status: 200,
			total: total(0)},
		{name: "second page", method: "GET", path: projectHistory + "&page=2&page_size=1", host: h, cred: owner.cred, status: 200,
			total: total(2), field: "action", values: []string{"create"}, want: []string{`"has_previous":true`}},
		{name: "past the end", method: "GET", path: projectHistory + "&page=3&page_size=1", host: h, cred: owner.cred, status: 200,
			total: total(2), field: "action", values: []string{}},
		{name: "a member reads it", method: "GET", path: projectHistory, host: h, cred: member.cred, status: 200, total: total(2)},
		{name: "an outsider does not", method: "GET", path: projectHistory, host: h, cred: outsider.cred, status: 404, want: wantNotFound},
		{name: "nor anonymously", method: "GET", path: projectHistory, host: h, status: 401, want: wantUnauthorized},

		{name: "task history survives the task", method: "GET", path: taskHistory, host: h, cred: member.cred, status: 200,
			total: total(3), field: "action", values: []string{"delete", "update", "create"},
			want: []string{`"actor_id":{{member}},`, `"request_id":"req-t-move"`, `"changed":["position","status"]`,
				`"request_id":"req-t-delete"`, `"after":null`, `"title":"Tracked"`}},
		{name: "membership history: the creator, then the member added", method: "GET", path: memberHistory, host: h, cred: owner.cred,
			status: 200, total: total(2), field: "action", values: []string{"create", "create"},
			want: []string{`"object_type":"project_member"`, `"object_id":"{{p}}"`, `"actor_id":{{owner}},`, `"user_id":{{member}}`,
				`"user_id":{{owner}}`, `"request_id":"req-p-create"`}},
		{name: "a member reads the membership history", method: "GET", path: memberHistory, host: h, cred: member.cred, status: 200, total: total(2)},
		{name: "an outsider does not read the membership history", method: "GET", path: memberHistory, host: h, cred: outsider.cred,
			status: 404, want: wantNotFound},
		{name: "the task's creation names its actor and request", method: "GET", path: taskHistory + "&action=create", host: h,
			cred: member.cred, status: 200, total: total(1), field: "request_id", values: []string{"req-t-create"},
			want: []string{`"actor_id":{{owner}},`}},
		{name: "task history of an outsider", method: "GET", path: taskHistory, host: h, cred: outsider.cred, status: 404},
		{name: "file history", method: "GET", path: fileHistory, host: h, cred: member.cred, status: 200,
			total: total(1), field: "action", values: []string{"create"}, want: []string{`"name":"plan.pdf"`}},
		{name: "file history of an outsider", method: "GET", path: fileHistory, host: h, cred: outsider.cred, status: 404},

		{name: "unknown project", method: "GET", path: "/api/history/?object_type=project&object_id=999999", host: h, cred: owner.cred, status: 404},
		{name: "unknown task", method: "GET", path: "/api/history/?object_type=task&object_id=999999", host: h, cred: owner.cred, status: 404},
		{name: "no parameters", method: "GET", path: "/api/history/", host: h, cred: owner.cred, status: 400,
			want: append(invalidField("object_type"), `"object_id":"This field is required."`)},
		{name: "no object id", method: "GET", path: "/api/history?object_type=task", host: h, cred: owner.cred, status: 400,
			want: invalidField("object_id")},
		{name: "unknown object type", method: "GET", path: "/api/history/?object_type=session&object_id=1", host: h, cred: owner.cred,
			status: 400, want: invalidField("object_type")},
		{name: "non-numeric object id", method: "GET", path: "/api/history/?object_type=project&object_id=abc", host: h, cred: owner.cred,
			status: 400, want: invalidField("object_id")},
		{name: "object id 0", method: "GET", path: "/api/history/?object_type=project&object_id=0", host: h, cred: owner.cred,
			status: 400, want: invalidField("object_id")},
		{name: "unknown filter", method: "GET", path: projectHistory + "&changed=status", host: h, cred: owner.cred, status: 400,
			want: invalidField("changed")},
		{name: "no search", method: "GET", path: projectHistory + "&search=status", host: h, cred: owner.cred, status: 400,
			want: invalidField("search")},
		{name: "no ordering by action", method: "GET", path: projectHistory + "&ordering=action", host: h, cred: owner.cred, status: 400,
			want: invalidField("ordering")},
		{name: "bad action", method: "GET", path: projectHistory + "&action=erase", host: h, cred: owner.cred, status: 400,
			want: invalidField("action")},

		{name: "delete the project", method: "DELETE", path: "/api/projects/{{p}}/", host: h, cred: owner.cred, reqID: "req-p-delete", status: 200},
		{name: "the owner reads the deleted project", method: "GET", path: projectHistory, host: h, cred: owner.cred, status: 200,
			total: total(3), field: "request_id", values: []string{"req-p-delete", "req-p-update", "req-p-create"}},
		{name: "a grant still reads it", method: "GET", path: projectHistory, host: h, cred: grantee.cred, status: 200, total: total(3)},
		{name: "the memberships ended with the project", method: "GET", path: memberHistory, host: h, cred: owner.cred, status: 200,
			total: total(4), field: "action", values: []string{"delete", "delete", "create", "create"}, want: []string{`"request_id":"req-p-delete"`}},
		{name: "a former member does not", method: "GET", path: projectHistory, host: h, cred: member.cred, status: 404},
		{name: "the file's deletion went with the project", method: "GET", path: fileHistory, host: h, cred: owner.cred, status: 200,
			total: total(2), field: "action", values: []string{"delete", "create"}, want: []string{`"request_id":"req-p-delete"`}},
	})
}

// insertFile records a file of project as the command line would, with no
// actor, and returns its id.
func insertFile(t *testing.T, s *appStack, a *appTenant, project string) string {
	t.Helper()
	var id int64
	err := s.db.InTenant(a.operator(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO files (name, size, content_type, sha256, storage_key, project_id)
			VALUES ('plan.pdf', 3, 'application/pdf', 'abc', 'tenants/x/plan', $1) RETURNING id`, project).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}

// TestHistoryOfUsers: a password change is recorded as "password" and
// nothing else of it; users' and groups' history takes the view permission.
func TestHistoryOfUsers(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	viewer := a.member(t, "vic", taruvi.PermViewUser)
	plain := a.member(t, "pat")
	h := a.host
	vars := map[string]string{"owner": owner.ID()}
	userHistory := "/api/history/?object_type=user&object_id={{u}}"
	s.run(t, vars, []call{
		{name: "create a user", method: "POST", path: "/api/users/", host: h, cred: owner.cred, reqID: "req-u-create",
			body: `{"email":"sam@example.test","password":"first password"}`, status: 201, save: map[string]string{"u": "data.id"}},
		{name: "set the password", method: "POST", path: "/api/users/{{u}}/set-password/", host: h, cred: owner.cred, reqID: "req-u-password",
			body: `{"password":"second password"}`, status: 200},
		{name: "the history says password and shows no hash", method: "GET", path: userHistory, host: h, cred: owner.cred, status: 200,
			total: total(2), field: "request_id", values: []string{"req-u-password", "req-u-create"},
			want:   []string{`"changed":["password"]`, `"actor_id":{{owner}},`, `"email":"sam@example.test"`},
			absent: []string{"argon2", "password_hash", "first password", "second password"}},
		{name: "with users.view_user", method: "GET", path: userHistory, host: h, cred: viewer.cred, status: 200, total: total(2)},
		{name: "without it", method: "GET", path: userHistory, host: h, cred: plain.cred, status: 403, want: wantForbidden},
		{name: "an unknown user", method: "GET", path: "/api/history/?object_type=user&object_id=999999", host: h, cred: owner.cred, status: 404},
		{name: "create a group", method: "POST", path: "/api/groups/", host: h, cred: owner.cred, reqID: "req-g-create",
			body: `{"name":"Ops"}`, status: 201, save: map[string]string{"g": "data.id"}},
		{name: "group history", method: "GET", path: "/api/history/?object_type=group&object_id={{g}}", host: h, cred: owner.cred, status: 200,
			total: total(1), field: "request_id", values: []string{"req-g-create"}, want: []string{`"name":"Ops"`}},
		{name: "group history without users.view_group", method: "GET", path: "/api/history/?object_type=group&object_id={{g}}", host: h,
			cred: viewer.cred, status: 403},
	})
}

// TestHistoryCrossTenant: tenant B's owner cannot read A's history, even
// for ids that exist in both; B's role cannot read A's history table.
func TestHistoryCrossTenant(t *testing.T) {
	t.Parallel()
	s := newAppStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA, ownerB := a.owner(t, "anna"), b.owner(t, "bert")
	s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"Secret A1"}`)
	s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"Secret A2"}`)
	s.create(t, a.host, "/api/tasks/", ownerA.cred, `{"project_id":1,"title":"Secret task"}`)
	s.create(t, b.host, "/api/projects/", ownerB.cred, `{"name":"Bert's"}`)
	if anne := a.member(t, "anne"); anne.id != 2 {
		t.Fatalf("A's second user has id %d, want 2", anne.id)
	}
	s.run(t, map[string]string{"bert": ownerB.ID()}, []call{
		{name: "B's project 1 is B's", method: "GET", path: "/api/history/?object_type=project&object_id=1", host: b.host, cred: ownerB.cred,
			status: 200, total: total(1), want: []string{"Bert's"}, absent: []string{"Secret"}},
		{name: "A's project 2", method: "GET", path: "/api/history/?object_type=project&object_id=2", host: b.host, cred: ownerB.cred, status: 404},
		{name: "A's task 1", method: "GET", path: "/api/history/?object_type=task&object_id=1", host: b.host, cred: ownerB.cred, status: 404},
		{name: "A's memberships of project 2", method: "GET", path: "/api/history/?object_type=project_member&object_id=2", host: b.host,
			cred: ownerB.cred, status: 404},
		{name: "B's memberships of project 1 are B's", method: "GET", path: "/api/history/?object_type=project_member&object_id=1",
			host: b.host, cred: ownerB.cred, status: 200, total: total(1), want: []string{`"user_id":{{bert}}`}},
		{name: "A's users", method: "GET", path: "/api/history/?object_type=user&object_id=2", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B's token on A", method: "GET", path: "/api/history/?object_type=project&object_id=2", host: a.host, cred: ownerB.cred, status: 401},
		{name: "A reads its own", method: "GET", path: "/api/history/?object_type=task&object_id=1", host: a.host, cred: ownerA.cred,
			status: 200, total: total(1), want: []string{"Secret task"}},
	})
	rawSelectRefused(t, s, b.operator(), a.tenant.Schema, "history")
}
