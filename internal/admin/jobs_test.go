package admin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// TestOutboxPage: a tenant's owners see its outbox, newest first and
// paged; another tenant's owner sees none of it, a member is refused.
func TestOutboxPage(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	ctxA := taruvi.NewContextWithTenant(context.Background(), a)
	for i := range taruvi.DefaultPageSize + 2 {
		e := &taruvi.Email{To: fmt.Sprintf("to%02d@a.test", i), Subject: fmt.Sprintf("secret-of-A %02d", i)}
		if err := s.outbox.SaveEmail(ctxA, e); err != nil {
			t.Fatal(err)
		}
	}
	ownerA, pwA := s.newUser(t, a, true)
	c := s.client(t)
	s.signIn(t, c, a.Schema, ownerA, pwA)
	last := fmt.Sprintf("secret-of-A %02d", taruvi.DefaultPageSize+1)
	status, page, _ := get(t, c, s.url(a.Schema, "/admin/outbox/"))
	if status != http.StatusOK || !strings.Contains(page, last) || strings.Contains(page, "secret-of-A 00") ||
		!strings.Contains(page, `href="/admin/outbox/"`) || !strings.Contains(page, `rel="next"`) {
		t.Fatalf("owner's outbox: %d, want the newest page with a link to the next\n%s", status, page)
	}
	before := fmt.Sprintf("secret-of-A %02d", taruvi.DefaultPageSize)
	if i, j := strings.Index(page, last), strings.Index(page, before); j < 0 || i > j {
		t.Errorf("outbox not newest first")
	}
	if status, page, _ := get(t, c, s.url(a.Schema, "/admin/outbox/?page=2")); status != http.StatusOK || !strings.Contains(page, "secret-of-A 00") {
		t.Errorf("page 2: %d, want the oldest email", status)
	}

	ownerB, pwB := s.newUser(t, b, true)
	cb := s.client(t)
	s.signIn(t, cb, b.Schema, ownerB, pwB)
	if status, page, _ := get(t, cb, s.url(b.Schema, "/admin/outbox/")); status != http.StatusOK || strings.Contains(page, "secret-of-A") {
		t.Errorf("tenant B's owner: %d, and must see nothing of A's outbox", status)
	}

	member, pwM := s.newUser(t, a, false)
	cm := s.client(t)
	s.signIn(t, cm, a.Schema, member, pwM)
	status, page, _ = get(t, cm, s.url(a.Schema, "/admin/outbox/"))
	if status != http.StatusForbidden || strings.Contains(page, "secret-of-A") {
		t.Errorf("member: %d, want 403 without the emails", status)
	}
	if _, home, _ := get(t, cm, s.url(a.Schema, "/admin/")); strings.Contains(home, `href="/admin/outbox/"`) {
		t.Errorf("a member's navigation links to the outbox")
	}
	if status, _, _ := get(t, c, s.url("", "/admin/outbox/")); status != http.StatusSeeOther {
		t.Errorf("tenant cookie on the platform: %d, want a redirect to sign in", status)
	}
}

