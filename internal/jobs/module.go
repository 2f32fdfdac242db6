package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"taruvi"
)

// This file runs the modules' jobs. Periodic jobs: the leading scheduler
// enqueues one module_periodic job per tick of each, whose worker fans a
// module_tenant_job out to every active tenant; the tenant middleware
// restores that tenant before the module's Run sees the context. A
// module's own job kinds: a tenant's write enqueues a module_job
// (taruvi.ModuleJobArgs), which the worker hands to the module's Work in
// the tenant the database stamped on it.

// modulePeriodicArgs is one tick of a module's periodic job.
type modulePeriodicArgs struct {
	Module string    `json:"module"`
	Job    string    `json:"job"`
	Tick   time.Time `json:"tick"`
}

// Kind implements river.JobArgs.
func (modulePeriodicArgs) Kind() string { return "module_periodic" }

// InsertOpts implements river.JobArgsWithInsertOpts: unique by its
// arguments, so that a tick is enqueued once even when leadership changes
// hands at that moment.
func (modulePeriodicArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: taruvi.QueueDefault, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// moduleTenantArgs runs one tick of a module's periodic job in one tenant.
type moduleTenantArgs struct {
	taruvi.TenantRef
	Module string `json:"module"`
	Job    string `json:"job"`
}

// Kind implements river.JobArgs.
func (moduleTenantArgs) Kind() string { return "module_tenant_job" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (moduleTenantArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: taruvi.QueueTenantTasks, MaxAttempts: 3}
}

var jobNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// modulePeriodic is every module's periodic jobs by module and job name.
type modulePeriodic map[string]map[string]taruvi.PeriodicJob

// newModulePeriodic indexes the periodic jobs of modules, refusing a
// nameless, unscheduled or repeated one.
func newModulePeriodic(modules []taruvi.Module) (modulePeriodic, error) {
	out := modulePeriodic{}
	for _, m := range modules {
		name := m.MigrationSet().Name
		for _, j := range m.Parts().PeriodicJobs {
			switch {
			case !jobNameRE.MatchString(j.Name) || j.Every <= 0 || j.Run == nil:
				return nil, fmt.Errorf("module %s: periodic job %q wants a lower-case name, an interval and a Run", name, j.Name)
			case out[name][j.Name].Run != nil:
				return nil, fmt.Errorf("module %s: periodic job %q is defined twice", name, j.Name)
			}
			if out[name] == nil {
				out[name] = map[string]taruvi.PeriodicJob{}
			}
			out[name][j.Name] = j
		}
	}
	return out, nil
}

// periodicJobs are the River periodic jobs of every module's job.
func (p modulePeriodic) periodicJobs() []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for module, byName := range p {
		for name, j := range byName {
			every := j.Every
			out = append(out, river.NewPeriodicJob(alignedSchedule{every}, func() (river.JobArgs, *river.InsertOpts) {
				return modulePeriodicArgs{Module: module, Job: name, Tick: time.Now().Round(every).UTC()}, nil
			}, &river.PeriodicJobOpts{ID: "module:" + module + ":" + name}))
		}
	}
	return out
}

// modulePeriodicWorker fans one tick out to every active tenant.
type modulePeriodicWorker struct {
	river.WorkerDefaults[modulePeriodicArgs]
	jobs  modulePeriodic
	store MaintenanceStore
}

