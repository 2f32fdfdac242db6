package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Outbox implements taruvi.OutboxService over the tenant's outbox table,
// and keeps the emails that jobs send while no SMTP server is configured.
type Outbox struct {
	db    *DB
	authz taruvi.Authorizer
}

var _ taruvi.OutboxService = (*Outbox)(nil)

// NewOutbox returns the outbox over db, authorizing through authz.
func NewOutbox(db *DB, authz taruvi.Authorizer) *Outbox { return &Outbox{db: db, authz: authz} }

// ListOutbox implements taruvi.OutboxService: owners only.
func (s *Outbox) ListOutbox(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Email, int, error) {
	if taruvi.TenantFromContext(ctx) == nil {
		return nil, 0, taruvi.Errorf(taruvi.ENOTFOUND, "The outbox exists on tenant hosts only.")
	}
	if err := s.authz.RequireOwner(ctx); err != nil {
		return nil, 0, err
	}
	lc := buildList(taruvi.OutboxListSpec, q, "o", nil)
	var emails []*taruvi.Email
	total := 0
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		emails, total, err = listPage(ctx, tx, pageSQL(`o.id, o."to", o.subject, o.body, o.job_id, o.created_at`, "outbox", "o", lc.Where, lc),
			countSQL("outbox", "o", lc.Where), lc.Args, q.Offset(), scanEmail)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list outbox: %w", err)
	}
	return emails, total, nil
}

func scanEmail(row pgx.Row, extra ...any) (*taruvi.Email, error) {
	var e taruvi.Email
	err := row.Scan(append([]any{&e.ID, &e.To, &e.Subject, &e.Body, &e.JobID, &e.CreatedAt}, extra...)...)
	return &e, err
}

// SaveEmail keeps e in the outbox of the tenant of ctx (a job's scope).
func (s *Outbox) SaveEmail(ctx context.Context, e *taruvi.Email) error {
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO outbox ("to", subject, body, job_id) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, e.To, e.Subject, e.Body, e.JobID).Scan(&e.ID, &e.CreatedAt)
	})
}

// TaskAssignmentEmail returns the notice for the assignee of a task, read
// in the tenant of ctx; ENOTFOUND when the task is gone or no longer
// assigned to that user (then there is nothing to tell).
func (s *Outbox) TaskAssignmentEmail(ctx context.Context, taskID, assigneeID int64) (*taruvi.Email, error) {
	var e taruvi.Email
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var title, project string
		err := tx.QueryRow(ctx, `SELECT t.title, p.name, u.email FROM tasks t
			JOIN projects p ON p.id = t.project_id JOIN users u ON u.id = t.assignee_id
			WHERE t.id = $1 AND t.assignee_id = $2 AND u.is_active`, taskID, assigneeID).Scan(&title, &project, &e.To)
		if errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Task %d is not assigned to user %d.", taskID, assigneeID)
		}
		e.Subject = "Task assigned: " + title
		e.Body = fmt.Sprintf("You were assigned the task %q (#%d) in project %q.\n", title, taskID, project)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}
