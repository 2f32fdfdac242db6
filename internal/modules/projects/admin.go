package projects

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"strconv"

	"taruvi"
	"taruvi/internal/admin"
)

// The module's tenant admin pages: the list of projects with the form
// that creates one, and a project's page. The project's page shows the
// panels other modules add to the slot ProjectPanels (its tasks, its
// files) without knowing them.

// ProjectPanels is the slot of a project's admin page: a module's
// taruvi.AdminPanel with this slot is rendered there, for the project's
// id, after the project's description.
const ProjectPanels = "projects/project"

//go:embed templates
var templateFiles embed.FS

// adminPages are the module's tenant admin pages.
func (m *Module) adminPages() []taruvi.AdminPage {
	return []taruvi.AdminPage{
		{Pattern: "GET /admin/projects", Handler: m.handleAdminProjectList},
		{Pattern: "POST /admin/projects", Handler: m.handleAdminProjectCreate},
		{Pattern: "GET /admin/projects/{id}", Handler: m.handleAdminProjectGet},
	}
}

// adminCards counts the projects the signed-in user sees, for the home
// page.
func (m *Module) adminCards(ctx context.Context) ([]taruvi.AdminCard, error) {
	_, n, err := m.projects.ListProjects(ctx, taruvi.ListQuery{Page: 1, PageSize: 1})
	if err != nil {
		return nil, err
	}
	return []taruvi.AdminCard{{N: n, Label: "projects", Href: "/admin/projects/"}}, nil
}

// projectName names a project the signed-in user sees, for the shell's
// links to it (a report's page).
func (m *Module) projectName(ctx context.Context, id int64) (string, error) {
	p, err := m.projects.FindProjectByID(ctx, id)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// projectsPage is the paged, sortable, searchable list of visible
// projects with the form that creates one.
type projectsPage struct {
	admin.Page
	Projects []*taruvi.Project
	List     admin.ListView
	Status   string
	Statuses []string
	Form     admin.Form
}

func (m *Module) handleAdminProjectList(w http.ResponseWriter, r *http.Request) error {
	return m.showProjects(w, r, http.StatusOK, admin.Form{})
}

func (m *Module) showProjects(w http.ResponseWriter, r *http.Request, status int, f admin.Form) error {
	q, view, err := admin.ParseList(r, taruvi.ProjectListSpec, "status")
	if err != nil {
		return err
	}
	projects, total, err := m.projects.ListProjects(r.Context(), q)
	if err != nil {
		return err
	}
	return admin.Render(w, r, status, "projects/projects", &projectsPage{Page: admin.PageFor(r, "Projects", "projects"), Projects: projects,
		List: view.WithTotal(total, q.PageSize), Status: view.Query.Get("status"), Statuses: taruvi.ProjectStatuses, Form: f})
}

func (m *Module) handleAdminProjectCreate(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, "name", "description")
	p, err := m.projects.CreateProject(r.Context(), taruvi.ProjectCreate{Name: f.Get("name"), Description: f.Get("description")})
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return m.showProjects(w, r, http.StatusBadRequest, f)
	}
	return admin.Redirect(w, r, "/admin/projects/"+strconv.FormatInt(p.ID, 10)+"/", "Project "+p.Name+" created.")
}

// projectPage shows one project, the panels of other modules for it
// and the form that requests its report.
type projectPage struct {
	admin.Page
	P      *taruvi.Project
	Panels []template.HTML
}

func (m *Module) handleAdminProjectGet(w http.ResponseWriter, r *http.Request) error {
	id, err := admin.PathID(r, "id")
	if err != nil {
		return err
	}
	p, err := m.projects.FindProjectByID(r.Context(), id)
	if err != nil {
		return err
	}
	panels, err := admin.Panels(r, ProjectPanels, id)
	if err != nil {
		return err
	}
	return admin.Render(w, r, http.StatusOK, "projects/project", &projectPage{Page: admin.PageFor(r, p.Name, "projects"), P: p, Panels: panels})
}
