package tasks

import (
	"context"
	"embed"
	"io"
	"net/http"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/admin"
)

// The module's tenant admin pages: the filtered list of tasks, the board,
// the task form's post and a card's move; a panel on a project's page
// (its tasks and the form that adds one) and the home page's counts by
// status.

// projectPanels is the slot of the projects module's project page
// (projects.ProjectPanels); a module names a slot, never imports another
// module.
const projectPanels = "projects/project"

//go:embed templates
var templateFiles embed.FS

// adminPages are the module's tenant admin pages.
func (m *Module) adminPages() []taruvi.AdminPage {
	return []taruvi.AdminPage{
		{Pattern: "GET /admin/tasks", Handler: m.handleAdminTaskList},
		{Pattern: "GET /admin/tasks/board", Handler: m.handleAdminBoard},
		{Pattern: "POST /admin/tasks", Handler: m.handleAdminTaskCreate},
		{Pattern: "POST /admin/tasks/{id}/move", Handler: m.handleAdminTaskMove},
	}
}

// adminCards counts the visible tasks of each status, for the home page.
func (m *Module) adminCards(ctx context.Context) ([]taruvi.AdminCard, error) {
	var out []taruvi.AdminCard
	for _, s := range taruvi.TaskStatuses {
		q := taruvi.ListQuery{Page: 1, PageSize: 1, Filters: []taruvi.Filter{{Field: "status", Op: taruvi.OpEq, Value: s}}}
		_, n, err := m.tasks.ListTasks(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, taruvi.AdminCard{N: n, Label: "tasks " + strings.ReplaceAll(s, "_", " "), Href: "/admin/tasks/?status=" + s})
	}
	return out, nil
}

// projectPanel is the tasks of one project on its page, with the form
// that adds one.
type projectPanel struct {
	ProjectID int64
	Tasks     []*taruvi.Task
	CSRF      string
	Form      admin.Form
}

// renderProjectPanel is the module's panel on a project's page.
func (m *Module) renderProjectPanel(w io.Writer, r *http.Request, projectID int64) error {
	panel, err := m.projectPanel(r, projectID, admin.Form{})
	if err != nil {
		return err
	}
	return admin.RenderPanel(w, r, "tasks/project_tasks", panel)
}

// projectPanel reads the tasks of the project's panel, whose form shows f.
func (m *Module) projectPanel(r *http.Request, projectID int64, f admin.Form) (*projectPanel, error) {
	tasks, _, err := m.tasks.ListTasks(r.Context(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize,
		Filters: []taruvi.Filter{{Field: "project_id", Op: taruvi.OpEq, Value: projectID}}})
	if err != nil {
		return nil, err
	}
	return &projectPanel{ProjectID: projectID, Tasks: tasks, CSRF: admin.PageFor(r, "", "").CSRF, Form: f}, nil
}

// tasksPage is the filtered list of tasks.
type tasksPage struct {
	admin.Page
	Tasks    []*taruvi.Task
	List     admin.ListView
	Projects []*taruvi.Project
	Names    map[int64]string
	Statuses []string
}

func (m *Module) handleAdminTaskList(w http.ResponseWriter, r *http.Request) error {
	q, view, err := admin.ParseList(r, taruvi.TaskListSpec, "project_id", "status", "assignee_id", "priority")
	if err != nil {
		return err
	}
	tasks, total, err := m.tasks.ListTasks(r.Context(), q)
	if err != nil {
		return err
	}
	projects, err := m.projectChoices(r)
	if err != nil {
		return err
	}
	return admin.Render(w, r, http.StatusOK, "tasks/tasks", &tasksPage{Page: admin.PageFor(r, "Tasks", "tasks"), Tasks: tasks,
		List: view.WithTotal(total, q.PageSize), Projects: projects, Names: admin.UserNames(r), Statuses: taruvi.TaskStatuses})
}

// projectChoices is the first page of visible projects, newest first, for
// the pickers of the list and the board.
func (m *Module) projectChoices(r *http.Request) ([]*taruvi.Project, error) {
	projects, _, err := m.projects.ListProjects(r.Context(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize})
	return projects, err
}

// boardPage shows tasks in one column per status; each card moves with a
// form post (htmx swaps the board in place when scripts run).
type boardPage struct {
	admin.Page
	Columns  []column
	Projects []*taruvi.Project
	Project  int64
	Back     string
}

type column struct {
	Status string
	Tasks  []*taruvi.Task
	Total  int
	Prev   string // the status a card moves back to
	Next   string
}

func (m *Module) handleAdminBoard(w http.ResponseWriter, r *http.Request) error {
	q, view, err := admin.ParseList(r, taruvi.TaskListSpec, "project_id")
	if err != nil {
		return err
	}
	p := &boardPage{Page: admin.PageFor(r, "Board", "board"), Back: view.URL("", "")}
	p.Project, _ = strconv.ParseInt(view.Query.Get("project_id"), 10, 64)
	board, err := m.tasks.TaskBoard(r.Context(), taruvi.ListQuery{Filters: q.Filters}, taruvi.MaxPageSize)
	if err != nil {
		return err
	}
	for i, bc := range board {
		c := column{Status: bc.Status, Tasks: bc.Tasks, Total: bc.Total}
		if i > 0 {
			c.Prev = taruvi.TaskStatuses[i-1]
		}
		if i < len(taruvi.TaskStatuses)-1 {
			c.Next = taruvi.TaskStatuses[i+1]
		}
		p.Columns = append(p.Columns, c)
	}
	if p.Projects, err = m.projectChoices(r); err != nil {
		return err
	}
	return admin.Render(w, r, http.StatusOK, "tasks/board", p)
}

// taskFormPage shows the panel of a project's page again, its form with
// what is wrong in it, on a page of its own: the project's page is
// another module's.
type taskFormPage struct {
	admin.Page
	P     *taruvi.Project
	Panel *projectPanel
}

func (m *Module) handleAdminTaskCreate(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, "title", "project_id", "status", "due_date")
	projectID, err := admin.FormInt(r, "project_id")
	if err != nil {
		return err
	}
	in := taruvi.TaskCreate{ProjectID: projectID, Title: f.Get("title"), Status: f.Get("status")}
	if d := f.Get("due_date"); d != "" {
		in.DueDate = &d
	}
	t, err := m.tasks.CreateTask(r.Context(), in)
	if err == nil {
		return admin.Redirect(w, r, "/admin/projects/"+strconv.FormatInt(projectID, 10)+"/", "Task "+t.Title+" added.")
	}
	if !f.Fail(err) {
		return err
	}
	if projectID == 0 {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Project not found.")
	}
	p, err := m.projects.FindProjectByID(r.Context(), projectID)
	if err != nil {
		return err
	}
	panel, err := m.projectPanel(r, projectID, f)
	if err != nil {
		return err
	}
	return admin.Render(w, r, http.StatusBadRequest, "tasks/project_tasks", &taskFormPage{
		Page: admin.PageFor(r, "New task in "+p.Name, "projects"), P: p, Panel: panel})
}

func (m *Module) handleAdminTaskMove(w http.ResponseWriter, r *http.Request) error {
	id, err := admin.PathID(r, "id")
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	t, err := m.tasks.UpdateTask(r.Context(), id, taruvi.TaskUpdate{Status: &status})
	if err != nil {
		return err
	}
	back := r.PostFormValue("back")
	if admin.LocalNext(back) != back {
		back = "/admin/tasks/board/"
	}
	return admin.Redirect(w, r, back, "Task "+t.Title+" moved to "+status+".")
}
