package postgres

import (
	"context"
	"fmt"
	"time"
)

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// CountTenants returns how many tenants exist, for metrics.
func (db *DB) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM public.tenants").Scan(&n); err != nil {
		return 0, fmt.Errorf("count tenants: %w", err)
	}
	return n, nil
}

// JobQueue is the state of the job queue for health reports.
type JobQueue struct {
	Configured bool          // the river schema's job table exists
	Available  int64         // jobs waiting to run now
	OldestAge  time.Duration // how long the oldest available job has waited
}

// JobQueueStats reads the depth of River's queue and the age of its oldest
// available job, from river.river_job when that table exists (the jobs
// migrations create it); otherwise Configured is false.
func (db *DB) JobQueueStats(ctx context.Context) (JobQueue, error) {
	var q JobQueue
	err := db.pool.QueryRow(ctx, `SELECT to_regclass('river.river_job') IS NOT NULL`).Scan(&q.Configured)
	if err != nil || !q.Configured {
		return q, err
	}
	var oldest float64
	err = db.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)
		FROM river.river_job WHERE state = 'available' AND scheduled_at <= now()`).Scan(&q.Available, &oldest)
	if err != nil {
		return q, fmt.Errorf("read job queue: %w", err)
	}
	q.OldestAge = time.Duration(oldest * float64(time.Second))
	return q, nil
}
