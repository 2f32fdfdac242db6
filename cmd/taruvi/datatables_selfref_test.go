package main

import (
	"testing"
)

// TestDatatableSelfReferenceOverHTTP: a table whose foreign key names
// itself (by name, or by Frictionless's empty resource), created so or
// given one by a PUT; populate follows it up to 3 deep, SET NULL acts on
// a delete, and the table drops.
func TestDatatableSelfReferenceOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, c := s.siteClients(t, o)
	c.must(t, 201, "POST", "/api/apps/", `{"name":"HR"}`)
	runSteps(t, []step{
		{"self reference", c, "POST", "/api/apps/hr/datatables/", `{"name":"staff","schema":{"primaryKey":"id","fields":[{"name":"id","type":"integer"},{"name":"name","type":"string"},{"name":"manager","type":"integer"}],
			"foreignKeys":[{"fields":"manager","reference":{"resource":"staff"},"onDelete":"SET NULL"}]}}`, 201, `"success"`, ""},
		{"self reference empty resource", c, "POST", "/api/apps/hr/datatables/", `{"name":"staff2","schema":{"primaryKey":"id","fields":[{"name":"id","type":"integer"},{"name":"manager","type":"integer"}],
			"foreignKeys":[{"fields":"manager","reference":{"resource":"","fields":"id"}}]}}`, 201, `"success"`, ""},
		{"a table", c, "POST", "/api/apps/hr/datatables/", `{"name":"plain","schema":{"primaryKey":"id","fields":[{"name":"id","type":"integer"},{"name":"boss","type":"integer"}]}}`, 201, `"success"`, ""},
		{"self reference added by PUT", c, "PUT", "/api/apps/hr/datatables/plain/", `{"name":"plain","schema":{"primaryKey":"id","fields":[{"name":"id","type":"integer"},{"name":"boss","type":"integer"}],
			"foreignKeys":[{"fields":"boss","reference":{"resource":"plain"},"onDelete":"CASCADE"}]}}`, 200, `"applied":true`, ""},
	})
	rows := "/api/apps/hr/datatables/staff/data/"
	boss := createRow(t, c, rows, `{"name":"Boss"}`)
	emp := createRow(t, c, rows, `{"name":"Emp","manager":`+boss+`}`)
	runSteps(t, []step{
		{"populate self", c, "GET", rows + emp + "/?populate=manager", "", 200, `"name":"Boss"`, ""},
		{"populate self 3 deep", c, "GET", rows + emp + "/?populate=manager.manager.manager", "", 200, `"name":"Boss"`, ""},
		{"delete boss", c, "DELETE", rows + boss + "/", "", 200, `"success"`, ""},
		{"emp manager null", c, "GET", rows + emp + "/", "", 200, `"manager":null`, ""},
		{"drop self-referencing table", c, "DELETE", "/api/apps/hr/datatables/staff/", "", 200, `"success"`, ""},
	})
}
