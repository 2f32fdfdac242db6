package admin_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

// formFields returns the name of every field of every form in the
// templates, so that a new form is covered as soon as it exists.
func formFields(t *testing.T) []string {
	t.Helper()
	// The shell's templates and its modules'.
	files, err := filepath.Glob("templates/*.html")
	modules, err2 := filepath.Glob("../modules/*/templates/*.html")
	if err != nil || err2 != nil || len(files) == 0 || len(modules) == 0 {
		t.Fatalf("templates: %v %v", err, err2)
	}
	files = append(files, modules...)
	nameRE := regexp.MustCompile(`<(?:input|select|textarea|button)[^>]*\sname="([a-z_]+)"`)
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameRE.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "csrf" && !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d form fields in the templates: %v", len(names), names)
	}
	return names
}

// encodeForm is form as a request body of each encoding a browser sends,
// by Content-Type.
func encodeForm(form url.Values) map[string]string {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	_ = mw.Close()
	return map[string]string{"application/x-www-form-urlencoded": form.Encode(), mw.FormDataContentType(): buf.String()}
}

func postAs(t *testing.T, c *http.Client, u, contentType, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestFormTextAtTheEdge posts, to every POST route of the admin, signed in
// on a tenant host and on the platform host and signed out, forms whose
// every field (as the templates name them) holds text PostgreSQL cannot
// store, urlencoded and multipart: none is a 5xx, and none is taken.
func TestFormTextAtTheEdge(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tenant := postgrestest.NewTenant(t, s.db)
	ownerEmail, ownerPassword := s.newUser(t, tenant, true)
	adminEmail, adminPassword := s.newUser(t, nil, false)
	fields := formFields(t)

	type site struct {
		name, schema string
		client       *http.Client
		signedIn     bool
	}
	sites := []site{{"tenant", tenant.Schema, s.client(t), true}, {"platform", "", s.client(t), true},
		{"signed-out tenant", tenant.Schema, s.client(t), false}, {"signed-out platform", "", s.client(t), false}}
	s.signIn(t, sites[0].client, tenant.Schema, ownerEmail, ownerPassword)
	s.signIn(t, sites[1].client, "", adminEmail, adminPassword)

	var routes []string
	for _, r := range s.routes {
		if p, ok := strings.CutPrefix(r, "POST "); ok && strings.HasPrefix(p, "/admin") {
			routes = append(routes, p)
		}
	}
	// Signing out last keeps the session for the others, should a form
	// be taken.
	slices.SortStableFunc(routes, func(a, b string) int {
		return strings.Count(a, "/logout") - strings.Count(b, "/logout")
	})
	if len(routes) < 15 {
		t.Fatalf("only %d POST routes: %v", len(routes), routes)
	}
	fill := strings.NewReplacer("{id}", "1", "{schema}", tenant.Schema, "{type}", "project")
	for _, site := range sites {
		page := "/admin/"
		if !site.signedIn {
			page = "/admin/login/"
		}
		_, body, _ := get(t, site.client, s.url(site.schema, page))
		csrf := csrfOf(t, body)
		for _, route := range routes {
			path := fill.Replace(route) + "/"
			for what, bad := range map[string]string{"NUL": "x\x00y", "invalid UTF-8": "x\xffy"} {
				form := url.Values{"csrf": {csrf}}
				for _, f := range fields {
					form.Set(f, bad)
				}
				for contentType, body := range encodeForm(form) {
					status, page := postAs(t, site.client, s.url(site.schema, path), contentType, body)
					encoding, _, _ := strings.Cut(contentType, ";")
					switch {
					case status >= 500:
						t.Errorf("%s: POST %s, %s, %s: status %d\n%.400s", site.name, path, what, encoding, status, page)
					case site.signedIn && (status < 400 || status >= 500):
						t.Errorf("%s: POST %s, %s, %s: status %d, want a 4xx", site.name, path, what, encoding, status)
					}
				}
			}
		}
	}
}

// TestSemicolons: a query string or a form that Go would read in part (a
// semicolon, a malformed escape) is refused, not shown or saved without
// the lost pair.
func TestSemicolons(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tenant := postgrestest.NewTenant(t, s.db)
	email, password := s.newUser(t, tenant, true)
	c := s.client(t)
	s.signIn(t, c, tenant.Schema, email, password)
	for _, path := range []string{"/admin/users/?q=a;sort=email", "/admin/tasks/?status=todo;x", "/admin/users/?q=%zz"} {
		if status, body, _ := get(t, c, s.url(tenant.Schema, path)); status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400\n%.300s", path, status, body)
		}
	}
	_, page, _ := get(t, c, s.url(tenant.Schema, "/admin/groups/"))
	for _, body := range []string{"csrf=" + csrfOf(t, page) + "&name=crew&x=1;y=2", "csrf=" + csrfOf(t, page) + "&name=crew&x=%zz"} {
		status, _ := postAs(t, c, s.url(tenant.Schema, "/admin/groups/"), "application/x-www-form-urlencoded", body)
		if status != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400", body, status)
		}
	}
	if _, page, _ := get(t, c, s.url(tenant.Schema, "/admin/groups/")); strings.Contains(page, "crew") {
		t.Error("a group was created from a form read in part")
	}
}
