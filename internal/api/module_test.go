package api

import (
	"net/http"
	"strings"
	"testing"

	"taruvi"
)

// partsModule is a module of given parts, for the document's tests.
type partsModule struct {
	name  string
	parts taruvi.ModuleParts
}

func (m partsModule) MigrationSet() taruvi.MigrationSet { return taruvi.MigrationSet{Name: m.name} }
func (m partsModule) Parts() taruvi.ModuleParts         { return m.parts }

func noteRoute(pattern string) taruvi.Route {
	return taruvi.Route{Pattern: pattern, Handler: func(http.ResponseWriter, *http.Request) error { return nil },
		Operation: taruvi.Operation{Tag: "notes", Summary: "A note route"}}
}

// TestModuleOperations: a module's tags go between the core's identity
// tags and the rest, its operations join the core's, and a route or tag
// defined twice is refused.
func TestModuleOperations(t *testing.T) {
	t.Parallel()
	notes := partsModule{"notes", taruvi.ModuleParts{Tags: []taruvi.APITag{{Name: "notes", Description: "Notes."}},
		Routes: []taruvi.Route{noteRoute("GET /api/notes")}}}
	ops, all, err := moduleOperations([]taruvi.Module{notes})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tag := range all {
		names = append(names, tag.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "permissions,notes,history") {
		t.Errorf("tags %s, want notes between permissions and history", got)
	}
	if ops["GET /api/notes"].Summary != "A note route" || len(ops) != len(operations(taruvi.HistoryObjectTypes(nil)))+1 {
		t.Errorf("operations: %d with notes %+v, want the core's and the module's", len(ops), ops["GET /api/notes"])
	}
	for name, mods := range map[string][]taruvi.Module{
		"a core route again": {partsModule{"x", taruvi.ModuleParts{Routes: []taruvi.Route{noteRoute("GET /api/users")}}}},
		"a core tag again":   {partsModule{"x", taruvi.ModuleParts{Tags: []taruvi.APITag{{Name: "users"}}}}},
		"a route twice":      {notes, partsModule{"y", taruvi.ModuleParts{Routes: []taruvi.Route{noteRoute("GET /api/notes")}}}},
		"a tag twice":        {notes, partsModule{"y", taruvi.ModuleParts{Tags: []taruvi.APITag{{Name: "notes"}}}}},
	} {
		if _, _, err := moduleOperations(mods); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%s: err %v, want one that says twice", name, err)
		}
	}
	// An operation must name a tag of the document.
	untagged := partsModule{"z", taruvi.ModuleParts{Routes: []taruvi.Route{noteRoute("GET /api/notes")}}}
	if _, err := OpenAPI([]string{"GET /api/notes"}, untagged); err == nil || !strings.Contains(err.Error(), `unknown tag "notes"`) {
		t.Errorf("an operation with an unknown tag: %v", err)
	}
}
