package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"taruvi"
)

// Reports are requested from a project's page (the projects module's
// form posts here); each has a page of its own
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
	Project *objectLink // nil when no longer visible, or no module shows projects
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
	// A report is of a project (taruvi.Report), whose page is a module's.
	p := &reportPage{Page: rq.page("Report "+strconv.FormatInt(rep.ID, 10), a.objects[taruvi.ObjectProject].Nav), R: rep}
	p.Project = a.objectLink(r, taruvi.ObjectProject, rep.ProjectID)
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

// objectLink is an object's name linked to its page.
type objectLink struct {
	Name string
	Href string
}

// objectLink links to the object of type objectType with id when a
// module has a page for it and the signed-in user may see it; else nil.
func (a *Admin) objectLink(r *http.Request, objectType string, id int64) *objectLink {
	o, ok := a.objects[objectType]
	if !ok {
		return nil
	}
	name, err := o.Name(r.Context(), id)
	if err != nil {
		return nil
	}
	return &objectLink{Name: name, Href: objectHref(o, strconv.FormatInt(id, 10))}
}

// objectHref is the page of the object of o with id.
func objectHref(o taruvi.AdminObject, id string) string {
	return strings.ReplaceAll(o.Href, "{id}", url.PathEscape(id))
}
