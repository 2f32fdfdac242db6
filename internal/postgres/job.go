package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// JobEnqueuer inserts background jobs in the caller's transaction, so a job
// caused by a write exists exactly when the write commits and never when it
// rolls back. It returns the new jobs' ids, in order.
type JobEnqueuer interface {
	EnqueueTx(ctx context.Context, tx pgx.Tx, jobs ...taruvi.JobArgs) ([]int64, error)
}

// SetJobEnqueuer makes the stores over db enqueue the jobs their writes
// cause (welcome emails, assignment notices, reports) through e. Call it
// once, while wiring, before serving. Without one, writes enqueue nothing
// and requesting a report fails with EUNAVAILABLE.
func (db *DB) SetJobEnqueuer(e JobEnqueuer) { db.jobs.Store(&e) }

// enqueuer returns the JobEnqueuer set, or nil.
func (db *DB) enqueuer() JobEnqueuer {
	if e := db.jobs.Load(); e != nil {
		return *e
	}
	return nil
}

// enqueue inserts jobs in tx when an enqueuer is set.
func (db *DB) enqueue(ctx context.Context, tx pgx.Tx, jobs ...taruvi.JobArgs) ([]int64, error) {
	e := db.enqueuer()
	if e == nil {
		return make([]int64, len(jobs)), nil
	}
	return e.EnqueueTx(ctx, tx, jobs...)
}
