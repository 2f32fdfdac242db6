package admin_test

import (
	"html"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

// TestListParameters: the admin's lists read their query strings with the
// API's parser, so they refuse what the API refuses (text PostgreSQL
// cannot store, unknown fields, operators and values, a filter the page
// does not offer) with a 400 naming the parameter, never a 500 and never
// by ignoring it; what their forms and links send still lists. Text
// PostgreSQL cannot store is refused at the server's edge, for every
// surface, before the admin renders a page (web.CheckQuery): that 400 is
// an error envelope.
func TestListParameters(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tenant := postgrestest.NewTenant(t, s.db)
	email, password := s.newUser(t, tenant, true)
	adminEmail, adminPassword := s.newUser(t, nil, false)
	c, platform := s.client(t), s.client(t)
	s.signIn(t, c, tenant.Schema, email, password)
	s.signIn(t, platform, "", adminEmail, adminPassword)
	for _, tt := range []struct {
		name, path string
		platform   bool
		status     int
		want       string // a line of the page: the parameter and what is wrong with it
	}{
		{"a form's every field", "/admin/projects/?q=&status=&sort=", false, 200, ""},
		{"a filter, a search and a sort", "/admin/projects/?q=x&status=active&sort=-name", false, 200, ""},
		{"a filter with an operator", "/admin/projects/?status__in=active,archived", false, 200, ""},
		{"spaces around a value", "/admin/tasks/?status=+todo+&project_id=", false, 200, ""},
		{"a page size", "/admin/users/?page_size=5&page=2", false, 200, ""},
		{"platform tenants by status", "/admin/tenants/?status=suspended", true, 200, ""},

		{"search with invalid UTF-8", "/admin/projects/?q=%FF", false, 400, "q: Use valid UTF-8 text without NUL characters."},
		{"search with NUL", "/admin/users/?q=a%00b", false, 400, "q: Use valid UTF-8 text without NUL characters."},
		{"filter with invalid UTF-8", "/admin/projects/?status=%C3%28", false, 400, "status: Use valid UTF-8 text without NUL characters."},
		{"an unknown field", "/admin/projects/?colour=red", false, 400, "colour: Unknown filter."},
		{"a field the page does not filter by", "/admin/projects/?owner_id=1", false, 400, "owner_id: Unknown filter."},
		{"an unknown operator", "/admin/projects/?status__like=act", false, 400, `status__like: Unknown operator "like" for status.`},
		{"an unknown value", "/admin/projects/?status=frozen", false, 400, "status: Use one of active, archived."},
		{"a value of the wrong kind", "/admin/tasks/?priority=high", false, 400, "priority: Use a whole number."},
		{"an unknown sort", "/admin/tasks/?sort=colour", false, 400, `sort: Cannot order by "colour".`},
		{"page 0", "/admin/files/?page=0", false, 400, "page: Use a whole number from 1."},
		{"a page size too large", "/admin/outbox/?page_size=1000", false, 400, "page_size: Use a whole number from 1 to 100."},
		{"a list that cannot be searched", "/admin/history/project/1/?q=x", false, 400, "q: This list cannot be searched."},
		{"platform: an unknown tenant status", "/admin/tenants/?status=gone", true, 400, "status: Use one of active, suspended."},
		{"platform: NUL in a filter", "/admin/tenants/?status=%00", true, 400, "status: Use valid UTF-8 text without NUL characters."},
	} {
		client, schema := c, tenant.Schema
		if tt.platform {
			client, schema = platform, ""
		}
		status, body, _ := get(t, client, s.url(schema, tt.path))
		if status != tt.status {
			t.Errorf("%s: GET %s: status %d, want %d\n%.400s", tt.name, tt.path, status, tt.status, body)
			continue
		}
		param, msg, _ := strings.Cut(tt.want, ": ")
		page := html.UnescapeString(body)
		if tt.want != "" && !strings.Contains(page, "<li>"+tt.want+"</li>") && !strings.Contains(page, `"`+param+`":"`+msg+`"`) {
			t.Errorf("%s: GET %s: the page does not say %q\n%.800s", tt.name, tt.path, tt.want, body)
		}
	}
}
