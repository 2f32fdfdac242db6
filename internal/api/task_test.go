package api_test

import (
	"testing"

	"taruvi"
)

func TestTasks(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	worker := a.member(t, "will") // a member of p1 with task rights on it
	reader := a.member(t, "rita") // a member of p1 without task rights
	outsider := a.member(t, "otto", taruvi.PermAddTask, taruvi.PermChangeTask, taruvi.PermDeleteTask)
	p1 := s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Board"}`)
	p2 := s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Other"}`)
	for _, u := range []appUser{worker, reader} {
		if status, body := s.send(t, "POST", a.host, "/api/projects/"+p1+"/members/", owner.cred, `{"user_id":`+u.ID()+`}`, ""); status != 201 {
			t.Fatalf("add member: %d %s", status, body)
		}
	}
	for _, perm := range []string{taruvi.PermAddTask, taruvi.PermChangeTask, taruvi.PermDeleteTask} {
		a.grantOn(t, worker, perm, p1)
	}
	h := a.host
	vars := map[string]string{"p1": p1, "p2": p2, "worker": worker.ID(), "reader": reader.ID()}
	newTask := func(fields string) string { return `{"project_id":{{p1}},"title":"Write docs"` + fields + `}` }

	s.run(t, vars, []call{
		{name: "create", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"description":"All of them.","priority":2,"assignee_id":{{reader}},"due_date":"2026-03-31","position":5`), status: 201,
			want: []string{`"project_id":{{p1}}`, `"title":"Write docs"`, `"status":"todo"`, `"priority":2`, `"assignee_id":{{reader}}`,
				`"due_date":"2026-03-31"`, `"position":5`, `"created_by":{{worker}}`},
			save: map[string]string{"t1": "data.id"}},
		{name: "create with defaults", method: "POST", path: "/api/tasks", host: h, cred: owner.cred, body: newTask(""), status: 201,
			want: []string{`"status":"todo"`, `"priority":0`, `"assignee_id":null`, `"due_date":null`, `"position":0`, `"description":""`},
			save: map[string]string{"t2": "data.id"}},
		{name: "create without a title", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: `{"project_id":{{p1}}}`, status: 400, want: invalidField("title")},
		{name: "create without a project", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: `{"title":"x"}`, status: 400, want: invalidField("project_id")},
		{name: "create with a bad status", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"status":"blocked"`), status: 400, want: append(invalidField("status"), "todo, in_progress, done")},
		{name: "create with priority 5", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"priority":5`), status: 400, want: invalidField("priority")},
		{name: "create with priority -1", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"priority":-1`), status: 400, want: invalidField("priority")},
		{name: "create with a text priority", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"priority":"high"`), status: 400, want: invalidField("priority")},
		{name: "create with an impossible date", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"due_date":"2026-02-30"`), status: 400, want: invalidField("due_date")},
		{name: "create with a date and time", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"due_date":"2026-03-01T10:00:00Z"`), status: 400, want: invalidField("due_date")},
		{name: "create with year zero", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"due_date":"0000-01-01"`), status: 400, want: invalidField("due_date")},
		{name: "create with a negative position", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"position":-1`), status: 400, want: invalidField("position")},
		{name: "create with a huge position", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"position":2147483648`), status: 400, want: invalidField("position")},
		{name: "create with an unknown assignee", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"assignee_id":999999`), status: 400, want: invalidField("assignee_id")},
		{name: "create with an unknown field", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: newTask(`,"labels":["x"]`), status: 400, want: invalidField("labels")},
		{name: "create in an invisible project", method: "POST", path: "/api/tasks/", host: h, cred: worker.cred,
			body: `{"project_id":{{p2}},"title":"x"}`, status: 400, want: invalidField("project_id")},
		{name: "create in an unknown project", method: "POST", path: "/api/tasks/", host: h, cred: owner.cred,
			body: `{"project_id":999999,"title":"x"}`, status: 400, want: invalidField("project_id")},
		{name: "create with model-wide rights in an invisible project", method: "POST", path: "/api/tasks/", host: h, cred: outsider.cred,
			body: newTask(""), status: 400, want: invalidField("project_id")},
		{name: "create in a visible project without permission", method: "POST", path: "/api/tasks/", host: h, cred: reader.cred,
			body: newTask(""), status: 403, want: wantForbidden},
		{name: "create anonymously", method: "POST", path: "/api/tasks/", host: h, body: newTask(""), status: 401, want: wantUnauthorized},

		{name: "get", method: "GET", path: "/api/tasks/{{t1}}/", host: h, cred: reader.cred, status: 200,
			want: []string{`"id":{{t1}}`, `"description":"All of them."`}},
		{name: "get invisible", method: "GET", path: "/api/tasks/{{t1}}/", host: h, cred: outsider.cred, status: 404, want: wantNotFound},
		{name: "get unknown", method: "GET", path: "/api/tasks/999999", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "get non-numeric", method: "GET", path: "/api/tasks/one/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "get anonymously", method: "GET", path: "/api/tasks/{{t1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "list anonymously", method: "GET", path: "/api/tasks/", host: h, status: 401, want: wantUnauthorized},
		{name: "list invisible", method: "GET", path: "/api/tasks/", host: h, cred: outsider.cred, status: 200, total: total(0)},
		{name: "list of the project", method: "GET", path: "/api/tasks/?project_id={{p1}}&ordering=-position", host: h, cred: reader.cred,
			status: 200, total: total(2), field: "id", values: []string{"{{t1}}", "{{t2}}"}},

		{name: "move", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"status":"in_progress","position":0}`, status: 200,
			want: []string{`"status":"in_progress"`, `"position":0`, `"title":"Write docs"`, `"assignee_id":{{reader}}`, `"due_date":"2026-03-31"`}},
		{name: "clear assignee and due date", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"assignee_id":null,"due_date":null}`, status: 200,
			want: []string{`"assignee_id":null`, `"due_date":null`, `"status":"in_progress"`}},
		{name: "assign", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"assignee_id":{{worker}},"due_date":"2027-01-02","priority":4}`, status: 200,
			want: []string{`"assignee_id":{{worker}}`, `"due_date":"2027-01-02"`, `"priority":4`}},
		{name: "patch nothing", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred, body: `{}`, status: 400, want: wantInvalid},
		{name: "patch the project", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"project_id":{{p2}}}`, status: 400, want: invalidField("project_id")},
		{name: "patch a null title", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"title":null}`, status: 400, want: invalidField("title")},
		{name: "patch assignee 0", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"assignee_id":0}`, status: 400, want: invalidField("assignee_id")},
		{name: "patch an empty due date", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"due_date":""}`, status: 400, want: invalidField("due_date")},
		{name: "patch an unknown assignee", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"assignee_id":999999}`, status: 400, want: invalidField("assignee_id")},
		{name: "patch a text priority", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"priority":"high"}`, status: 400, want: invalidField("priority")},
		{name: "patch a bad status", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"status":"later"}`, status: 400, want: invalidField("status")},
		{name: "patch visible without permission", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: reader.cred,
			body: `{"status":"done"}`, status: 403, want: wantForbidden},
		{name: "patch invisible", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, cred: outsider.cred,
			body: `{"status":"done"}`, status: 404, want: wantNotFound},
		{name: "patch unknown", method: "PATCH", path: "/api/tasks/999999/", host: h, cred: owner.cred,
			body: `{"status":"done"}`, status: 404, want: wantNotFound},
		{name: "patch non-numeric", method: "PATCH", path: "/api/tasks/abc/", host: h, cred: owner.cred,
			body: `{"status":"done"}`, status: 404, want: wantNotFound},
		{name: "patch anonymously", method: "PATCH", path: "/api/tasks/{{t1}}/", host: h, body: `{"status":"done"}`, status: 401, want: wantUnauthorized},
		{name: "still in progress", method: "GET", path: "/api/tasks/{{t1}}/", host: h, cred: owner.cred, status: 200,
			want: []string{`"status":"in_progress"`, `"priority":4`}},

		{name: "put with missing fields", method: "PUT", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"title":"Renamed","status":"done"}`, status: 400,
			want: append(invalidField("description"), `"priority":"This field is required."`, `"assignee_id":"This field is required."`,
				`"due_date":"This field is required."`, `"position":"This field is required."`)},
		{name: "put", method: "PUT", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred,
			body: `{"title":"Renamed","description":"","status":"done","priority":1,"assignee_id":null,"due_date":null,"position":9}`, status: 200,
			want: []string{`"title":"Renamed"`, `"status":"done"`, `"priority":1`, `"assignee_id":null`, `"due_date":null`, `"position":9`}},
		{name: "put without permission", method: "PUT", path: "/api/tasks/{{t1}}/", host: h, cred: reader.cred,
			body: `{"title":"x","description":"","status":"done","priority":1,"assignee_id":null,"due_date":null,"position":9}`, status: 403},

		{name: "delete visible without permission", method: "DELETE", path: "/api/tasks/{{t1}}/", host: h, cred: reader.cred,
			status: 403, want: wantForbidden},
		{name: "delete invisible", method: "DELETE", path: "/api/tasks/{{t1}}/", host: h, cred: outsider.cred, status: 404, want: wantNotFound},
		{name: "delete anonymously", method: "DELETE", path: "/api/tasks/{{t1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "delete non-numeric", method: "DELETE", path: "/api/tasks/1.5/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "delete", method: "DELETE", path: "/api/tasks/{{t1}}/", host: h, cred: worker.cred, status: 200},
		{name: "gone", method: "GET", path: "/api/tasks/{{t1}}/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "delete again", method: "DELETE", path: "/api/tasks/{{t1}}/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
		{name: "deleting the project deletes its tasks", method: "DELETE", path: "/api/projects/{{p1}}/", host: h, cred: owner.cred, status: 200},
		{name: "no task left", method: "GET", path: "/api/tasks/{{t2}}/", host: h, cred: owner.cred, status: 404, want: wantNotFound},
	})
}

