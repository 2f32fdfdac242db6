package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// enqueueIn enqueues j in tx as the stores do, returning the job's id.
func enqueueIn(ctx context.Context, tx pgx.Tx, j taruvi.JobArgs) (int64, error) {
	sql, args, err := postgres.JobStatement(j)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, sql, args...).Scan(&id)
	return id, err
}

// probeRiver checks, inside a tenant's transaction, that the tenant's
// role can neither read nor write River's table.
func probeRiver(t *testing.T, ctx context.Context, tx pgx.Tx) error {
	t.Helper()
	for _, sql := range []string{
		`SELECT count(*) FROM river.river_job`,
		`INSERT INTO river.river_job (args, kind, max_attempts, priority, queue, state, tags) VALUES ('{}', 'x', 1, 1, 'default', 'available', '{}')`,
		`UPDATE river.river_job SET state = 'available'`,
	} {
		_, err := tx.Exec(ctx, `SAVEPOINT probe; `+sql)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("tenant role running %q: %v, want permission denied", sql, err)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT probe`); err != nil {
			return err
		}
	}
	return nil
}

// TestRolledBackInsertNeverRuns: a job enqueued in a transaction that
// rolls back does not exist and never runs; one that commits runs, in its
// tenant, and exactly the committed transaction's jobs exist. The tenant
// never leaves its role to enqueue, and that role cannot read or write
// River's tables.
func TestRolledBackInsertNeverRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)

	email := func(subject string) taruvi.SendEmailArgs {
		return taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: tenant.Schema}, To: "a@example.com", Subject: subject}
	}
	var rolledBack, committed int64
	boom := errors.New("the write failed")
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rolledBack, err = enqueueIn(ctx, tx, email("rolled back"))
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTenant = %v, want the write's error", err)
	}
	err = f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if committed, err = enqueueIn(ctx, tx, email("committed")); err != nil {
			return err
		}
		var role string
		if err := tx.QueryRow(ctx, `SELECT current_user::text`).Scan(&role); err != nil {
			return err
		}
		if role != tenant.Role {
			t.Errorf("role after enqueue = %q, want the tenant's %q", role, tenant.Role)
		}
		return probeRiver(t, ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.jobState(t, rolledBack); got != "missing" {
		t.Fatalf("rolled-back job %d is %s, want missing", rolledBack, got)
	}
	var n int
	if err := f.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river.river_job WHERE metadata->>'tenant' = $1`,
		tenant.Schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("jobs of the tenant: %d, %v; want exactly the committed one", n, err)
	}
	f.client(t, jobs.Worker, jobs.Config{})
	waitFor(t, "committed job completes", 10*time.Second, func() (bool, error) {
		return f.jobState(t, committed) == taruvi.JobCompleted, nil
	})
	emails, _, err := f.outbox.ListOutbox(owner(ctx, tenant, 1), taruvi.ListQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 || emails[0].Subject != "committed" || emails[0].JobID == nil || *emails[0].JobID != committed {
		t.Fatalf("outbox = %+v, want only the committed email", emails)
	}
}

// TestPipelinedEnqueueIsTransactional: a job queued in a pipelined unit
// commits with the unit's write, and a unit whose statement fails leaves
// no job behind.
func TestPipelinedEnqueueIsTransactional(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)
	unit := func(subject, key string) (*pgx.Batch, *int64) {
		var id int64
		sql, args, err := postgres.JobStatement(taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: tenant.Schema},
			To: "a@example.com", Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO settings (key, value) VALUES ($1, '1')`, key)
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&id) })
		return b, &id
	}
	ok, okID := unit("kept", "k1")
	if err := f.db.InTenant(ctx, nil, postgres.Pipelined(ok)); err != nil {
		t.Fatal(err)
	}
	if got := f.jobState(t, *okID); got != taruvi.JobAvailable {
		t.Fatalf("job of a committed unit is %s, want available", got)
	}
	// The same key again: the insert fails after the job's statement was
	// queued, so the whole unit rolls back.
	failing, _ := unit("lost", "k1")
	failing.QueuedQueries[0], failing.QueuedQueries[1] = failing.QueuedQueries[1], failing.QueuedQueries[0]
	if err := f.db.InTenant(ctx, nil, postgres.Pipelined(failing)); taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		t.Fatalf("unit with a duplicate key: %v, want ECONFLICT", err)
	}
	var subjects []string
	rows, _ := f.db.Pool().Query(context.Background(), `SELECT args->>'subject' FROM river.river_job WHERE metadata->>'tenant' = $1`, tenant.Schema)
	subjects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !reflect.DeepEqual(subjects, []string{"kept"}) {
		t.Fatalf("jobs of the tenant: %v, %v; want only the committed unit's", subjects, err)
	}
}

// TestEnqueueStampsTheCaller: a tenant that names another tenant in a
// job, through the stores' statement or by calling taruvi.enqueue_job
// with arguments and metadata of its own making, enqueues a job of its
// own: the database stamps the caller's schema and id, and the worker
// runs the job in the caller's tenant. The platform and the connecting
// user cannot call the function at all.
func TestEnqueueStampsTheCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, a := postgrestest.TenantContext(t, f.db)
	b := postgrestest.NewTenant(t, f.db)
	ctx = taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: 7, Audience: a.Schema})
	var viaStatement, viaCall int64
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		viaStatement, err = enqueueIn(ctx, tx, taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: b.Schema},
			To: "x@example.com", Subject: "for b"})
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT taruvi.enqueue_job('send_email', $1, 'emails', 10, 1, NULL, NULL)`,
			`{"tenant": "`+b.Schema+`", "tenant_id": `+itoa(b.ID)+`, "to": "y@example.com", "subject": "forged"}`).Scan(&viaCall)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{viaStatement, viaCall} {
		var args, meta []byte
		if err := f.db.Pool().QueryRow(context.Background(), `SELECT args, metadata FROM river.river_job WHERE id = $1`, id).
			Scan(&args, &meta); err != nil {
			t.Fatal(err)
		}
		var ref struct{ Tenant string }
		var m struct {
			Tenant   string `json:"tenant"`
			TenantID int64  `json:"tenant_id"`
			UserID   int64  `json:"user_id"`
		}
		_ = json.Unmarshal(args, &ref)
		_ = json.Unmarshal(meta, &m)
		if ref.Tenant != a.Schema || m.Tenant != a.Schema || m.TenantID != a.ID || m.UserID != 7 {
			t.Fatalf("job %d: args %s, metadata %s; want tenant %s (id %d) and user 7 in both", id, args, meta, a.Schema, a.ID)
		}
	}

	// The platform's role and the connecting user are no tenant.
	err = f.db.InPlatform(context.Background(), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT taruvi.enqueue_job('send_email', '{}', NULL, NULL, NULL, NULL, NULL)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("the platform calling enqueue_job: %v, want permission denied", err)
	}
	if _, err := f.db.Pool().Exec(context.Background(), `SELECT taruvi.enqueue_job('send_email', '{}', NULL, NULL, NULL, NULL, NULL)`); err == nil ||
		!strings.Contains(err.Error(), "no tenant") {
		t.Fatalf("the connecting user calling enqueue_job: %v, want a refusal", err)
	}

	f.client(t, jobs.Worker, jobs.Config{})
	waitFor(t, "both jobs complete", 10*time.Second, func() (bool, error) {
		return f.jobState(t, viaStatement) == taruvi.JobCompleted && f.jobState(t, viaCall) == taruvi.JobCompleted, nil
	})
	emailsA, _, err := f.outbox.ListOutbox(owner(ctx, a, 1), taruvi.ListQuery{Page: 1, PageSize: 10})
	if err != nil || len(emailsA) != 2 {
		t.Fatalf("A's outbox: %+v, %v; want both emails", emailsA, err)
	}
	emailsB, _, err := f.outbox.ListOutbox(owner(taruvi.NewContextWithTenant(context.Background(), b), b, 1), taruvi.ListQuery{Page: 1, PageSize: 10})
	if err != nil || len(emailsB) != 0 {
		t.Fatalf("B's outbox: %+v, %v; want nothing", emailsB, err)
	}
}

// TestTenantJobOptsAgree: a tenant's job enqueued by a write runs where
// and as often as the same job inserted by the platform's client.
func TestTenantJobOptsAgree(t *testing.T) {
	for _, j := range []taruvi.JobArgs{taruvi.SendEmailArgs{}, taruvi.TaskAssignedArgs{}, taruvi.GenerateReportArgs{},
		taruvi.TenantMaintenanceArgs{}, sleepArgs{}} {
		if got, want := postgres.TenantJobOpts(j), jobs.OptsFor(j); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: tenant options %+v, platform's %+v", j.Kind(), got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
