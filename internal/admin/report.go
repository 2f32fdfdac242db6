package admin

import (
	"net/http"
	"strconv"

	"taruvi"
)

// Reports are requested from a project's page; each has a page of its own
// that shows the job's state and, once done, the download. The report
// service shows a report to its requester and the tenant's owners only.

func (a *Admin) handleReportCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	projectID, err := formInt(r, "project_id")
	if err != nil {
		return err
	}
	rep, err := a.Reports.CreateReport(r.Context(), projectID)
	if err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/reports/"+strconv.FormatInt(rep.ID, 10)+"/", "Report requested.")
}

// reportPage is one report: its state, errors and download link.
type reportPage struct {
	Page
	R       *taruvi.Report
	Project *taruvi.Project // nil when no longer visible
}

func (a *Admin) handleReportGet(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := a.Reports.FindReport(r.Context(), id)
	if err != nil {
		return err
	}
	p := &reportPage{Page: rq.page("Report "+strconv.FormatInt(rep.ID, 10), "projects"), R: rep}
	p.Project, _ = a.Projects.FindProjectByID(r.Context(), rep.ProjectID)
	a.render(w, r, http.StatusOK, "report", p)
	return nil
}

func (a *Admin) handleReportDownload(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	body, rep, err := a.Reports.OpenReport(r.Context(), id)
	if err != nil {
		return err
	}
	sendAttachment(w, body, "text/csv; charset=utf-8", rep.Size, "report-"+strconv.FormatInt(rep.ID, 10)+".csv")
	return nil
}
