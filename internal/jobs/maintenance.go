package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"taruvi"
)

// alignedSchedule fires on wall-clock multiples of an interval (every
// hour on the hour), so every scheduler computes the same ticks.
type alignedSchedule struct{ every time.Duration }

func (s alignedSchedule) Next(t time.Time) time.Time { return t.Truncate(s.every).Add(s.every) }

// periodicJobs are what the leading scheduler enqueues. Each maintenance
// job carries its tick and is unique by its arguments, so a tick is
// enqueued once even when leadership changes hands at that moment.
func periodicJobs(cfg Config) []*river.PeriodicJob {
	every := cfg.MaintenanceInterval
	return []*river.PeriodicJob{river.NewPeriodicJob(alignedSchedule{every}, func() (river.JobArgs, *river.InsertOpts) {
		opts := optsFor(taruvi.MaintenanceArgs{})
		return taruvi.MaintenanceArgs{Tick: time.Now().Round(every).UTC()}, &opts
	}, &river.PeriodicJobOpts{ID: "maintenance"})}
}

// maintenanceWorker runs the platform's maintenance and fans tenant
// maintenance out to every active tenant, in batches of COPY inserts.
type maintenanceWorker struct {
	river.WorkerDefaults[taruvi.MaintenanceArgs]
	maintainer
}

// maintainer is what both maintenance workers need.
type maintainer struct {
	store     MaintenanceStore
	retention time.Duration
	log       *slog.Logger
}

func (w *maintenanceWorker) Work(ctx context.Context, job *river.Job[taruvi.MaintenanceArgs]) error {
	res, err := w.store.MaintainPlatform(ctx, time.Now().Add(-w.retention))
	if err != nil {
		return err
	}
	logCounts(ctx, w.log, "platform maintenance", res, "tick", job.Args.Tick)
	n, err := FanOut(ctx, river.ClientFromContext[pgx.Tx](ctx), w.store)
	if err != nil {
		return err
	}
	w.log.InfoContext(ctx, "tenant maintenance enqueued", "tenants", n)
	return nil
}

// FanOut enqueues one tenant_maintenance job per active tenant with
// River's COPY-based batch insert, and returns how many it enqueued. Each
// job records its tenant's id, as a job enqueued in the tenant's scope
// does: a tenant created again under the same name does not run it.
func FanOut(ctx context.Context, client *river.Client[pgx.Tx], store MaintenanceStore) (int, error) {
	tenants, err := store.ActiveTenants(ctx)
	if err != nil {
		return 0, err
	}
	opts := optsFor(taruvi.TenantMaintenanceArgs{})
	const batch = 5000
	total := 0
	for len(tenants) > 0 {
		n := min(len(tenants), batch)
		params := make([]river.InsertManyParams, n)
		for i, t := range tenants[:n] {
			o := opts
			o.Metadata, _ = json.Marshal(jobMetadata{Tenant: t.Schema, TenantID: t.ID})
			params[i] = river.InsertManyParams{Args: taruvi.TenantMaintenanceArgs{TenantRef: taruvi.TenantRef{Tenant: t.Schema}}, InsertOpts: &o}
		}
		inserted, err := client.InsertManyFast(ctx, params)
		if err != nil {
			return total, fmt.Errorf("fan out tenant maintenance: %w", err)
		}
		total += inserted
		tenants = tenants[n:]
	}
	return total, nil
}

// tenantMaintenanceWorker maintains one tenant.
type tenantMaintenanceWorker struct {
	river.WorkerDefaults[taruvi.TenantMaintenanceArgs]
	maintainer
}

func (w *tenantMaintenanceWorker) Work(ctx context.Context, job *river.Job[taruvi.TenantMaintenanceArgs]) error {
	res, err := w.store.MaintainTenant(ctx, time.Now().Add(-w.retention))
	if err != nil {
		return err
	}
	if res != (taruvi.MaintenanceCounts{}) {
		logCounts(ctx, w.log, "tenant maintenance", res, "tenant", job.Args.Tenant)
	}
	return nil
}

// logCounts logs what a maintenance pass removed.
func logCounts(ctx context.Context, log *slog.Logger, msg string, c taruvi.MaintenanceCounts, args ...any) {
	log.InfoContext(ctx, msg, append(args, "sessions", c.Sessions,
		"api_keys", c.APIKeys, "history", c.History, "blobs", c.Blobs)...)
}
