package jobs

import (
	"context"
	"io"
	"time"

	"github.com/riverqueue/river"

	"taruvi"
)

// Deps are the stores and services the workers use. Every method that
// touches tenant data runs in the tenant of its context, which the tenant
// middleware sets from the job's arguments.
type Deps struct {
	Tenants TenantFinder
	// Mailer sends email; nil keeps every email in the tenant's outbox
	// (and the log) instead.
	Mailer  Mailer
	Outbox  OutboxStore
	Reports ReportStore
	Maint   MaintenanceStore
	// Register adds the workers of other job kinds (benchmarks, tests)
	// to those of the platform.
	Register func(*river.Workers) error
	// Modules bring periodic jobs, worked in every active tenant (a
	// client that schedules, Scheduler or WorkerScheduler, also enqueues
	// their ticks), and job kinds of their own (module_job), worked in
	// the tenant that enqueued each. Give every client of a deployment
	// the same modules.
	Modules []taruvi.Module
}

// OutboxStore keeps emails in the tenant's outbox and builds notices from
// tenant data.
type OutboxStore interface {
	SaveEmail(ctx context.Context, e *taruvi.Email) error
	TaskAssignmentEmail(ctx context.Context, taskID, assigneeID int64) (*taruvi.Email, error)
}

// ReportStore is the tenant's reports: the rows behind the API and the
// CSV generation.
type ReportStore interface {
	CreateReport(ctx context.Context, projectID int64) (*taruvi.Report, error)
	FindReport(ctx context.Context, id int64) (*taruvi.Report, error)
	OpenReport(ctx context.Context, id int64) (io.ReadCloser, *taruvi.Report, error)
	GenerateReport(ctx context.Context, id int64) error
}

// MaintenanceStore purges what has expired, in the platform and in each
// tenant.
type MaintenanceStore interface {
	// ActiveTenants lists the active tenants, with their ID and Schema.
	ActiveTenants(ctx context.Context) ([]taruvi.Tenant, error)
	// MaintainPlatform purges the platform's expired sessions, refresh
	// tokens and API keys, its history older than historyBefore, and the
	// blobs of deleted tenants.
	MaintainPlatform(ctx context.Context, historyBefore time.Time) (taruvi.MaintenanceCounts, error)
	// MaintainTenant does the same in the tenant of ctx, and removes the
	// blobs whose rows were deleted.
	MaintainTenant(ctx context.Context, historyBefore time.Time) (taruvi.MaintenanceCounts, error)
}

func registerWorkers(w *river.Workers, cfg Config, deps Deps, periodic modulePeriodic, own moduleJobs) error {
	mail := &mailer{smtp: deps.Mailer, outbox: deps.Outbox, log: cfg.Log}
	if err := river.AddWorkerSafely(w, &sendEmailWorker{mail: mail}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &taskAssignedWorker{mail: mail, outbox: deps.Outbox}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &reportWorker{reports: deps.Reports}); err != nil {
		return err
	}
	m := maintainer{store: deps.Maint, retention: cfg.HistoryRetention, log: cfg.Log}
	if err := river.AddWorkerSafely(w, &maintenanceWorker{maintainer: m}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &tenantMaintenanceWorker{maintainer: m}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &modulePeriodicWorker{jobs: periodic, store: deps.Maint}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &moduleTenantWorker{jobs: periodic}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &moduleJobWorker{jobs: own}); err != nil {
		return err
	}
	if deps.Register != nil {
		return deps.Register(w)
	}
	return nil
}

// reportWorker writes a report's CSV to the blob store.
type reportWorker struct {
	river.WorkerDefaults[taruvi.GenerateReportArgs]
	reports ReportStore
}

func (w *reportWorker) Work(ctx context.Context, job *river.Job[taruvi.GenerateReportArgs]) error {
	return w.reports.GenerateReport(ctx, job.Args.ReportID)
}
