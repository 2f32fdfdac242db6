package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"taruvi"
	"taruvi/internal/web"
)

var jobStates = []string{taruvi.JobAvailable, taruvi.JobScheduled, taruvi.JobRunning, taruvi.JobRetryable,
	taruvi.JobCompleted, taruvi.JobCancelled, taruvi.JobDiscarded, taruvi.JobPending}

// parseJobFilter reads the query of GET /api/jobs/; an unknown parameter
// or a bad value is a 400 that names it.
func parseJobFilter(r *http.Request) (taruvi.JobFilter, error) {
	var f taruvi.JobFilter
	bad := func(name, why string) error {
		return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "Invalid query parameter.", Fields: map[string]string{name: why}}
	}
	for name, values := range r.URL.Query() {
		v := values[len(values)-1]
		switch name {
		case "state":
			if !slices.Contains(jobStates, v) {
				return f, bad(name, "Unknown state.")
			}
			f.State = v
		case "kind":
			f.Kind = v
		case "queue":
			f.Queue = v
		case "tenant":
			if err := taruvi.ValidateSchemaName(v); err != nil {
				return f, bad(name, "Not a tenant schema name.")
			}
			f.Tenant = v
		case "limit", "after_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || (name == "limit" && n > 100) {
				return f, bad(name, "Want a positive whole number (limit: at most 100).")
			}
			if name == "limit" {
				f.Limit = int(n)
			} else {
				f.AfterID = n
			}
		default:
			return f, bad(name, "Unknown parameter.")
		}
	}
	return f, nil
}

func (a *API) handleJobList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseJobFilter(r)
	if err != nil {
		return err
	}
	jobs, err := a.Jobs.ListJobs(r.Context(), f)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Jobs, newest first.", nonNil(jobs))
}

func (a *API) handleJobGet(w http.ResponseWriter, r *http.Request) error {
	return a.jobAction(w, r, "Job.", a.Jobs.FindJob)
}

func (a *API) handleJobRetry(w http.ResponseWriter, r *http.Request) error {
	return a.jobAction(w, r, "Job queued to run again.", a.Jobs.RetryJob)
}

func (a *API) handleJobCancel(w http.ResponseWriter, r *http.Request) error {
	return a.jobAction(w, r, "Job cancelled.", a.Jobs.CancelJob)
}

func (a *API) jobAction(w http.ResponseWriter, r *http.Request, message string,
	act func(ctx context.Context, id int64) (*taruvi.Job, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	job, err := act(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, message, job)
}

// reportCreateRequest is the body of POST /api/reports/.
type reportCreateRequest struct {
	ProjectID int64 `json:"project_id"`
}

func (a *API) handleReportCreate(w http.ResponseWriter, r *http.Request) error {
	var in reportCreateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rep, err := a.Reports.CreateReport(r.Context(), in.ProjectID)
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, "Report requested.", rep)
}

func (a *API) handleReportGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := a.Reports.FindReport(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Report.", rep)
}

func (a *API) handleReportDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rc, rep, err := a.Reports.OpenReport(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	if rep.Size != nil {
		h.Set("Content-Length", strconv.FormatInt(*rep.Size, 10))
	}
	h.Set("Content-Disposition", attachment("report-"+strconv.FormatInt(rep.ID, 10)+".csv"))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	if n, err := io.Copy(w, rc); err != nil {
		a.Log.WarnContext(r.Context(), "report download cut short", "request_id", taruvi.RequestIDFromContext(r.Context()),
			"report_id", id, "sent", n, "error", err)
	}
	return nil
}

func (a *API) handleOutboxList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.OutboxListSpec)
	if err != nil {
		return err
	}
	emails, total, err := a.Outbox.ListOutbox(r.Context(), q)
	if err != nil {
		return err
	}
	return list(w, "Outbox.", emails, total, q)
}

// RegisterJobsUI mounts River UI (ui, serving under /admin/river/) on the
// platform host, for platform admins only: 404 on a tenant host, 401
// without a credential, 403 for anyone else. A request without a bearer
// credential is asked of session (when not nil), which returns the
// principal of the request's admin UI session or nil; a state-changing
// request authenticated that way must come from this origin. It is not
// part of the API document.
func (a *API) RegisterJobsUI(s *web.Server, ui http.Handler, session func(*http.Request) *taruvi.Principal) {
	h := func(w http.ResponseWriter, r *http.Request) error {
		if taruvi.TenantFromContext(r.Context()) != nil {
			return taruvi.Errorf(taruvi.ENOTFOUND, "No route for %s.", r.URL.Path)
		}
		p := taruvi.PrincipalFromContext(r.Context())
		if p == nil && session != nil {
			if p = session(r); p != nil {
				if !sameOrigin(r) {
					return taruvi.Errorf(taruvi.EFORBIDDEN, "The request did not come from this site.")
				}
				r = r.WithContext(taruvi.NewContextWithPrincipal(r.Context(), p))
			}
		}
		switch {
		case p == nil:
			return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
		case !p.IsAdmin:
			return taruvi.Errorf(taruvi.EFORBIDDEN, "You do not have permission to perform this action.")
		}
		if r.URL.Path == jobsUIPath {
			r.URL.Path = jobsUIPath + "/" // the server drops trailing slashes; the UI's index wants one
		}
		ui.ServeHTTP(w, r)
		return nil
	}
	s.Handle(jobsUIPath, h)
	s.Handle(jobsUIPath+"/{path...}", h)
}

// sameOrigin reports whether a request authenticated by a cookie may act:
// reads always, anything else only with an Origin of this host (browsers
// send one on every cross-origin and every non-GET fetch).
func sameOrigin(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	u, err := url.Parse(r.Header.Get("Origin"))
	return err == nil && u.Host != "" && u.Host == r.Host
}

// jobsUIPath is where RegisterJobsUI mounts River UI.
const jobsUIPath = "/admin/river"