// Work implements river.Worker.
func (w *modulePeriodicWorker) Work(ctx context.Context, job *river.Job[modulePeriodicArgs]) error {
	if w.jobs[job.Args.Module][job.Args.Job].Run == nil {
		return river.JobCancel(fmt.Errorf("no periodic job %s of module %s", job.Args.Job, job.Args.Module))
	}
	tenants, err := w.store.ActiveTenants(ctx)
	if err != nil {
		return err
	}
	client := river.ClientFromContext[pgx.Tx](ctx)
	const batch = 5000
	for len(tenants) > 0 {
		n := min(len(tenants), batch)
		params := make([]river.InsertManyParams, n)
		for i, t := range tenants[:n] {
			opts := moduleTenantArgs{}.InsertOpts()
			// The tenant's id, as a job enqueued in its scope records it:
			// a tenant created again under the same name does not run it.
			opts.Metadata, _ = json.Marshal(jobMetadata{Tenant: t.Schema, TenantID: t.ID})
			params[i] = river.InsertManyParams{InsertOpts: &opts,
				Args: moduleTenantArgs{TenantRef: taruvi.TenantRef{Tenant: t.Schema}, Module: job.Args.Module, Job: job.Args.Job}}
		}
		if _, err := client.InsertManyFast(ctx, params); err != nil {
			return fmt.Errorf("fan out %s.%s: %w", job.Args.Module, job.Args.Job, err)
		}
		tenants = tenants[n:]
	}
	return nil
}

// moduleTenantWorker runs a module's periodic job in the tenant the
// middleware put in the context.
type moduleTenantWorker struct {
	river.WorkerDefaults[moduleTenantArgs]
	jobs modulePeriodic
}

// Work implements river.Worker.
func (w *moduleTenantWorker) Work(ctx context.Context, job *river.Job[moduleTenantArgs]) error {
	j := w.jobs[job.Args.Module][job.Args.Job]
	if j.Run == nil {
		return river.JobCancel(fmt.Errorf("no periodic job %s of module %s", job.Args.Job, job.Args.Module))
	}
	if t := taruvi.TenantFromContext(ctx); t == nil || t.Schema != job.Args.Tenant {
		return river.JobCancel(fmt.Errorf("periodic job %s.%s: no tenant scope", job.Args.Module, job.Args.Job))
	}
	return j.Run(ctx)
}

// moduleJobs is every module's own job kinds (taruvi.ModuleJob) by module
// and job name, worked as module_job (taruvi.ModuleJobArgs).
type moduleJobs map[string]map[string]taruvi.ModuleJob

// newModuleJobs indexes the job kinds of modules, refusing a nameless,
// workless or repeated one.
func newModuleJobs(modules []taruvi.Module) (moduleJobs, error) {
	out := moduleJobs{}
	for _, m := range modules {
		name := m.MigrationSet().Name
		for _, j := range m.Parts().Jobs {
			switch {
			case !jobNameRE.MatchString(j.Name) || j.Work == nil:
				return nil, fmt.Errorf("module %s: job %q wants a lower-case name and a Work", name, j.Name)
			case out[name][j.Name].Work != nil:
				return nil, fmt.Errorf("module %s: job %q is defined twice", name, j.Name)
			}
			if out[name] == nil {
				out[name] = map[string]taruvi.ModuleJob{}
			}
			out[name][j.Name] = j
		}
	}
	return out, nil
}

// moduleJobWorker runs a module's job in the tenant the middleware put in
// the context: the one the enqueue function stamped into its arguments.
type moduleJobWorker struct {
	river.WorkerDefaults[taruvi.ModuleJobArgs]
	jobs moduleJobs
}

// Work implements river.Worker. A job of no module's kind, or without a
// tenant, is cancelled: no retry would find it a worker or a scope.
func (w *moduleJobWorker) Work(ctx context.Context, job *river.Job[taruvi.ModuleJobArgs]) error {
	j := w.jobs[job.Args.Module][job.Args.Job]
	if j.Work == nil {
		return river.JobCancel(fmt.Errorf("no job %s of module %s", job.Args.Job, job.Args.Module))
	}
	if t := taruvi.TenantFromContext(ctx); t == nil || job.Args.Tenant == "" || t.Schema != job.Args.Tenant {
		return river.JobCancel(fmt.Errorf("job %s.%s: no tenant scope", job.Args.Module, job.Args.Job))
	}
	return j.Work(ctx, job.Args.Payload)
}
