package config

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// JobsConfig configures the background workers, the scheduler and email.
type JobsConfig struct {
	SMTPURL             string        // TARUVI_SMTP_URL; empty: emails go to each tenant's outbox and the log
	DefaultWorkers      int           // TARUVI_QUEUE_DEFAULT_WORKERS, default 10 jobs at once per worker process
	EmailsWorkers       int           // TARUVI_QUEUE_EMAILS_WORKERS, default 10
	ReportsWorkers      int           // TARUVI_QUEUE_REPORTS_WORKERS, default 2
	TenantTasksWorkers  int           // TARUVI_QUEUE_TENANT_TASKS_WORKERS, default 10
	ShutdownTimeout     time.Duration // TARUVI_JOB_SHUTDOWN_TIMEOUT, default 30s: running jobs may finish within it after SIGTERM
	JobTimeout          time.Duration // TARUVI_JOB_TIMEOUT, default 10m: one attempt's limit
	FetchCooldown       time.Duration // TARUVI_JOB_FETCH_COOLDOWN, default 5ms: least time between two fetches of a queue
	HistoryRetention    time.Duration // TARUVI_HISTORY_RETENTION, default 2160h (90 days)
	MaintenanceInterval time.Duration // TARUVI_MAINTENANCE_INTERVAL, default 1h
}

func jobsVariables() []Variable {
	return []Variable{
		{Name: "TARUVI_SMTP_URL", Secret: true, Doc: "SMTP server for email: smtp://[user:password@]host[:port]?from=address (port 587 by default; STARTTLS when offered). Empty: emails go to each tenant's outbox (GET /api/outbox/) and the log.",
			get: func(c *Config) string { return c.Jobs.SMTPURL }, set: setSMTPURL},
		{Name: "TARUVI_QUEUE_DEFAULT_WORKERS", Default: "10", Doc: "Jobs of the `default` queue one worker process runs at once.",
			get: func(c *Config) string { return strconv.Itoa(c.Jobs.DefaultWorkers) }, set: setInt(func(c *Config) *int { return &c.Jobs.DefaultWorkers }, 1, 10000)},
		{Name: "TARUVI_QUEUE_EMAILS_WORKERS", Default: "10", Doc: "Jobs of the `emails` queue one worker process runs at once.",
			get: func(c *Config) string { return strconv.Itoa(c.Jobs.EmailsWorkers) }, set: setInt(func(c *Config) *int { return &c.Jobs.EmailsWorkers }, 1, 10000)},
		{Name: "TARUVI_QUEUE_REPORTS_WORKERS", Default: "2", Doc: "Jobs of the `reports` queue one worker process runs at once.",
			get: func(c *Config) string { return strconv.Itoa(c.Jobs.ReportsWorkers) }, set: setInt(func(c *Config) *int { return &c.Jobs.ReportsWorkers }, 1, 10000)},
		{Name: "TARUVI_QUEUE_TENANT_TASKS_WORKERS", Default: "10", Doc: "Jobs of the `tenant_tasks` queue (per-tenant maintenance) one worker process runs at once.",
			get: func(c *Config) string { return strconv.Itoa(c.Jobs.TenantTasksWorkers) }, set: setInt(func(c *Config) *int { return &c.Jobs.TenantTasksWorkers }, 1, 10000)},
		{Name: "TARUVI_JOB_SHUTDOWN_TIMEOUT", Default: "30s", Doc: "How long running jobs may finish after SIGTERM; then they are cancelled and retried later (Go duration).",
			get: func(c *Config) string { return c.Jobs.ShutdownTimeout.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Jobs.ShutdownTimeout })},
		{Name: "TARUVI_JOB_TIMEOUT", Default: "10m", Doc: "Longest one job attempt may run before it is cancelled and retried (Go duration).",
			get: func(c *Config) string { return c.Jobs.JobTimeout.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Jobs.JobTimeout })},
		{Name: "TARUVI_JOB_FETCH_COOLDOWN", Default: "5ms", Doc: "Least time between two fetches of jobs from one queue while jobs keep coming (from 1ms to 1s); with a queue's workers it bounds one process's rate on that queue (workers per cooldown).",
			get: func(c *Config) string { return c.Jobs.FetchCooldown.String() }, set: setDurationIn(func(c *Config) *time.Duration { return &c.Jobs.FetchCooldown }, time.Millisecond, time.Second)},
		{Name: "TARUVI_HISTORY_RETENTION", Default: "2160h", Doc: "How long audit history is kept; maintenance prunes older entries (Go duration; 2160h is 90 days).",
			get: func(c *Config) string { return c.Jobs.HistoryRetention.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Jobs.HistoryRetention })},
		{Name: "TARUVI_MAINTENANCE_INTERVAL", Default: "1h", Doc: "How often the scheduler enqueues maintenance: expired sessions with their refresh tokens, expired API keys, old history, orphaned blobs (Go duration, on wall-clock multiples).",
			get: func(c *Config) string { return c.Jobs.MaintenanceInterval.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Jobs.MaintenanceInterval })},
	}
}

func setSMTPURL(c *Config, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "smtp" || u.Hostname() == "" || u.Query().Get("from") == "" {
			return fmt.Errorf("want smtp://[user:password@]host[:port]?from=address, got %q", maskSecret(v))
		}
	}
	c.Jobs.SMTPURL = v
	return nil
}
