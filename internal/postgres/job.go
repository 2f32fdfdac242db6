package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"taruvi"
)

// enqueueJobSQL enqueues one job through taruvi.enqueue_job (public
// migration 0009), a SECURITY DEFINER function that inserts it into
// River's table and stamps it with the tenant of the calling role: the
// tenant role never leaves its scope, and whatever tenant the arguments
// name, the job is the caller's. Parameters: kind, arguments, queue,
// attempts, priority, scheduled time, tags.
const enqueueJobSQL = `SELECT taruvi.enqueue_job($1, $2, $3, $4, $5, $6, $7)`

// JobStatement returns the statement that enqueues j in a tenant's scoped
// transaction, and its arguments: queue it in a pipelined unit, or run it
// in a stepwise one; its one column is the job's id. The job commits or
// rolls back with the statements around it. Its options are j's own
// (river.JobArgsWithInsertOpts) or else those of its kind (TenantJobOpts);
// jobs with a unique key are the platform's (the River client inserts
// them) and are refused.
func JobStatement(j taruvi.JobArgs) (sql string, args []any, err error) {
	opts := TenantJobOpts(j)
	if u := opts.UniqueOpts; u.ByArgs || u.ByPeriod > 0 || u.ByQueue || len(u.ByState) > 0 || u.ExcludeKind {
		return "", nil, fmt.Errorf("enqueue %s: a unique job cannot be enqueued in a tenant's scope", j.Kind())
	}
	encoded, err := json.Marshal(j)
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", j.Kind(), err)
	}
	var scheduled *time.Time
	if !opts.ScheduledAt.IsZero() {
		scheduled = &opts.ScheduledAt
	}
	var queue *string
	if opts.Queue != "" {
		queue = &opts.Queue
	}
	var attempts, priority *int
	if opts.MaxAttempts > 0 {
		attempts = &opts.MaxAttempts
	}
	if opts.Priority > 0 {
		priority = &opts.Priority
	}
	return enqueueJobSQL, []any{j.Kind(), encoded, queue, attempts, priority, scheduled, opts.Tags}, nil
}

// TenantJobOpts are where the job j of a tenant runs and how often it is
// tried: j's own options when it says (river.JobArgsWithInsertOpts), those
// of its kind for the platform's kinds (the jobs package inserts platform
// jobs with the same), River's defaults otherwise.
func TenantJobOpts(j taruvi.JobArgs) river.InsertOpts {
	if o, ok := j.(river.JobArgsWithInsertOpts); ok {
		return o.InsertOpts()
	}
	switch j.Kind() {
	case taruvi.SendEmailArgs{}.Kind(), taruvi.TaskAssignedArgs{}.Kind():
		return river.InsertOpts{Queue: taruvi.QueueEmails, MaxAttempts: 10}
	case taruvi.GenerateReportArgs{}.Kind():
		return river.InsertOpts{Queue: taruvi.QueueReports, MaxAttempts: 5}
	case taruvi.TenantMaintenanceArgs{}.Kind():
		return river.InsertOpts{Queue: taruvi.QueueTenantTasks, MaxAttempts: 3}
	}
	return river.InsertOpts{Queue: taruvi.QueueDefault}
}

// enqueue inserts jobs in tx, a stepwise transaction of a tenant, and
// returns their ids in order.
func (db *DB) enqueue(ctx context.Context, tx pgx.Tx, jobs ...taruvi.JobArgs) ([]int64, error) {
	if taruvi.TenantFromContext(ctx) == nil {
		return nil, errors.New("postgres: a job enqueued outside a tenant's scope")
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		sql, args, err := JobStatement(j)
		if err != nil {
			return nil, err
		}
		if err := tx.QueryRow(ctx, sql, args...).Scan(&ids[i]); err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", j.Kind(), err)
		}
	}
	return ids, nil
}
