package taruvi

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Job states, as River names them.
const (
	JobAvailable = "available"
	JobScheduled = "scheduled"
	JobRunning   = "running"
	JobRetryable = "retryable"
	JobCompleted = "completed"
	JobCancelled = "cancelled"
	JobDiscarded = "discarded"
	JobPending   = "pending"
)

// Queues jobs run on. Each has its own concurrency (TARUVI_QUEUE_*).
const (
	QueueDefault     = "default"
	QueueEmails      = "emails"
	QueueReports     = "reports"
	QueueTenantTasks = "tenant_tasks"
)

// JobArgs is the argument of a background job: a kind and, as JSON, the
// values it needs. Every tenant job names its tenant (TenantJobArgs); the
// worker restores that tenant's scope before the job runs.
type JobArgs interface {
	Kind() string
}

// TenantJobArgs is a job that runs in one tenant's scope.
type TenantJobArgs interface {
	JobArgs
	JobTenant() string
}

// TenantRef names the tenant a job runs for. Embed it in tenant job args.
type TenantRef struct {
	Tenant string `json:"tenant"` // the tenant's schema
}

// JobTenant implements TenantJobArgs.
func (r TenantRef) JobTenant() string { return r.Tenant }

// SendEmailArgs sends one email (SMTP, or the tenant's outbox when no SMTP
// server is configured).
type SendEmailArgs struct {
	TenantRef
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Kind implements JobArgs.
func (SendEmailArgs) Kind() string { return "send_email" }

// ModuleJobArgs runs the job Job of the module Module (a ModuleJob of its
// parts) with Payload, in the tenant that enqueued it: the enqueue
// function writes that tenant into TenantRef, whatever the caller put
// there.
type ModuleJobArgs struct {
	TenantRef
	Module  string          `json:"module"`
	Job     string          `json:"job"`
	Payload json.RawMessage `json:"payload"`
}

// Kind implements JobArgs: one kind for every module's jobs, dispatched
// by Module and Job.
func (ModuleJobArgs) Kind() string { return "module_job" }

// TaskAssignedArgs tells a task's new assignee about it by email.
type TaskAssignedArgs struct {
	TenantRef
	TaskID     int64 `json:"task_id"`
	AssigneeID int64 `json:"assignee_id"`
}

// Kind implements JobArgs.
func (TaskAssignedArgs) Kind() string { return "task_assigned" }

// GenerateReportArgs writes the CSV export of report ReportID.
type GenerateReportArgs struct {
	TenantRef
	ReportID int64 `json:"report_id"`
}

// Kind implements JobArgs.
func (GenerateReportArgs) Kind() string { return "generate_report" }

// MaintenanceArgs is the periodic platform-wide maintenance: it purges
// the platform's expired credentials, removes the blobs of deleted
// tenants and fans TenantMaintenanceArgs out to every tenant. Tick is the
// schedule's time, which makes each tick unique.
type MaintenanceArgs struct {
	Tick time.Time `json:"tick"`
}

// Kind implements JobArgs.
func (MaintenanceArgs) Kind() string { return "maintenance" }

// TenantMaintenanceArgs purges one tenant's expired sessions, refresh
// tokens and API keys, prunes its history past the retention and removes
// its orphaned blobs.
type TenantMaintenanceArgs struct {
	TenantRef
}

// Kind implements JobArgs.
func (TenantMaintenanceArgs) Kind() string { return "tenant_maintenance" }

// Job is a background job as the API shows it: no arguments (they may hold
// addresses and bodies), its state, attempts and errors.
type Job struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Queue       string     `json:"queue"`
	State       string     `json:"state"`
	Tenant      string     `json:"tenant,omitempty"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	Errors      []JobError `json:"errors"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	AttemptedAt *time.Time `json:"attempted_at"`
	FinalizedAt *time.Time `json:"finalized_at"`
}

// JobError is the error of one failed attempt.
type JobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// JobFilter narrows a platform job list. Empty fields match everything.
type JobFilter struct {
	State  string
	Kind   string
	Queue  string
	Tenant string
	Limit  int // at most 100; 0 means 20
	// AfterID continues a list after the job with this id (lists are newest
	// first).
	AfterID int64
}

// JobService shows and steers background jobs. In a tenant's scope FindJob
// answers the tenant's own jobs only (ENOTFOUND for any other), to its
// owners and to the user whose request caused the job; on the platform it
// answers any job, to platform admins. ListJobs, RetryJob and CancelJob are
// for platform admins on the platform (EFORBIDDEN otherwise).
type JobService interface {
	FindJob(ctx context.Context, id int64) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]*Job, error)
	RetryJob(ctx context.Context, id int64) (*Job, error)
	CancelJob(ctx context.Context, id int64) (*Job, error)
}

// Report is a CSV export of a project's tasks, made by a generate_report
// job and kept in the blob store.
type Report struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	RequestedBy *int64    `json:"requested_by"`
	JobID       int64     `json:"job_id"`
	Rows        *int      `json:"rows"`   // once generated
	Size        *int64    `json:"size"`   // bytes, once generated
	State       string    `json:"state"`  // the job's state
	Errors      []string  `json:"errors"` // the job's errors, newest last
	CreatedAt   time.Time `json:"created_at"`
	Ready       bool      `json:"ready"` // the CSV can be downloaded
}

// ReportService requests and serves reports in the tenant of ctx. A user
// may request a report of a project they can see; reports are visible to
// their requester and the tenant's owners (ENOTFOUND to anyone else).
// OpenReport returns ECONFLICT while the report is not ready.
type ReportService interface {
	CreateReport(ctx context.Context, projectID int64) (*Report, error)
	FindReport(ctx context.Context, id int64) (*Report, error)
	OpenReport(ctx context.Context, id int64) (io.ReadCloser, *Report, error)
}

// Email is a message the platform sent, as kept in a tenant's outbox when
// no SMTP server is configured.
type Email struct {
	ID        int64     `json:"id"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	JobID     *int64    `json:"job_id"`
	CreatedAt time.Time `json:"created_at"`
}

// OutboxService lists the emails kept in the tenant's outbox, for its
// owners (EFORBIDDEN for anyone else).
type OutboxService interface {
	ListOutbox(ctx context.Context, q ListQuery) ([]*Email, int, error)
}

// OutboxListSpec is what outbox lists filter, order and search by.
var OutboxListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "to", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "subject", Kind: KindString, Filter: true, Search: true},
		{Name: "job_id", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "created_at", Desc: true}, {Field: "id", Desc: true}},
}

// MaintenanceCounts counts what one maintenance pass removed.
type MaintenanceCounts struct {
	Sessions, APIKeys, History, Blobs int64
}
