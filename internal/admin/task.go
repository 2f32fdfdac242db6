package admin

import (
	"net/http"
	"strconv"

	"taruvi"
)

// tasksPage is the filtered list of tasks.
type tasksPage struct {
	Page
	Tasks    []*taruvi.Task
	List     listView
	Projects []*taruvi.Project
	Names    map[int64]string
	Statuses []string
}

func (a *Admin) handleTaskList(w http.ResponseWriter, r *http.Request, rq *request) error {
	q, view, err := parseList(r, taruvi.TaskListSpec, "project_id", "status", "assignee_id", "priority")
	if err != nil {
		return err
	}
	tasks, total, err := a.Tasks.ListTasks(r.Context(), q)
	if err != nil {
		return err
	}
	projects, err := a.projectChoices(r)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "tasks", &tasksPage{Page: rq.page("Tasks", "tasks"), Tasks: tasks, List: view.withTotal(total, q.PageSize),
		Projects: projects, Names: a.userNames(r), Statuses: taruvi.TaskStatuses})
	return nil
}

// projectChoices is the first page of visible projects, newest first, for
// the pickers of the task and file pages.
func (a *Admin) projectChoices(r *http.Request) ([]*taruvi.Project, error) {
	projects, _, err := a.Projects.ListProjects(r.Context(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize})
	return projects, err
}

// boardPage shows tasks in one column per status; each card moves with a
// form post (htmx swaps the board in place when scripts run).
type boardPage struct {
	Page
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

func (a *Admin) handleTaskBoard(w http.ResponseWriter, r *http.Request, rq *request) error {
	q, view, err := parseList(r, taruvi.TaskListSpec, "project_id")
	if err != nil {
		return err
	}
	p := &boardPage{Page: rq.page("Board", "board"), Back: view.URL("", "")}
	p.Project, _ = strconv.ParseInt(view.Query.Get("project_id"), 10, 64)
	board, err := a.Tasks.TaskBoard(r.Context(), taruvi.ListQuery{Filters: q.Filters}, taruvi.MaxPageSize)
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
	if p.Projects, err = a.projectChoices(r); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "board", p)
	return nil
}

func (a *Admin) handleTaskCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "title", "project_id", "status", "due_date")
	projectID, err := formInt(r, "project_id")
	if err != nil {
		return err
	}
	in := taruvi.TaskCreate{ProjectID: projectID, Title: f.Get("title"), Status: f.Get("status")}
	if d := f.Get("due_date"); d != "" {
		in.DueDate = &d
	}
	t, err := a.Tasks.CreateTask(r.Context(), in)
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return a.showProject(w, r, rq, http.StatusBadRequest, f)
	}
	return a.redirect(w, r, "/admin/projects/"+strconv.FormatInt(projectID, 10)+"/", "Task "+t.Title+" added.")
}

func (a *Admin) handleTaskMove(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	t, err := a.Tasks.UpdateTask(r.Context(), id, taruvi.TaskUpdate{Status: &status})
	if err != nil {
		return err
	}
	back := r.PostFormValue("back")
	if safeNext(back) != back {
		back = "/admin/tasks/board/"
	}
	return a.redirect(w, r, back, "Task "+t.Title+" moved to "+status+".")
}
