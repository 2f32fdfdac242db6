package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"taruvi"
)

// TenantFinder finds a tenant by schema (ENOTFOUND when there is none).
// Workers look up the tenant of every job: give them a cache that is
// invalidated when tenants change (web.TenantCache with the tenancy
// listener), or a suspension goes unnoticed until it expires.
type TenantFinder interface {
	FindTenant(ctx context.Context, schema string) (*taruvi.Tenant, error)
}

// tenantScope is the worker middleware that restores a tenant job's scope:
// it reads the tenant from the job's arguments, checks it still exists and
// is active, and puts it in the job's context, so the job's store calls run
// through InTenant in that tenant and no other. A job whose tenant was
// deleted or suspended is cancelled, not retried.
type tenantScope struct {
	river.MiddlewareDefaults
	tenants  TenantFinder
	log      *slog.Logger
	finished atomic.Pointer[func(kind, outcome string, d time.Duration)]
}

func newTenantScope(tenants TenantFinder, log *slog.Logger) *tenantScope {
	return &tenantScope{tenants: tenants, log: log}
}

// Work implements rivertype.WorkerMiddleware.
func (m *tenantScope) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	fn := m.finished.Load()
	if fn == nil {
		return m.work(ctx, job, doInner)
	}
	start := time.Now()
	err := m.work(ctx, job, doInner)
	outcome := "ok"
	var cancel *river.JobCancelError
	switch {
	case errors.As(err, &cancel):
		outcome = "cancelled"
	case err != nil:
		outcome = "error"
	}
	(*fn)(job.Kind, outcome, time.Since(start))
	return err
}

func (m *tenantScope) work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var ref struct {
		Tenant *string `json:"tenant"`
	}
	if err := json.Unmarshal(job.EncodedArgs, &ref); err != nil {
		return river.JobCancel(fmt.Errorf("unreadable job arguments: %w", err))
	}
	ctx = taruvi.NewContextWithRequestID(ctx, "job-"+strconv.FormatInt(job.ID, 10))
	if ref.Tenant == nil {
		return doInner(ctx) // a platform job
	}
	t, err := m.find(ctx, *ref.Tenant)
	switch {
	case taruvi.ErrorCode(err) == taruvi.ENOTFOUND || taruvi.ErrorCode(err) == taruvi.EINVALID:
		m.log.WarnContext(ctx, "job cancelled: tenant gone", "job_id", job.ID, "kind", job.Kind, "tenant", *ref.Tenant)
		return river.JobCancel(fmt.Errorf("tenant %q no longer exists", *ref.Tenant))
	case err != nil:
		return fmt.Errorf("find tenant %q: %w", *ref.Tenant, err)
	case !jobOfTenant(job, t):
		// Enqueued for a tenant since deleted, whose schema name another
		// tenant has taken.
		m.log.WarnContext(ctx, "job cancelled: tenant gone", "job_id", job.ID, "kind", job.Kind, "tenant", *ref.Tenant)
		return river.JobCancel(fmt.Errorf("tenant %q no longer exists", *ref.Tenant))
	case t.Status != taruvi.TenantActive:
		m.log.WarnContext(ctx, "job cancelled: tenant suspended", "job_id", job.ID, "kind", job.Kind, "tenant", t.Schema)
		return river.JobCancel(fmt.Errorf("tenant %q is %s", t.Schema, t.Status))
	}
	return doInner(taruvi.NewContextWithTenant(ctx, t))
}

// jobOfTenant reports whether job, found to name t's schema, was enqueued
// for this incarnation of t.
func jobOfTenant(job *rivertype.JobRow, t *taruvi.Tenant) bool {
	var meta jobMetadata
	_ = json.Unmarshal(job.Metadata, &meta)
	return meta.ofIncarnation(t)
}

func (m *tenantScope) find(ctx context.Context, schema string) (*taruvi.Tenant, error) {
	if err := taruvi.ValidateSchemaName(schema); err != nil {
		return nil, err
	}
	return m.tenants.FindTenant(ctx, schema)
}