// TestTaskCrossTenant: tenant B's owner can neither list, read, create in,
// change nor delete A's tasks, even by id; B's role cannot read A's table.
func TestTaskCrossTenant(t *testing.T) {
	t.Parallel()
	s := newAppStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA, ownerB := a.owner(t, "anna"), b.owner(t, "bert")
	pa := s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"A's"}`)
	pb := s.create(t, b.host, "/api/projects/", ownerB.cred, `{"name":"B's"}`)
	s.create(t, a.host, "/api/tasks/", ownerA.cred, `{"project_id":`+pa+`,"title":"Secret one"}`)
	s.create(t, a.host, "/api/tasks/", ownerA.cred, `{"project_id":`+pa+`,"title":"Secret two"}`)
	tb := s.create(t, b.host, "/api/tasks/", ownerB.cred, `{"project_id":`+pb+`,"title":"Bert's task"}`)
	if tb != "1" || pa != "1" || pb != "1" {
		t.Fatalf("ids: A's project %s, B's project %s and task %s; want 1 in both tenants", pa, pb, tb)
	}
	s.run(t, nil, []call{
		{name: "B lists its own only", method: "GET", path: "/api/tasks/", host: b.host, cred: ownerB.cred, status: 200,
			total: total(1), field: "title", values: []string{"Bert's task"}, absent: []string{"Secret"}},
		{name: "B filtered by A's project id sees its own", method: "GET", path: "/api/tasks/?project_id=1&search=Secret", host: b.host,
			cred: ownerB.cred, status: 200, total: total(0)},
		{name: "B's task 1 is B's", method: "GET", path: "/api/tasks/1/", host: b.host, cred: ownerB.cred, status: 200,
			want: []string{"Bert's task"}, absent: []string{"Secret"}},
		{name: "B cannot read A's 2", method: "GET", path: "/api/tasks/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B cannot change A's 2", method: "PATCH", path: "/api/tasks/2/", host: b.host, cred: ownerB.cred,
			body: `{"title":"Owned"}`, status: 404},
		{name: "B cannot delete A's 2", method: "DELETE", path: "/api/tasks/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B cannot create in A's project 2", method: "POST", path: "/api/tasks/", host: b.host, cred: ownerB.cred,
			body: `{"project_id":2,"title":"Planted"}`, status: 400, want: invalidField("project_id")},
		{name: "B's token is refused on A", method: "GET", path: "/api/tasks/", host: a.host, cred: ownerB.cred, status: 401},
		{name: "A's tasks are intact", method: "GET", path: "/api/tasks/?ordering=id", host: a.host, cred: ownerA.cred, status: 200,
			total: total(2), field: "title", values: []string{"Secret one", "Secret two"}},
	})
	rawSelectRefused(t, s, b.operator(), a.tenant.Schema, "tasks")
}
