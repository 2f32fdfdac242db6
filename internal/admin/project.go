package admin

import (
	"math"
	"net/http"
	"strconv"

	"taruvi"
)

// tenantHomePage is a tenant's start page.
type tenantHomePage struct {
	Page
	Projects int
	Tasks    []count
}

func (a *Admin) handleTenantHome(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	one := taruvi.ListQuery{Page: 1, PageSize: 1}
	_, projects, err := a.Projects.ListProjects(ctx, one)
	if err != nil {
		return err
	}
	p := &tenantHomePage{Page: rq.page("Home", "home"), Projects: projects}
	for _, s := range taruvi.TaskStatuses {
		q := one
		q.Filters = []taruvi.Filter{{Field: "status", Op: taruvi.OpEq, Value: s}}
		_, n, err := a.Tasks.ListTasks(ctx, q)
		if err != nil {
			return err
		}
		p.Tasks = append(p.Tasks, count{s, n})
	}
	a.render(w, r, http.StatusOK, "home", p)
	return nil
}

// projectsPage is the paged, sortable, searchable list of visible
// projects with the form that creates one.
type projectsPage struct {
	Page
	Projects []*taruvi.Project
	List     listView
	Status   string
	Statuses []string
	Form     form
}

func (a *Admin) handleProjectList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showProjects(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showProjects(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	q, view, err := parseList(r, taruvi.ProjectListSpec, "status")
	if err != nil {
		return err
	}
	projects, total, err := a.Projects.ListProjects(r.Context(), q)
	if err != nil {
		return err
	}
	a.render(w, r, status, "projects", &projectsPage{Page: rq.page("Projects", "projects"), Projects: projects,
		List: view.withTotal(total, q.PageSize), Status: view.Query.Get("status"), Statuses: taruvi.ProjectStatuses, Form: f})
	return nil
}

func (a *Admin) handleProjectCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "name", "description")
	p, err := a.Projects.CreateProject(r.Context(), taruvi.ProjectCreate{Name: f.Get("name"), Description: f.Get("description")})
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return a.showProjects(w, r, rq, http.StatusBadRequest, f)
	}
	return a.redirect(w, r, "/admin/projects/"+strconv.FormatInt(p.ID, 10)+"/", "Project "+p.Name+" created.")
}

// projectPage shows one project with its tasks, files and the forms that
// add them.
type projectPage struct {
	Page
	P        *taruvi.Project
	Tasks    []*taruvi.Task
	Files    []*taruvi.File
	Names    map[int64]string
	TaskForm form
}

func (a *Admin) handleProjectGet(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showProject(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showProject(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	id, err := pathID(r, "id")
	if err != nil {
		if id, err = formInt(r, "project_id"); err != nil || id == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "Project not found.")
		}
	}
	ctx := r.Context()
	p, err := a.Projects.FindProjectByID(ctx, id)
	if err != nil {
		return err
	}
	byProject := taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize,
		Filters: []taruvi.Filter{{Field: "project_id", Op: taruvi.OpEq, Value: id}}}
	tasks, _, err := a.Tasks.ListTasks(ctx, byProject)
	if err != nil {
		return err
	}
	files, _, err := a.Files.ListFiles(ctx, byProject)
	if err != nil {
		return err
	}
	page := &projectPage{Page: rq.page(p.Name, "projects"), P: p, Tasks: tasks, Files: files, Names: a.userNames(r), TaskForm: f}
	a.render(w, r, status, "project", page)
	return nil
}

// userNames maps user ids to emails when the viewer may list users.
func (a *Admin) userNames(r *http.Request) map[int64]string {
	_, names := a.listUsers(r)
	return names
}

// everyone is a list query for all users of the scope in one page.
var everyone = taruvi.ListQuery{Page: 1, PageSize: math.MaxInt32}

// listUsers returns the scope's users and their emails by id, or nothing
// when the viewer may not list users: pickers and names then stay empty.
func (a *Admin) listUsers(r *http.Request) ([]*taruvi.User, map[int64]string) {
	names := map[int64]string{}
	users, _, err := a.Users.ListUsers(r.Context(), everyone)
	if err != nil {
		return nil, names
	}
	for _, u := range users {
		names[u.ID] = u.Email
	}
	return users, names
}
