package apps

import (
	"net/http"

	"taruvi"
	"taruvi/internal/dataapi"
)

// Error statuses, named so the routes read as words.
const (
	s400 = http.StatusBadRequest
	s401 = http.StatusUnauthorized
	s403 = http.StatusForbidden
	s404 = http.StatusNotFound
	s409 = http.StatusConflict
	s413 = http.StatusRequestEntityTooLarge
	s415 = http.StatusUnsupportedMediaType
)

// Path and query parameters of the routes.
var (
	appParam    = taruvi.Param{Name: "app", Kind: taruvi.KindString, Description: "The app's slug."}
	nameParam   = taruvi.Param{Name: "name", Kind: taruvi.KindString, Description: "The datatable's name."}
	dryRunParam = taruvi.Param{Name: "dry_run", Kind: taruvi.KindBool, Description: "true: return the plan without applying it."}
	appPath     = []taruvi.Param{appParam}
	tablePath   = []taruvi.Param{appParam, nameParam}
)

// routes are the module's REST routes with their operations. A change
// of a table that cannot lock it within 3s answers 503 with Retry-After
// (the default error response).
func (m *Module) routes() []taruvi.Route {
	write := []int{s400, s401, s403, s404, s409, s413, s415}
	return []taruvi.Route{
		{Pattern: "GET /api/apps", Handler: m.handleAppList, Operation: taruvi.Operation{Tag: "apps", Summary: "List apps",
			List: &AppListSpec, Response: taruvi.App{}, Errors: []int{s400, s401, s403}}},
		{Pattern: "POST /api/apps", Handler: m.handleAppCreate, Operation: taruvi.Operation{Tag: "apps", Summary: "Create an app",
			Description: "slug is derived from name when left out.",
			Request:     appCreateRequest{}, Response: taruvi.App{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s409, s413, s415}}},
		{Pattern: "GET /api/apps/{app}", Handler: m.handleAppGet, Operation: taruvi.Operation{Tag: "apps", Summary: "Read an app",
			Path: appPath, Response: taruvi.App{}, Errors: []int{s401, s403, s404}}},
		{Pattern: "PATCH /api/apps/{app}", Handler: m.handleAppUpdate, Operation: taruvi.Operation{Tag: "apps", Summary: "Change an app",
			Description: "Send the fields to change.",
			Path:        appPath, Request: appUpdateRequest{}, Response: taruvi.App{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "DELETE /api/apps/{app}", Handler: m.handleAppDelete, Operation: taruvi.Operation{Tag: "apps", Summary: "Delete an app",
			Description: "Its datatables and their rows go with it.",
			Path:        appPath, Errors: []int{s401, s403, s404}}},
		{Pattern: "GET /api/apps/{app}/settings", Handler: m.handleSettingsGet, Operation: taruvi.Operation{Tag: "apps", Summary: "Read an app's settings",
			Path: appPath, Response: taruvi.AppSettings{}, Errors: []int{s401, s403, s404}}},
		{Pattern: "PATCH /api/apps/{app}/settings", Handler: m.handleSettingsUpdate, Operation: taruvi.Operation{Tag: "apps", Summary: "Change an app's settings",
			Description: "Send the settings to change; null clears one.",
			Path:        appPath, Request: settingsUpdateRequest{}, Response: taruvi.AppSettings{}, Errors: []int{s400, s401, s403, s404, s413, s415}}},
		{Pattern: "GET /api/apps/{app}/datatables", Handler: m.handleDatatableList, Operation: taruvi.Operation{Tag: "datatables", Summary: "List an app's datatables",
			Path: appPath, List: &datatableListSpec, Response: datatable{}, Errors: []int{s400, s401, s403, s404}}},
		{Pattern: "POST /api/apps/{app}/datatables", Handler: m.handleDatatableCreate, Operation: taruvi.Operation{Tag: "datatables", Summary: "Create a datatable",
			Description: "Creates its table in the tenant's schema (503 when a referenced table stays locked over 3s). Without a primary key, a field id (uuid, generated) is added.",
			Path:        appPath, Request: datatable{}, Response: datatable{}, Status: http.StatusCreated, Errors: write}},
		{Pattern: "GET /api/apps/{app}/datatables/{name}", Handler: m.handleDatatableGet, Operation: taruvi.Operation{Tag: "datatables", Summary: "Read a datatable's definition",
			Path: tablePath, Response: datatable{}, Errors: []int{s401, s403, s404}}},
		{Pattern: "PUT /api/apps/{app}/datatables/{name}", Handler: m.handleDatatableReplace, Operation: taruvi.Operation{Tag: "datatables", Summary: "Replace a datatable's definition",
			Description: "Fields left out are dropped, new ones added, x-rename-from renames; the table changes in the same transaction. " +
				"With dry_run=true, returns the plan (statements, rewrites) and applies nothing. 503 when the table stays locked over 3s.",
			Path: tablePath, Query: []taruvi.Param{dryRunParam}, Request: datatable{}, Response: datatableChange{}, Errors: write}},
		{Pattern: "DELETE /api/apps/{app}/datatables/{name}", Handler: m.handleDatatableDelete, Operation: taruvi.Operation{Tag: "datatables", Summary: "Delete a datatable",
			Description: "Drops its table and rows.",
			Path:        tablePath, Errors: []int{s401, s403, s404, s409}}},
	}
}

// tags group the module's operations in the documentation.
var tags = []taruvi.APITag{
	{Name: "apps", Description: "A tenant's apps and their settings. Everything under /api/apps/{app}/ belongs to that app alone."},
	{Name: "datatables", Description: "Tables whose schema the tenant defines at run time, each a real table of the tenant's schema."},
	dataapi.APITag,
}
