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

// FreshTenantFinder is a TenantFinder with a cache it can look past
// (web.TenantCache). Workers ask it before they cancel a job, so that a
// cache entry gone stale (a tenant created again, a suspension lifted)
// cancels nothing; enqueuing outside a tenant's scope asks it for the
// tenant's id.
type FreshTenantFinder interface {
	FindTenantFresh(ctx context.Context, schema string) (*taruvi.Tenant, error)
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
	schema := *ref.Tenant
	var meta jobMetadata
	_ = json.Unmarshal(job.Metadata, &meta)
	t, err := findTenant(ctx, m.tenants, schema, false)
	if (err == nil || taruvi.ErrorCode(err) == taruvi.ENOTFOUND) && notRunnable(schema, meta, t, err) != nil {
		// Only a fresh answer cancels a job: a cached one may be older
		// than the job.
		t, err = findTenant(ctx, m.tenants, schema, true)
	}
	if err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND && taruvi.ErrorCode(err) != taruvi.EINVALID {
		return fmt.Errorf("find tenant %q: %w", schema, err)
	}
	if t != nil && meta.TenantID > t.ID {
		// The job's tenant is newer than the one found, which no fresh
		// lookup could return: the finder's cache is behind. Try later.
		return fmt.Errorf("tenant %q: found id %d, older than the job's %d", schema, t.ID, meta.TenantID)
	}
	if cancel := notRunnable(schema, meta, t, err); cancel != nil {
		m.log.WarnContext(ctx, "job cancelled", "job_id", job.ID, "kind", job.Kind, "tenant", schema, "reason", cancel.Error())
		return river.JobCancel(cancel)
	}
	return doInner(taruvi.NewContextWithTenant(ctx, t))
}

// notRunnable says why a job of meta cannot run in t, the tenant found
// for its schema (or err), or returns nil when it can.
func notRunnable(schema string, meta jobMetadata, t *taruvi.Tenant, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("tenant %q no longer exists", schema)
	case !meta.ofIncarnation(t):
		// Enqueued for a tenant since deleted, whose schema name another
		// tenant has taken.
		return fmt.Errorf("tenant %q no longer exists", t.Schema)
	case t.Status != taruvi.TenantActive:
		return fmt.Errorf("tenant %q is %s", t.Schema, t.Status)
	}
	return nil
}

// findTenant finds the tenant of schema, past the finder's cache when
// fresh is set and it has one.
func findTenant(ctx context.Context, tenants TenantFinder, schema string, fresh bool) (*taruvi.Tenant, error) {
	if err := taruvi.ValidateSchemaName(schema); err != nil {
		return nil, err
	}
	if f, ok := tenants.(FreshTenantFinder); ok && fresh {
		return f.FindTenantFresh(ctx, schema)
	}
	return tenants.FindTenant(ctx, schema)
}