// TestReportPages: a report is requested from a project's page with the
// form's CSRF token and shown on a page of its own with its job's state;
// other tenants and members who did not request it do not see it.
func TestReportPages(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	owner, pw := s.newUser(t, a, true)
	c := s.client(t)
	s.signIn(t, c, a.Schema, owner, pw)
	_, page, _ := get(t, c, s.url(a.Schema, "/admin/projects/"))
	status, _, h := post(t, c, s.url(a.Schema, "/admin/projects/"), url.Values{"csrf": {csrfOf(t, page)}, "name": {"Alpha"}})
	if status != http.StatusSeeOther {
		t.Fatalf("create project: %d", status)
	}
	projectURL := h.Get("Location")
	_, page, _ = get(t, c, s.url(a.Schema, projectURL))
	if !strings.Contains(page, `id="report-form"`) {
		t.Fatalf("project page has no report form\n%s", page)
	}
	projectID := strings.Trim(strings.TrimPrefix(projectURL, "/admin/projects/"), "/")
	if status, _, _ := post(t, c, s.url(a.Schema, "/admin/tasks/"), url.Values{"csrf": {csrfOf(t, page)}, "project_id": {projectID},
		"title": {"Write the spec"}}); status != http.StatusSeeOther {
		t.Fatalf("add task: %d", status)
	}
	if status, _, _ := post(t, c, s.url(a.Schema, "/admin/reports/"), url.Values{"project_id": {projectID}}); status != http.StatusForbidden {
		t.Errorf("request without CSRF token: %d, want 403", status)
	}
	if status, _, _ := post(t, c, s.url(a.Schema, "/admin/reports/"), url.Values{"csrf": {csrfOf(t, page)}, "project_id": {"999999"}}); status != http.StatusBadRequest {
		t.Errorf("report of no project: %d, want 400", status)
	}
	status, body, h := post(t, c, s.url(a.Schema, "/admin/reports/"), url.Values{"csrf": {csrfOf(t, page)}, "project_id": {projectID}})
	reportURL := h.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(reportURL, "/admin/reports/") {
		t.Fatalf("request report: %d %q\n%s", status, reportURL, body)
	}
	status, page, _ = get(t, c, s.url(a.Schema, reportURL))
	if status != http.StatusOK || !strings.Contains(page, "Report requested.") || !strings.Contains(page, "State: <strong>available</strong>") ||
		!strings.Contains(page, ">Alpha</a>") || strings.Contains(page, `id="report-download"`) {
		t.Fatalf("report page: %d, want its state and no download yet\n%s", status, page)
	}
	if status, _, _ := get(t, c, s.url(a.Schema, reportURL+"download/")); status != http.StatusConflict {
		t.Errorf("download before it is ready: %d, want 409", status)
	}

	// Once a worker has made it, the page links to the CSV.
	s.workJobs(t)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(page, "State: <strong>completed</strong>") {
		if time.Now().After(deadline) {
			t.Fatalf("report not ready in time\n%s", page)
		}
		time.Sleep(50 * time.Millisecond)
		_, page, _ = get(t, c, s.url(a.Schema, reportURL))
	}
	if !strings.Contains(page, `id="report-download"`) || !strings.Contains(page, "1 rows") {
		t.Errorf("completed report's page: want the download link and the row count\n%s", page)
	}
	status, csv, h := get(t, c, s.url(a.Schema, reportURL+"download/"))
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(csv, "Write the spec") {
		t.Errorf("download: %d %q, want the CSV with the project's task\n%s", status, h.Get("Content-Type"), csv)
	}

	member, pwM := s.newUser(t, a, false)
	cm := s.client(t)
	s.signIn(t, cm, a.Schema, member, pwM)
	if status, _, _ := get(t, cm, s.url(a.Schema, reportURL)); status != http.StatusNotFound {
		t.Errorf("a member who did not request it: %d, want 404", status)
	}
	ownerB, pwB := s.newUser(t, b, true)
	cb := s.client(t)
	s.signIn(t, cb, b.Schema, ownerB, pwB)
	for _, path := range []string{reportURL, reportURL + "download/"} {
		if status, page, _ := get(t, cb, s.url(b.Schema, path)); status != http.StatusNotFound || strings.Contains(page, "Alpha") {
			t.Errorf("tenant B's owner at %s: %d, want 404", path, status)
		}
	}
}

// TestPlatformNavLinksJobs: the platform console links to River UI.
func TestPlatformNavLinksJobs(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, password := s.newUser(t, nil, false)
	c := s.client(t)
	s.signIn(t, c, "", email, password)
	if status, page, _ := get(t, c, s.url("", "/admin/")); status != http.StatusOK || !strings.Contains(page, `<a href="/admin/river/">Jobs</a>`) {
		t.Errorf("platform dashboard: %d, want a Jobs link to /admin/river/", status)
	}
}

// workJobs works the shared database's jobs until the test ends. The
// stores write to this stack's blob store, where its report service reads.
func (s *stack) workJobs(t *testing.T) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	c, err := jobs.New(s.db.Pool(), jobs.Config{Mode: jobs.Worker, FetchCooldown: 20 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Log: log},
		jobs.Deps{Tenants: postgres.NewTenants(s.db), Outbox: postgres.NewOutbox(s.db, nil), Reports: s.reports,
			Maint: postgres.NewMaintenance(s.db, s.blobs, log)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("stop jobs client: %v", err)
		}
	})
}
