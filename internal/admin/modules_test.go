package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

// TestModulePages walks the pages the projects, tasks and files modules
// add to the shell, and what they add to each other's and to the shell's
// pages: the home page's counts, a project's page with the tasks and
// files panels, the task form shown again with its error, a report's and
// a history's links to the project; tenant B sees none of A's.
func TestModulePages(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	owner, pw := s.newUser(t, a, true)
	c := s.client(t)
	s.signIn(t, c, a.Schema, owner, pw)
	_, page, _ := get(t, c, s.url(a.Schema, "/admin/projects/"))
	csrf := csrfOf(t, page)
	status, _, h := post(t, c, s.url(a.Schema, "/admin/projects/"), url.Values{"csrf": {csrf}, "name": {"Apollo"}})
	projectURL := h.Get("Location")
	projectID := strings.Trim(strings.TrimPrefix(projectURL, "/admin/projects/"), "/")
	if status != http.StatusSeeOther || projectID == "" {
		t.Fatalf("create project: %d %q", status, projectURL)
	}
	for _, title := range []string{"Countdown", "Liftoff"} {
		if status, _, _ := post(t, c, s.url(a.Schema, "/admin/tasks/"), url.Values{"csrf": {csrf}, "project_id": {projectID},
			"title": {title}}); status != http.StatusSeeOther {
			t.Fatalf("add task %s: %d", title, status)
		}
	}

	status, page, _ = get(t, c, s.url(a.Schema, "/admin/"))
	for _, want := range []string{`<b>1</b><a href="/admin/projects/">projects</a>`, `<b>2</b><a href="/admin/tasks/?status=todo">tasks todo</a>`,
		`<b>0</b><a href="/admin/tasks/?status=in_progress">tasks in progress</a>`,
		`<a href="/admin/projects/">Projects</a>`, `<a href="/admin/tasks/board/">Board</a>`, `<a href="/admin/tasks/">Tasks</a>`,
		`<a href="/admin/files/">Files</a>`} {
		if status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("home page: %d, want %s\n%s", status, want, page)
		}
	}
	status, page, _ = get(t, c, s.url(a.Schema, projectURL))
	tasks, files, report := strings.Index(page, `id="project-tasks"`), strings.Index(page, `id="project-files"`), strings.Index(page, `id="report-form"`)
	if status != http.StatusOK || tasks < 0 || files < tasks || report < files || !strings.Contains(page, "<td>Liftoff</td>") ||
		!strings.Contains(page, `id="task-form"`) || !strings.Contains(page, "No files.") || !strings.Contains(page, `class="on">Projects</a>`) {
		t.Errorf("project page: %d, want its tasks, then its files, then the report form\n%s", status, page)
	}
	status, page, _ = post(t, c, s.url(a.Schema, "/admin/tasks/"), url.Values{"csrf": {csrf}, "project_id": {projectID}, "title": {""}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="task-form"`) || !strings.Contains(page, `class="err"`) ||
		!strings.Contains(page, "<td>Liftoff</td>") || !strings.Contains(page, `href="`+projectURL+`"`) {
		t.Errorf("task without a title: %d, want the form again with its error\n%s", status, page)
	}
	if status, _, _ := post(t, c, s.url(a.Schema, "/admin/tasks/"), url.Values{"csrf": {csrf}, "project_id": {"999999"}, "title": {""}}); status != http.StatusNotFound {
		t.Errorf("task form of no project shown again: %d, want 404", status)
	}
	status, page, _ = get(t, c, s.url(a.Schema, "/admin/history/project/"+projectID+"/"))
	if status != http.StatusOK || !strings.Contains(page, `<a href="`+projectURL+`">Back</a>`) {
		t.Errorf("project history: %d, want a link back to the project\n%s", status, page)
	}
	_, _, h = post(t, c, s.url(a.Schema, "/admin/reports/"), url.Values{"csrf": {csrf}, "project_id": {projectID}})
	status, page, _ = get(t, c, s.url(a.Schema, h.Get("Location")))
	if status != http.StatusOK || !strings.Contains(page, `Project <a href="`+projectURL+`">Apollo</a>`) || !strings.Contains(page, `class="on">Projects</a>`) {
		t.Errorf("report page: %d, want a link to its project\n%s", status, page)
	}

	ownerB, pwB := s.newUser(t, b, true)
	cb := s.client(t)
	s.signIn(t, cb, b.Schema, ownerB, pwB)
	status, page, _ = get(t, cb, s.url(b.Schema, "/admin/"))
	if status != http.StatusOK || !strings.Contains(page, `<b>0</b><a href="/admin/projects/">projects</a>`) ||
		!strings.Contains(page, `<b>0</b><a href="/admin/tasks/?status=todo">tasks todo</a>`) {
		t.Errorf("B's home page counts A's: %d\n%s", status, page)
	}
	if status, page, _ := get(t, cb, s.url(b.Schema, projectURL)); status != http.StatusNotFound || strings.Contains(page, "Apollo") || strings.Contains(page, "Liftoff") {
		t.Errorf("A's project page on B: %d, want 404", status)
	}
	_, page, _ = get(t, cb, s.url(b.Schema, "/admin/projects/"))
	if status, page, _ := post(t, cb, s.url(b.Schema, "/admin/tasks/"), url.Values{"csrf": {csrfOf(t, page)}, "project_id": {projectID},
		"title": {"Intruder"}}); status < 400 || strings.Contains(page, "Apollo") {
		t.Errorf("B adds a task to A's project: %d, want a 4xx that names nothing of A's", status)
	}
	if status, page, _ := post(t, cb, s.url(b.Schema, "/admin/tasks/"), url.Values{"csrf": {csrfOf(t, page)}, "project_id": {projectID},
		"title": {""}}); status != http.StatusNotFound || strings.Contains(page, "Apollo") || strings.Contains(page, "Liftoff") {
		t.Errorf("B's task form shown again with A's project: %d, want 404\n%s", status, page)
	}
}
