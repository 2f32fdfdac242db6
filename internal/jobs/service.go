package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"taruvi"
)

var (
	_ taruvi.JobService    = (*Client)(nil)
	_ taruvi.ReportService = (*Reports)(nil)
)

func jobNotFound() error { return taruvi.Errorf(taruvi.ENOTFOUND, "Job not found.") }

func toJob(row *rivertype.JobRow) *taruvi.Job {
	var meta jobMetadata
	_ = json.Unmarshal(row.Metadata, &meta)
	j := &taruvi.Job{ID: row.ID, Kind: row.Kind, Queue: row.Queue, State: string(row.State), Tenant: meta.Tenant,
		Attempt: row.Attempt, MaxAttempts: row.MaxAttempts, Errors: []taruvi.JobError{},
		CreatedAt: row.CreatedAt, ScheduledAt: row.ScheduledAt, AttemptedAt: row.AttemptedAt, FinalizedAt: row.FinalizedAt}
	for _, e := range row.Errors {
		j.Errors = append(j.Errors, taruvi.JobError{At: e.At, Attempt: e.Attempt, Error: e.Error})
	}
	return j
}

// FindJob implements taruvi.JobService.
func (c *Client) FindJob(ctx context.Context, id int64) (*taruvi.Job, error) {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	t := taruvi.TenantFromContext(ctx)
	if t == nil && !p.IsAdmin {
		return nil, taruvi.Errorf(taruvi.EFORBIDDEN, "You do not have permission to perform this action.")
	}
	row, err := c.river.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, jobNotFound()
	} else if err != nil {
		return nil, err
	}
	j := toJob(row)
	if t != nil {
		var meta jobMetadata
		_ = json.Unmarshal(row.Metadata, &meta)
		if !meta.ofTenant(t) || (!p.IsOwner && (meta.UserID == 0 || meta.UserID != p.UserID)) {
			return nil, jobNotFound()
		}
	}
	return j, nil
}

func requireAdmin(ctx context.Context) error {
	p := taruvi.PrincipalFromContext(ctx)
	switch {
	case p == nil:
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case taruvi.TenantFromContext(ctx) != nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "Job lists exist on the platform host only.")
	case !p.IsAdmin:
		return taruvi.Errorf(taruvi.EFORBIDDEN, "You do not have permission to perform this action.")
	}
	return nil
}

// ListJobs implements taruvi.JobService: newest first.
func (c *Client) ListJobs(ctx context.Context, f taruvi.JobFilter) ([]*taruvi.Job, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(min(limit, 100))
	if f.State != "" {
		params = params.States(rivertype.JobState(f.State))
	}
	if f.Kind != "" {
		params = params.Kinds(f.Kind)
	}
	if f.Queue != "" {
		params = params.Queues(f.Queue)
	}
	if f.Tenant != "" {
		b, _ := json.Marshal(jobMetadata{Tenant: f.Tenant})
		params = params.Metadata(string(b))
	}
	if f.AfterID > 0 {
		params = params.Where("id < @after_id", river.NamedArgs{"after_id": f.AfterID})
	}
	res, err := c.river.JobList(ctx, params)
	if err != nil {
		return nil, err
	}
	out := make([]*taruvi.Job, len(res.Jobs))
	for i, row := range res.Jobs {
		out[i] = toJob(row)
	}
	return out, nil
}

// RetryJob implements taruvi.JobService: the job runs again as soon as
// possible (a running job is left alone).
func (c *Client) RetryJob(ctx context.Context, id int64) (*taruvi.Job, error) {
	return adminAction(ctx, id, c.river.JobRetry)
}

// CancelJob implements taruvi.JobService: a job not yet finished is
// cancelled (a running one as soon as its worker hears of it).
func (c *Client) CancelJob(ctx context.Context, id int64) (*taruvi.Job, error) {
	return adminAction(ctx, id, c.river.JobCancel)
}

// adminAction runs a River job operation for a platform admin.
func adminAction(ctx context.Context, id int64, act func(context.Context, int64) (*rivertype.JobRow, error)) (*taruvi.Job, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	row, err := act(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, jobNotFound()
	} else if err != nil {
		return nil, err
	}
	return toJob(row), nil
}

// Reports implements taruvi.ReportService: the report rows of store with
// the state and errors of their jobs.
type Reports struct {
	Store ReportStore
	Jobs  *Client
}

func (s *Reports) withJob(ctx context.Context, r *taruvi.Report) (*taruvi.Report, error) {
	r.Errors = []string{}
	row, err := s.Jobs.river.JobGet(ctx, r.JobID)
	switch {
	case errors.Is(err, river.ErrNotFound):
		// Finished jobs are deleted after a day; the row still tells.
		r.State = taruvi.JobCompleted
		if !r.Ready {
			r.State = taruvi.JobDiscarded
		}
		return r, nil
	case err != nil:
		return nil, err
	}
	r.State = string(row.State)
	for _, e := range row.Errors {
		r.Errors = append(r.Errors, e.Error)
	}
	return r, nil
}

// CreateReport implements taruvi.ReportService.
func (s *Reports) CreateReport(ctx context.Context, projectID int64) (*taruvi.Report, error) {
	r, err := s.Store.CreateReport(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.withJob(ctx, r)
}

// FindReport implements taruvi.ReportService.
func (s *Reports) FindReport(ctx context.Context, id int64) (*taruvi.Report, error) {
	r, err := s.Store.FindReport(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.withJob(ctx, r)
}

// OpenReport implements taruvi.ReportService.
func (s *Reports) OpenReport(ctx context.Context, id int64) (io.ReadCloser, *taruvi.Report, error) {
	return s.Store.OpenReport(ctx, id)
}
