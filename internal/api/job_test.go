package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
)

// failingArgs is a tenant job that always fails, twice at most.
type failingArgs struct {
	taruvi.TenantRef
}

func (failingArgs) Kind() string { return "api_test_fail" }
func (failingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: taruvi.QueueDefault, MaxAttempts: 2}
}

type failingWorker struct {
	river.WorkerDefaults[failingArgs]
}

func (failingWorker) Work(context.Context, *river.Job[failingArgs]) error {
	return fmt.Errorf("the printer is on fire")
}

func (failingWorker) NextRetry(*river.Job[failingArgs]) time.Time {
	return time.Now().Add(50 * time.Millisecond)
}

// newJobsStack is an app stack whose API has the jobs, reports and outbox
// routes, with a worker and scheduler running in the test.
func newJobsStack(t *testing.T) (*appStack, *jobs.Client) {
	t.Helper()
	var client *jobs.Client
	s := newStack(t, appLimits, withApps, func(s *stack, a *api.API) {
		blobs, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		reports := postgres.NewReports(s.db, blobs)
		client, err = jobs.New(s.db.Pool(), jobs.Config{Mode: jobs.WorkerScheduler, ShutdownTimeout: 5 * time.Second,
			FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond},
			jobs.Deps{Tenants: postgres.NewTenants(s.db), Outbox: postgres.NewOutbox(s.db, nil), Reports: reports,
				Maint:    postgres.NewMaintenance(s.db, blobs, nil),
				Register: func(w *river.Workers) error { return river.AddWorkerSafely(w, failingWorker{}) }})
		if err != nil {
			t.Fatal(err)
		}
		a.Jobs, a.Reports, a.Outbox = client, &jobs.Reports{Store: reports, Jobs: client}, postgres.NewOutbox(s.db, s.authz)
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	return &appStack{s}, client
}

// eventually polls a GET until its body holds every fragment.
func (s *appStack) eventually(t *testing.T, host, path, cred string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body := s.send(t, "GET", host, path, cred, "", "")
		ok := status == http.StatusOK
		for _, w := range want {
			ok = ok && strings.Contains(body, w)
		}
		if ok {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s; want all of %q", path, status, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJobsAPI(t *testing.T) {
	t.Parallel()
	s, client := newJobsStack(t)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA, memberA := a.owner(t, "owner-a"), a.member(t, "member-a")
	ownerB := b.owner(t, "owner-b")
	adminEmail := uniqueEmail("jobs-admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: adminEmail, Password: "platform password"})
	admin := "Bearer " + s.login(t, platformHost, adminEmail, "platform password").Access

	vars := map[string]string{"member": memberA.ID()}
	s.run(t, vars, []call{
		{name: "project in A", method: "POST", path: "/api/projects", host: a.host, cred: ownerA.cred,
			body: `{"name":"Alpha"}`, status: 201, save: map[string]string{"project": "data.id"}},
		{name: "task assigned to the member", method: "POST", path: "/api/tasks", host: a.host, cred: ownerA.cred,
			body: `{"project_id":{{project}},"title":"=Write the spec","assignee_id":{{member}}}`, status: 201},
		{name: "report requested", method: "POST", path: "/api/reports", host: a.host, cred: ownerA.cred,
			body: `{"project_id":{{project}}}`, status: 202, want: []string{`"ready":false`, `"job_id":`},
			save: map[string]string{"report": "data.id", "job": "data.job_id"}},
		{name: "report without credential", method: "POST", path: "/api/reports", host: a.host,
			body: `{"project_id":{{project}}}`, status: 401, want: wantUnauthorized},
		{name: "report of a project B does not have", method: "POST", path: "/api/reports", host: b.host, cred: ownerB.cred,
			body: `{"project_id":{{project}}}`, status: 400, want: invalidField("project_id")},
		{name: "report of a project the member cannot see", method: "POST", path: "/api/reports", host: a.host, cred: memberA.cred,
			body: `{"project_id":{{project}}}`, status: 400, want: invalidField("project_id")},
		{name: "report with a bad body", method: "POST", path: "/api/reports", host: a.host, cred: ownerA.cred,
			body: `{"project":1}`, status: 400, want: wantInvalid},
	})
	report, job := vars["report"], vars["job"]
	s.eventually(t, a.host, "/api/reports/"+report, ownerA.cred, `"ready":true`, `"state":"completed"`, `"rows":1`)
	res := s.request(t, "GET", a.host, "/api/reports/"+report+"/download", nil, map[string]string{"Authorization": ownerA.cred})
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.body, "'=Write the spec") || !strings.Contains(res.body, "member-a@example.test") {
		t.Fatalf("download: %d %s %q", res.status, res.header.Get("Content-Type"), res.body)
	}
	s.eventually(t, a.host, "/api/outbox?search=assigned", ownerA.cred, `"to":"member-a@example.test"`, `"subject":"Task assigned: =Write the spec"`)
	s.eventually(t, a.host, "/api/outbox?to=member-a@example.test&ordering=created_at", ownerA.cred, `"subject":"Welcome to `)

	// A failing job, caused by the owner's request, ends discarded with
	// its errors visible to the owner.
	fail, err := client.Enqueue(taruvi.NewContextWithPrincipal(a.ctx, &taruvi.Principal{UserID: ownerA.id, Audience: a.tenant.Schema, IsOwner: true}),
		failingArgs{TenantRef: taruvi.TenantRef{Tenant: a.tenant.Schema}})
	if err != nil {
		t.Fatal(err)
	}
	failPath := "/api/jobs/" + strconv.FormatInt(fail[0], 10)
	s.eventually(t, a.host, failPath, ownerA.cred, `"state":"discarded"`, `"attempt":2`, `"max_attempts":2`, `"error":"the printer is on fire"`)

	vars["fail"] = strconv.FormatInt(fail[0], 10)
	vars["a"] = a.tenant.Schema
	s.run(t, vars, []call{
		{name: "job by its owner", method: "GET", path: "/api/jobs/" + job, host: a.host, cred: ownerA.cred,
			status: 200, want: []string{`"kind":"generate_report"`, `"queue":"reports"`, `"state":"completed"`, `"tenant":"{{a}}"`}},
		{name: "job without credential", method: "GET", path: "/api/jobs/" + job, host: a.host, status: 401, want: wantUnauthorized},
		{name: "job by a member who did not cause it", method: "GET", path: "/api/jobs/" + job, host: a.host, cred: memberA.cred,
			status: 404, want: wantNotFound},
		{name: "job of A from B", method: "GET", path: "/api/jobs/" + job, host: b.host, cred: ownerB.cred, status: 404, want: wantNotFound},
		{name: "no such job", method: "GET", path: "/api/jobs/999999999", host: a.host, cred: ownerA.cred, status: 404, want: wantNotFound},
		{name: "bad job id", method: "GET", path: "/api/jobs/x", host: a.host, cred: ownerA.cred, status: 404, want: wantNotFound},
		{name: "report of A from B", method: "GET", path: "/api/reports/" + report, host: b.host, cred: ownerB.cred, status: 404, want: wantNotFound},
		{name: "report download of A from B", method: "GET", path: "/api/reports/" + report + "/download", host: b.host, cred: ownerB.cred,
			status: 404, want: wantNotFound},
		{name: "report by a member who did not ask", method: "GET", path: "/api/reports/" + report, host: a.host, cred: memberA.cred,
			status: 404, want: wantNotFound},
		{name: "report without credential", method: "GET", path: "/api/reports/" + report, host: a.host, status: 401, want: wantUnauthorized},
		{name: "outbox by a member", method: "GET", path: "/api/outbox", host: a.host, cred: memberA.cred, status: 403, want: wantForbidden},
		{name: "outbox without credential", method: "GET", path: "/api/outbox", host: a.host, status: 401, want: wantUnauthorized},
		{name: "B's outbox holds nothing of A", method: "GET", path: "/api/outbox", host: b.host, cred: ownerB.cred,
			status: 200, absent: []string{"member-a@example.test", "owner-a@example.test"}},
		{name: "outbox with an unknown filter", method: "GET", path: "/api/outbox?body=x", host: a.host, cred: ownerA.cred, status: 400},
		{name: "job list on a tenant host", method: "GET", path: "/api/jobs", host: a.host, cred: ownerA.cred, status: 404, want: wantNotFound},
		{name: "retry on a tenant host", method: "POST", path: "/api/jobs/{{fail}}/retry", host: a.host, cred: ownerA.cred, status: 404},
		{name: "job list without credential", method: "GET", path: "/api/jobs", host: platformHost, status: 401, want: wantUnauthorized},
		{name: "job list by the platform admin", method: "GET", path: "/api/jobs?tenant={{a}}&kind=api_test_fail", host: platformHost, cred: admin,
			status: 200, want: []string{`"id":{{fail}}`, `"state":"discarded"`}, absent: []string{`"kind":"generate_report"`}},
		{name: "job list after an id", method: "GET", path: "/api/jobs?tenant={{a}}&after_id={{fail}}&limit=100", host: platformHost, cred: admin,
			status: 200, want: []string{`"id":{{job}},`}, absent: []string{`"id":{{fail}},`}},
		{name: "job list with a bad state", method: "GET", path: "/api/jobs?state=bogus", host: platformHost, cred: admin, status: 400},
		{name: "job list with an unknown parameter", method: "GET", path: "/api/jobs?colour=red", host: platformHost, cred: admin, status: 400},
		{name: "any job by the platform admin", method: "GET", path: "/api/jobs/" + job, host: platformHost, cred: admin, status: 200,
			want: []string{`"kind":"generate_report"`}},
		{name: "retry by the platform admin", method: "POST", path: "/api/jobs/{{fail}}/retry", host: platformHost, cred: admin,
			status: 200, want: []string{`"state":"available"`}},
		{name: "cancel by the platform admin", method: "POST", path: "/api/jobs/{{fail}}/cancel", host: platformHost, cred: admin,
			status: 200, want: []string{`"id":{{fail}}`}},
		{name: "cancel of no such job", method: "POST", path: "/api/jobs/999999999/cancel", host: platformHost, cred: admin, status: 404},
	})
}
