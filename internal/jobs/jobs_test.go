package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres/postgrestest"
)

// TestRolledBackInsertNeverRuns: a job enqueued in a transaction that
// rolls back does not exist and never runs; one that commits runs. The
// scope's role is restored after the insert, and the tenant's role cannot
// read River's tables.
func TestRolledBackInsertNeverRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	f.db.SetJobEnqueuer(c)

	email := func(subject string) taruvi.SendEmailArgs {
		return taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: tenant.Schema}, To: "a@example.com", Subject: subject}
	}
	var rolledBack, committed int64
	boom := errors.New("the write failed")
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		ids, err := c.EnqueueTx(ctx, tx, email("rolled back"))
		if err != nil {
			return err
		}
		rolledBack = ids[0]
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTenant = %v, want the write's error", err)
	}
	err = f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		ids, err := c.EnqueueTx(ctx, tx, email("committed"))
		if err != nil {
			return err
		}
		committed = ids[0]
		var role string
		if err := tx.QueryRow(ctx, `SELECT current_user::text`).Scan(&role); err != nil {
			return err
		}
		if role != tenant.Role {
			t.Errorf("role after enqueue = %q, want the tenant's %q", role, tenant.Role)
		}
		_, err = tx.Exec(ctx, `SAVEPOINT probe; SELECT count(*) FROM river.river_job`)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("tenant role reading river.river_job: %v, want permission denied", err)
		}
		_, err = tx.Exec(ctx, `ROLLBACK TO SAVEPOINT probe`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.jobState(t, rolledBack); got != "missing" {
		t.Fatalf("rolled-back job %d is %s, want missing", rolledBack, got)
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

// TestEnqueueRefusesAnotherTenant: from tenant A's scope no job for tenant
// B can be enqueued.
func TestEnqueueRefusesAnotherTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, _ := postgrestest.TenantContext(t, f.db)
	other := postgrestest.NewTenant(t, f.db)
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := c.EnqueueTx(ctx, tx, taruvi.SendEmailArgs{TenantRef: taruvi.TenantRef{Tenant: other.Schema}, To: "x@example.com"})
		return err
	})
	if err == nil {
		t.Fatal("enqueue of another tenant's job succeeded")
	}
}
