package api_test

import (
	"strconv"
	"strings"
	"testing"

	"taruvi"
)

// TestListConventions exercises paging, ordering, every filter operator,
// search and their errors on the project and task lists.
func TestListConventions(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	zed := a.member(t, "zed", taruvi.PermAddProject)
	u1, u2 := a.member(t, "uma"), a.member(t, "udo")
	h := a.host
	vars := map[string]string{"owner": owner.ID(), "u1": u1.ID(), "u2": u2.ID()}
	for i, p := range []struct{ name, description, status string }{
		{"Alpha", "the first", "active"},
		{"Alpha Beta", "second", "archived"},
		{"Gamma_%", "has 100% literal", "active"},
		{"Delta", "", "archived"},
		{"Epsilon", "mentions alpha", "active"},
	} {
		_, body := s.send(t, "POST", h, "/api/projects/", owner.cred, jsonOf(t, p.name, p.description, p.status), "")
		key := "p" + strconv.Itoa(i+1)
		var err error
		if vars[key], err = lookup(body, "data.id"); err != nil {
			t.Fatalf("create %s: %v in %s", p.name, err, body)
		}
		if vars["c"+key], err = lookup(body, "data.created_at"); err != nil {
			t.Fatal(err)
		}
	}
	// A project whose creator was deleted has no owner.
	vars["p6"] = s.create(t, h, "/api/projects/", zed.cred, `{"name":"Zeta"}`)
	if err := s.users.DeleteUser(a.operator(), zed.id); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{
		`{"project_id":{{p1}},"title":"Plan","priority":1,"due_date":"2026-01-15","assignee_id":{{u1}},"position":0}`,
		`{"project_id":{{p1}},"title":"Build","description":"the hard part","status":"in_progress","priority":3,"due_date":"2026-02-01","position":1}`,
		`{"project_id":{{p1}},"title":"Test","status":"done","priority":4,"assignee_id":{{u1}},"position":2}`,
		`{"project_id":{{p3}},"title":"Ship","priority":0,"due_date":"2026-02-28","assignee_id":{{u2}}}`,
	} {
		for k, v := range vars {
			task = strings.ReplaceAll(task, "{{"+k+"}}", v)
		}
		s.create(t, h, "/api/tasks/", owner.cred, task)
	}

	// list makes calls that read path with a query and expect the field of
	// the items; refuse makes calls whose query names an invalid param.
	list := func(path, field string) func(name, query string, want ...string) call {
		return func(name, query string, want ...string) call {
			return call{name: name, method: "GET", path: path + query, host: h, cred: owner.cred, status: 200,
				total: total(len(want)), field: field, values: want}
		}
	}
	refuse := func(path string) func(name, query, param string) call {
		return func(name, query, param string) call {
			return call{name: name, method: "GET", path: path + query, host: h, cred: owner.cred, status: 400,
				want: invalidField(param)}
		}
	}
	projects, bad := list("/api/projects/?", "name"), refuse("/api/projects/?")
	tasks, badTask := list("/api/tasks/?", "title"), refuse("/api/tasks/?")
	all := []string{"Zeta", "Epsilon", "Delta", "Gamma_%", "Alpha Beta", "Alpha"} // newest first
	page := func(name, query string, items []string, pagination string) call {
		c := call{name: name, method: "GET", path: "/api/projects/?" + query, host: h, cred: owner.cred, status: 200,
			total: total(6), field: "name", values: items, want: []string{pagination}}
		return c
	}

	s.run(t, vars, []call{
		page("default page", "", all,
			`"pagination":{"offset":0,"limit":20,"count":6,"current_page":1,"total_pages":1,"has_next":false,"has_previous":false}`),
		page("first page of two", "page_size=2", all[:2],
			`"pagination":{"offset":0,"limit":2,"count":2,"current_page":1,"total_pages":3,"has_next":true,"has_previous":false}`),
		page("middle page", "page=2&page_size=2", all[2:4],
			`"pagination":{"offset":2,"limit":2,"count":2,"current_page":2,"total_pages":3,"has_next":true,"has_previous":true}`),
		page("last partial page", "page=2&page_size=5", all[5:],
			`"pagination":{"offset":5,"limit":5,"count":1,"current_page":2,"total_pages":2,"has_next":false,"has_previous":true}`),
		page("past the end", "page=4&page_size=2", []string{},
			`"pagination":{"offset":6,"limit":2,"count":0,"current_page":4,"total_pages":3,"has_next":false,"has_previous":true}`),
		page("far past the end", "page=1000000&page_size=100", []string{}, `"data":[]`),
		page("largest page", "page_size=100", all, `"limit":100`),
		bad("page 0", "page=0", "page"),
		bad("negative page", "page=-1", "page"),
		bad("page not a number", "page=two", "page"),
		bad("page too far", "page=1000001", "page"),
		bad("page size 0", "page_size=0", "page_size"),
		bad("page size 101", "page_size=101", "page_size"),
		bad("page size not a number", "page_size=1e2", "page_size"),

		projects("order by name", "ordering=name", "Alpha", "Alpha Beta", "Delta", "Epsilon", "Gamma_%", "Zeta"),
		projects("order by name descending", "ordering=-name", "Zeta", "Gamma_%", "Epsilon", "Delta", "Alpha Beta", "Alpha"),
		projects("order by two keys", "ordering=status,-id", "Zeta", "Epsilon", "Gamma_%", "Alpha", "Delta", "Alpha Beta"),
		projects("order by created_at", "ordering=created_at", "Alpha", "Alpha Beta", "Gamma_%", "Delta", "Epsilon", "Zeta"),
		projects("order by updated_at descending", "ordering=-updated_at", all...),
		projects("empty ordering is the default", "ordering=", all...),
		bad("order by an unknown field", "ordering=colour", "ordering"),
		bad("order by a field that does not order", "ordering=description", "ordering"),
		bad("order by an empty key", "ordering=name,,id", "ordering"),
		bad("order by a filter-only field", "ordering=owner_id", "ordering"),

		projects("eq", "name=Alpha", "Alpha"),
		projects("eq is exact", "name=alpha"),
		projects("ne", "name__ne=Alpha&ordering=id", "Alpha Beta", "Gamma_%", "Delta", "Epsilon", "Zeta"),
		projects("in", "name__in=Zeta,Alpha,Nothing&ordering=name", "Alpha", "Zeta"),
		projects("contains", "name__contains=lpha&ordering=id", "Alpha", "Alpha Beta"),
		projects("contains is case-sensitive", "name__contains=LPHA"),
		projects("icontains", "name__icontains=ALPHA&ordering=id", "Alpha", "Alpha Beta"),
		projects("startswith", "name__startswith=Gam", "Gamma_%"),
		projects("startswith is case-sensitive", "name__startswith=gam"),
		projects("endswith", "name__endswith=eta&ordering=id", "Alpha Beta", "Zeta"),
		projects("wildcards are literal", "name__endswith="+q("_%"), "Gamma_%"),
		projects("underscore is literal", "name__contains=_", "Gamma_%"),
		projects("gt on text", "name__gt=Epsilon&ordering=name", "Gamma_%", "Zeta"),
		projects("lte on text", "name__lte=Alpha", "Alpha"),
		projects("enum eq", "status=archived&ordering=id", "Alpha Beta", "Delta"),
		projects("enum ne", "status__ne=archived&ordering=id", "Alpha", "Gamma_%", "Epsilon", "Zeta"),
		projects("enum in", "status__in=archived,active&ordering=id", "Alpha", "Alpha Beta", "Gamma_%", "Delta", "Epsilon", "Zeta"),
		projects("enum null", "status__null=true"),
		bad("enum value unknown", "status=open", "status"),
		bad("enum in with an unknown value", "status__in=active,open", "status__in"),
		bad("enum has no order", "status__gt=active", "status__gt"),
		bad("enum has no contains", "status__contains=act", "status__contains"),
		projects("int null", "owner_id__null=true", "Zeta"),
		projects("int not null", "owner_id__null=false&ordering=id", "Alpha", "Alpha Beta", "Gamma_%", "Delta", "Epsilon"),
		projects("int eq", "owner_id={{owner}}&ordering=id", "Alpha", "Alpha Beta", "Gamma_%", "Delta", "Epsilon"),
		projects("int beyond any id", "owner_id=9223372036854775807"),
		projects("int in", "id__in={{p1}},{{p3}}&ordering=id", "Alpha", "Gamma_%"),
		projects("int gte", "id__gte={{p5}}&ordering=id", "Epsilon", "Zeta"),
		projects("int lt", "id__lt={{p2}}", "Alpha"),
		bad("int not a number", "owner_id=me", "owner_id"),
		bad("int out of range", "id=99999999999999999999", "id"),
		bad("int has no contains", "id__contains=1", "id__contains"),
		bad("null not a boolean", "owner_id__null=maybe", "owner_id__null"),
		projects("time gt", "created_at__gt={{q:cp3}}&ordering=id", "Delta", "Epsilon", "Zeta"),
		projects("time lte", "created_at__lte={{q:cp3}}&ordering=id", "Alpha", "Alpha Beta", "Gamma_%"),
		projects("time eq", "created_at={{q:cp2}}", "Alpha Beta"),
		projects("time gte long ago", "created_at__gte=2000-01-01T00:00:00Z", all...),
		projects("time lt long ago", "updated_at__lt=2000-01-01T00:00:00%2B02:00"),
		bad("time as a date", "created_at__gte=2000-01-01", "created_at__gte"),
		bad("time malformed", "created_at=yesterday", "created_at"),
		bad("time has no contains", "created_at__contains=2026", "created_at__contains"),

		bad("unknown filter", "colour=red", "colour"),
		bad("unknown operator", "name__regex=A.*", "name__regex"),
		bad("empty operator", "name__=Alpha", "name__"),
		bad("field that does not filter", "description=second", "description"),
		bad("too many values", "name__in="+strings.Repeat("x,", 100)+"x", "name__in"),
		bad("invalid UTF-8", "name=%FF", "name"),
		bad("NUL", "name__contains=%00", "name__contains"),
		{name: "every problem at once", method: "GET", path: "/api/projects/?page=0&colour=red&ordering=x", host: h, cred: owner.cred,
			status: 400, want: []string{`"page":"`, `"colour":"Unknown filter."`, `"ordering":"Cannot order by \"x\"."`}},

		projects("search", "search=alpha&ordering=id", "Alpha", "Alpha Beta", "Epsilon"),
		projects("search is case-insensitive", "search=SECOND", "Alpha Beta"),
		projects("search wildcards are literal", "search=a"+q("_%"), "Gamma_%"),
		projects("search and filter", "search=alpha&status=active&ordering=id", "Alpha", "Epsilon"),
		{name: "search and page", method: "GET", path: "/api/projects/?search=alpha&ordering=id&page=2&page_size=2", host: h, cred: owner.cred,
			status: 200, total: total(3), field: "name", values: []string{"Epsilon"}},
		projects("search finds nothing", "search=omega"),
		projects("blank search is none", "search=%20%20", all...),
		bad("search too long", "search="+strings.Repeat("s", 201), "search"),
		bad("search with NUL", "search=a%00", "search"),
		projects("no trailing slash", "name=Delta", "Delta"),
		{name: "doubled slashes", method: "GET", path: "//api//projects//?name=Delta", host: h, cred: owner.cred, status: 200,
			total: total(1), field: "name", values: []string{"Delta"}},

		tasks("default task order", "", "Plan", "Build", "Test", "Ship"),
		tasks("date gte", "due_date__gte=2026-02-01", "Build", "Ship"),
		tasks("date lte", "due_date__lte=2026-02-01", "Plan", "Build"),
		tasks("date gt", "due_date__gt=2026-02-01", "Ship"),
		tasks("date lt", "due_date__lt=2026-01-15"),
		tasks("date eq", "due_date=2026-01-15", "Plan"),
		tasks("date ne", "due_date__ne=2026-01-15", "Build", "Test", "Ship"),
		tasks("date in", "due_date__in=2026-01-15,2026-02-28", "Plan", "Ship"),
		tasks("date null", "due_date__null=true", "Test"),
		tasks("date range", "due_date__gte=2026-01-01&due_date__lte=2026-01-31", "Plan"),
		badTask("date impossible", "due_date=2026-02-30", "due_date"),
		badTask("date in another format", "due_date__gte=15/01/2026", "due_date__gte"),
		badTask("date has no contains", "due_date__contains=2026", "due_date__contains"),
		tasks("priority gt", "priority__gt=2", "Build", "Test"),
		tasks("priority in", "priority__in=0,1", "Plan", "Ship"),
		tasks("priority beyond its column", "priority=99999999999"),
		tasks("priority in beyond its column", "priority__in=1,99999999999", "Plan"),
		tasks("priority lte below", "priority__lte=-1"),
		tasks("assignee eq", "assignee_id={{u1}}", "Plan", "Test"),
		tasks("assignee null", "assignee_id__null=true", "Build"),
		tasks("assignee ne counts the unassigned", "assignee_id__ne={{u1}}", "Build", "Ship"),
		tasks("status eq", "status=in_progress", "Build"),
		tasks("status in", "status__in=todo,done", "Plan", "Test", "Ship"),
		tasks("project", "project_id={{p3}}", "Ship"),
		tasks("creator", "created_by={{owner}}", "Plan", "Build", "Test", "Ship"),
		tasks("position in one project", "position__gte=1&project_id={{p1}}", "Build", "Test"),
		tasks("order by priority", "ordering=-priority", "Test", "Build", "Plan", "Ship"),
		tasks("order by due date, nulls last", "ordering=due_date", "Plan", "Build", "Ship", "Test"),
		tasks("order by due date descending, nulls last", "ordering=-due_date", "Ship", "Build", "Plan", "Test"),
		tasks("order by status then title", "ordering=status,title", "Test", "Build", "Plan", "Ship"),
		tasks("search title", "search=uil", "Build"),
		tasks("search description", "search=HARD", "Build"),
		badTask("assignee not a number", "assignee_id=uma", "assignee_id"),
		badTask("status unknown", "status=blocked", "status"),
		badTask("order by assignee", "ordering=assignee_id", "ordering"),
	})
}

// jsonOf is the body creating a project.
func jsonOf(t *testing.T, name, description, status string) string {
	t.Helper()
	return `{"name":` + strconv.Quote(name) + `,"description":` + strconv.Quote(description) + `,"status":` + strconv.Quote(status) + `}`
}

// q escapes a value for a query string.
func q(v string) string {
	return strings.NewReplacer("%", "%25", "+", "%2B", "&", "%26", "#", "%23").Replace(v)
}
