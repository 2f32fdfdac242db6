package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

// seedProject adds a project with tasks to the tenant of ctx, straight in
// SQL, and returns its id.
func (f *fixture) seedProject(t *testing.T, ctx context.Context, name string, tasks ...string) int64 {
	t.Helper()
	var id int64
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO projects (name) VALUES ($1) RETURNING id`, name).Scan(&id); err != nil {
			return err
		}
		for i, title := range tasks {
			if _, err := tx.Exec(ctx, `INSERT INTO tasks (project_id, title, position) VALUES ($1, $2, $3)`, id, title, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReportReadsOnlyItsTenant: a generate_report job for tenant A runs
// in A's scope and exports A's tasks only, although B has a project with
// the same id; B cannot see A's report.
func TestReportReadsOnlyItsTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctxA, a := postgrestest.TenantContext(t, f.db)
	ctxB, b := postgrestest.TenantContext(t, f.db)
	projectA := f.seedProject(t, ctxA, "Alpha", "a-one", "a-two")
	projectB := f.seedProject(t, ctxB, "Beta", "b-secret")
	if projectA != projectB {
		t.Fatalf("want the same project id in both tenants, got %d and %d", projectA, projectB)
	}
	c := f.client(t, jobs.WorkerScheduler, jobs.Config{})

	reports := &jobs.Reports{Store: f.reports, Jobs: c}

	ownerA := owner(ctxA, a, 0)
	rep, err := reports.CreateReport(ownerA, projectA)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "report ready", 10*time.Second, func() (bool, error) {
		r, err := reports.FindReport(ownerA, rep.ID)
		return err == nil && r.Ready && r.State == taruvi.JobCompleted, err
	})
	body, got, err := reports.OpenReport(ownerA, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(body)
	body.Close()
	if !strings.Contains(string(csv), "a-one") || !strings.Contains(string(csv), "a-two") || strings.Contains(string(csv), "b-secret") {
		t.Fatalf("report of A:\n%s\nwant A's two tasks and nothing of B", csv)
	}
	if got.Rows == nil || *got.Rows != 2 {
		t.Fatalf("report rows = %v, want 2", got.Rows)
	}
	job, err := c.FindJob(ownerA, rep.JobID)
	if err != nil || job.Tenant != a.Schema || job.Kind != "generate_report" {
		t.Fatalf("FindJob in A = %+v, %v", job, err)
	}

	ownerB := owner(ctxB, b, 0)
	if _, err := reports.FindReport(ownerB, rep.ID); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("B finding A's report id: %v, want ENOTFOUND (B has no report)", err)
	}
	if _, err := c.FindJob(ownerB, rep.JobID); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("B finding A's job: %v, want ENOTFOUND", err)
	}
	member := taruvi.NewContextWithPrincipal(ctxA, &taruvi.Principal{UserID: 99, Audience: a.Schema})
	if _, err := c.FindJob(member, rep.JobID); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("another member of A finding the owner's job: %v, want ENOTFOUND", err)
	}
}

// TestJobOfGoneTenantIsCancelled: a job whose tenant was suspended or
// deleted is cancelled with a reason, not retried, also when a tenant of
// the same schema name was created since.
func TestJobOfGoneTenantIsCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	suspended := postgrestest.NewTenant(t, f.db)
	deleted := postgrestest.NewTenant(t, f.db)
	recreated := postgrestest.NewTenant(t, f.db)
	ctx := context.Background()
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	ids, err := c.Enqueue(ctx,
		taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: suspended.Schema}, To: "a@example.com"},
		taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: deleted.Schema}, To: "b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Enqueued in the tenant's scope, as a request's job is.
	old, err := c.Enqueue(taruvi.NewContextWithTenant(ctx, recreated),
		taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: recreated.Schema}, To: "c@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, old...)
	tenants := postgresTenants(f)
	if err := tenants.SetTenantStatus(ctx, suspended.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.SetTenantStatus(ctx, deleted.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(ctx, deleted.Schema); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return tenants.SetTenantStatus(ctx, recreated.Schema, taruvi.TenantSuspended) },
		func() error { return tenants.DeleteTenant(ctx, recreated.Schema) },
		func() error {
			_, err := tenants.CreateTenant(ctx, taruvi.TenantCreate{Schema: recreated.Schema})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	f.client(t, jobs.Worker, jobs.Config{})
	admin := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: 1, Audience: taruvi.PlatformAudience, IsAdmin: true})
	for i, want := range []string{"is suspended", "no longer exists", "no longer exists"} {
		waitFor(t, fmt.Sprintf("job %d cancelled", ids[i]), 10*time.Second, func() (bool, error) {
			return f.jobState(t, ids[i]) == taruvi.JobCancelled, nil
		})
		job, err := c.FindJob(admin, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, want) {
			t.Fatalf("job %d = attempt %d, errors %+v; want one attempt and an error saying %q", ids[i], job.Attempt, job.Errors, want)
		}
	}
}

// TestJobOfRecreatedTenantWithStaleCache: a worker whose tenant cache
// still holds the deleted tenant of a schema name runs the jobs of the
// tenant created again under that name, enqueued in its scope or outside
// any, rather than cancelling them.
func TestJobOfRecreatedTenantWithStaleCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	deleted := postgrestest.NewTenant(t, f.db)
	cache := web.NewTenantCache(postgres.NewTenants(f.db), time.Hour, nil)
	if got, err := cache.FindTenant(ctx, deleted.Schema); err != nil || got.ID != deleted.ID {
		t.Fatalf("warm the cache: %+v, %v", got, err)
	}
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	email := func(to string) taruvi.JobArgs {
		return taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: deleted.Schema}, To: to, Subject: "Hi", Body: "Hello."}
	}
	tenants := postgresTenants(f)
	if err := tenants.SetTenantStatus(ctx, deleted.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(ctx, deleted.Schema); err != nil {
		t.Fatal(err)
	}
	recreated, err := tenants.CreateTenant(ctx, taruvi.TenantCreate{Schema: deleted.Schema})
	if err != nil {
		t.Fatal(err)
	}
	inScope, err := c.Enqueue(taruvi.NewContextWithTenant(ctx, recreated), email("scope@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	outside, err := c.Enqueue(ctx, email("platform@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded int64
	err = f.db.Pool().QueryRow(ctx, `SELECT (metadata->>'tenant_id')::bigint FROM river.river_job WHERE id = $1`, outside[0]).Scan(&recorded)
	if err != nil || recorded != recreated.ID {
		t.Fatalf("a job enqueued outside the tenant's scope records tenant id %d (%v), want %d", recorded, err, recreated.ID)
	}
	f.tenants = cache // still holding the deleted tenant
	f.client(t, jobs.Worker, jobs.Config{})
	for id, want := range map[int64]string{inScope[0]: taruvi.JobCompleted, outside[0]: taruvi.JobCompleted} {
		waitFor(t, fmt.Sprintf("job %d %s", id, want), 10*time.Second, func() (bool, error) {
			state := f.jobState(t, id)
			if state == taruvi.JobCancelled || state == taruvi.JobCompleted || state == taruvi.JobDiscarded {
				if state != want {
					return false, fmt.Errorf("job %d is %s", id, state)
				}
				return true, nil
			}
			return false, nil
		})
	}
	if n := f.count(t, taruvi.NewContextWithTenant(ctx, recreated), `SELECT count(*) FROM outbox`); n != 2 {
		t.Errorf("the new tenant's outbox holds %d emails, want 2", n)
	}
}

type failWorker struct {
	river.WorkerDefaults[tenantFail]
}

func (failWorker) Work(context.Context, *river.Job[tenantFail]) error {
	return fmt.Errorf("the mail server said no")
}

// Backoff grows with the attempt: 100ms, 200ms, ...
func (failWorker) NextRetry(job *river.Job[tenantFail]) time.Time {
	return time.Now().Add(time.Duration(job.Attempt) * 100 * time.Millisecond)
}

// TestFailingJobRetriesThenDiscarded: a failing job is retried with a
// growing delay and discarded after its maximum attempts, with every
// attempt's error kept and visible to the tenant's owner.
func TestFailingJobRetriesThenDiscarded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)
	c := f.client(t, jobs.Worker, jobs.Config{}, func(w *river.Workers) error { return river.AddWorkerSafely(w, failWorker{}) })
	ctx = owner(ctx, tenant, 0)
	ids, err := c.Enqueue(ctx, tenantFail{TenantRef: taruvi.TenantRef{Tenant: tenant.Schema}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "job discarded", 15*time.Second, func() (bool, error) {
		return f.jobState(t, ids[0]) == taruvi.JobDiscarded, nil
	})
	job, err := c.FindJob(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if job.Attempt != 3 || job.MaxAttempts != 3 || len(job.Errors) != 3 || job.FinalizedAt == nil {
		t.Fatalf("job = %+v, want 3 attempts, 3 errors, finalized", job)
	}
	for i, e := range job.Errors {
		if e.Attempt != i+1 || !strings.Contains(e.Error, "the mail server said no") {
			t.Fatalf("error %d = %+v", i, e)
		}
	}
	// Backoff: the second gap (200ms asked) is longer than the first (100ms).
	first, second := job.Errors[1].At.Sub(job.Errors[0].At), job.Errors[2].At.Sub(job.Errors[1].At)
	if first < 100*time.Millisecond || second < 200*time.Millisecond {
		t.Fatalf("gaps between attempts %s and %s, want at least 100ms and 200ms", first, second)
	}
}

// tenantFail is a tenant job that always fails.
type tenantFail struct {
	taruvi.TenantRef
}

func (tenantFail) Kind() string { return "test_fail" }
func (tenantFail) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: taruvi.QueueDefault, MaxAttempts: 3}
}

func postgresTenants(f *fixture) *postgres.Tenants { return postgres.NewTenants(f.db) }

// TestCreatedTaskNotifiesItsAssignee: creating a task with an assignee
// enqueues, in the creating unit, one task_assigned job for that task,
// stamped with the tenant, which a worker runs in that tenant: the
// assignee's email lands in its outbox. A task refused (a project the
// creator cannot see, an unknown assignee) enqueues nothing.
func TestCreatedTaskNotifiesItsAssignee(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)
	authz := auth.NewAuthz(postgres.NewAuthStore(f.db), slog.New(slog.DiscardHandler), nil)
	users := auth.NewUsers(postgres.NewUsers(f.db, authz, nil), authz, nil)
	op := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: tenant.Schema, IsOwner: true, IsAdmin: true})
	assignee, err := users.CreateUser(op, taruvi.UserCreate{Email: "assignee@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	member, err := users.CreateUser(op, taruvi.UserCreate{Email: "member@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	project := f.seedProject(t, ctx, "Alpha")
	tasks := postgres.NewTasks(f.db, authz)
	jobsOf := func() int {
		var n int
		if err := f.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river.river_job
			WHERE kind = 'task_assigned' AND metadata->>'tenant' = $1`, tenant.Schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	own := owner(ctx, tenant, assignee.ID)
	unknown := int64(999_999)
	if _, err := tasks.CreateTask(own, taruvi.TaskCreate{ProjectID: project, Title: "nobody", AssigneeID: &unknown}); taruvi.ErrorCode(err) != taruvi.EINVALID {
		t.Fatalf("a task for an unknown assignee: %v, want EINVALID", err)
	}
	stranger := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: member.ID, Audience: tenant.Schema})
	if _, err := tasks.CreateTask(stranger, taruvi.TaskCreate{ProjectID: project, Title: "unseen", AssigneeID: &assignee.ID}); err == nil {
		t.Fatal("a member outside the project created a task in it")
	}
	if n := jobsOf(); n != 0 {
		t.Fatalf("%d task_assigned jobs after refused tasks, want none", n)
	}
	unassigned, err := tasks.CreateTask(own, taruvi.TaskCreate{ProjectID: project, Title: "alone"})
	if err != nil || unassigned.AssigneeID != nil {
		t.Fatalf("an unassigned task: %+v, %v", unassigned, err)
	}
	task, err := tasks.CreateTask(own, taruvi.TaskCreate{ProjectID: project, Title: "yours", AssigneeID: &assignee.ID})
	if err != nil || task.AssigneeID == nil || *task.AssigneeID != assignee.ID {
		t.Fatalf("an assigned task: %+v, %v", task, err)
	}
	var args []byte
	if err := f.db.Pool().QueryRow(context.Background(), `SELECT args FROM river.river_job
		WHERE kind = 'task_assigned' AND metadata->>'tenant' = $1`, tenant.Schema).Scan(&args); err != nil {
		t.Fatalf("the assignment notice: %v", err)
	}
	var got taruvi.TaskAssignedArgs
	if err := json.Unmarshal(args, &got); err != nil || got.TaskID != task.ID || got.AssigneeID != assignee.ID || got.Tenant != tenant.Schema {
		t.Fatalf("notice arguments %s, want task %d for user %d in %s", args, task.ID, assignee.ID, tenant.Schema)
	}
	if n := jobsOf(); n != 1 {
		t.Fatalf("%d task_assigned jobs, want exactly the assigned task's", n)
	}
	f.client(t, jobs.Worker, jobs.Config{})
	waitFor(t, "the assignee's email", 10*time.Second, func() (bool, error) {
		emails, _, err := f.outbox.ListOutbox(owner(ctx, tenant, 1), taruvi.ListQuery{Page: 1, PageSize: 10})
		for _, e := range emails {
			if e.To == "assignee@example.com" && strings.Contains(e.Subject+e.Body, "yours") {
				return true, nil
			}
		}
		return false, err
	})
}
