package main

import (
	"strings"
	"testing"
)

// TestDatatableSchemaEdgesOverHTTP: definitions at the edges of what the
// DDL generator must handle, over the real server: the longest names with
// unique constraints, indexes and search (no identifier collision past
// PostgreSQL's 63 bytes), search fields removed and renamed, an indexed
// field removed, a reserved field name, a definition naming a removed
// field, a primary key change, and the rows of an app renamed.
func TestDatatableSchemaEdgesOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, c := s.siteClients(t, o)
	c.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	long := strings.Repeat("a", 50)
	lf := strings.Repeat("f", 50)
	c.must(t, 201, "POST", "/api/apps/p/datatables/", `{"name":"arts","schema":{"fields":[
		{"name":"title","type":"string"},{"name":"body","type":"string"},{"name":"cat","type":"integer"}]},
		"search_fields":[{"field":"title","weight":"A"},{"field":"body","weight":"B"}],"indexes":[{"fields":["cat"]}]}`)
	createRow(t, c, "/api/apps/p/datatables/arts/data/", `{"title":"tulip","body":"b","cat":1}`)
	runSteps(t, []step{
		{"a field named search_vector", c, "POST", "/api/apps/p/datatables/", `{"name":"sv","schema":{"fields":[{"name":"search_vector","type":"string"}]}}`, 400, `"schema.fields`, ""},
		{"long names", c, "POST", "/api/apps/p/datatables/", `{"name":"` + long + `","schema":{"fields":[{"name":"` + lf + `","type":"string","constraints":{"unique":true}},{"name":"` + lf[:49] + `g","type":"string","constraints":{"unique":true}}]},"search_fields":["` + lf + `"],"indexes":[{"fields":["` + lf + `"]},{"fields":["` + lf[:49] + `g"]}]}`, 201, `"success"`, ""},
		{"long names twice", c, "POST", "/api/apps/p/datatables/", `{"name":"` + long[:49] + `b","schema":{"fields":[{"name":"` + lf + `","type":"string","constraints":{"unique":true}}]},"search_fields":["` + lf + `"]}`, 201, `"success"`, ""},
		{"remove a search field", c, "PUT", "/api/apps/p/datatables/arts/", `{"name":"arts","schema":{"fields":[
		{"name":"title","type":"string"},{"name":"cat","type":"integer"}]},
		"search_fields":[{"field":"title","weight":"A"}],"indexes":[{"fields":["cat"]}]}`, 200, `"applied":true`, ""},
		{"rename a search field", c, "PUT", "/api/apps/p/datatables/arts/", `{"name":"arts","schema":{"fields":[
		{"name":"heading","type":"string","x-rename-from":"title"},{"name":"cat","type":"integer"}]},
		"search_fields":[{"field":"heading","weight":"A"}],"indexes":[{"fields":["cat"]}]}`, 200, `"applied":true`, ""},
		{"remove an indexed field", c, "PUT", "/api/apps/p/datatables/arts/", `{"name":"arts","schema":{"fields":[
		{"name":"heading","type":"string"}]},"search_fields":[{"field":"heading","weight":"A"}]}`, 200, `"applied":true`, ""},
		{"search after", c, "GET", "/api/apps/p/datatables/arts/data/?search=tulip", "", 200, `"total":1`, ""},
		{"a field removed while search_fields still names it", c, "PUT", "/api/apps/p/datatables/arts/", `{"name":"arts","schema":{"fields":[
		{"name":"x","type":"string"}]},"search_fields":[{"field":"heading","weight":"A"}]}`, 400, `"search_fields`, ""},
		{"populate too deep", c, "GET", "/api/apps/p/datatables/arts/data/?populate=a.b.c.d", "", 400, `"populate"`, ""},
		{"dry run of unknown table", c, "PUT", "/api/apps/p/datatables/nope/?dry_run=true", `{"name":"nope","schema":{"fields":[{"name":"x","type":"string"}]}}`, 404, `"NOT_FOUND"`, ""},
		{"rename app", c, "PATCH", "/api/apps/p/", `{"slug":"q"}`, 200, `"slug":"q"`, ""},
		{"data under new slug", c, "GET", "/api/apps/q/datatables/arts/data/", "", 200, `"total":1`, ""},
		{"data under old slug", c, "GET", "/api/apps/p/datatables/arts/data/", "", 404, `"NOT_FOUND"`, ""},
		{"a table", c, "POST", "/api/apps/q/datatables/", `{"name":"cats","schema":{"primaryKey":"id","fields":[{"name":"id","type":"integer"}]}}`, 201, `"success"`, ""},
		{"pk change", c, "PUT", "/api/apps/q/datatables/cats/", `{"name":"cats","schema":{"primaryKey":"k","fields":[{"name":"id","type":"integer"},{"name":"k","type":"uuid"}]}}`, 400, `"schema.primaryKey"`, ""},
		{"app delete with tables", c, "DELETE", "/api/apps/q/", "", 200, `"success"`, ""},
	})
}

// TestDatatableNamedUsersIsRefused: "users" and "auth_user" name the
// tenant's users as a foreign key's resource, so a datatable of either
// name could never be referenced; creating one is refused, naming name.
func TestDatatableNamedUsersIsRefused(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	_, c := s.siteClients(t, s.newSite(t, "owner"))
	c.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	runSteps(t, []step{
		{"a table named users", c, "POST", "/api/apps/p/datatables/", `{"name":"users","schema":{"fields":[{"name":"x","type":"string"}]}}`, 400, `"name"`, ""},
		{"a table named auth_user", c, "POST", "/api/apps/p/datatables/", `{"name":"auth_user","schema":{"fields":[{"name":"x","type":"string"}]}}`, 400, `"name"`, ""},
	})
}
