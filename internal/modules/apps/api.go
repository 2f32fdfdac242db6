package apps

import (
	"net/http"
	"strings"

	"taruvi"
	"taruvi/internal/api"
)

// appCreateRequest is the body of POST /api/apps/.
type appCreateRequest struct {
	Name        string `json:"name"`
	Slug        string `json:"slug"` // derived from name when empty
	Description string `json:"description"`
}

// appUpdateRequest is the body of PATCH /api/apps/{app}/.
type appUpdateRequest struct {
	Name        api.Optional[string] `json:"name"`
	Slug        api.Optional[string] `json:"slug"`
	Description api.Optional[string] `json:"description"`
}

// settingsUpdateRequest is the body of PATCH /api/apps/{app}/settings/:
// the settings to change, no other member.
type settingsUpdateRequest struct {
	DisplayName               api.Optional[string] `json:"display_name"`
	Icon                      api.Optional[string] `json:"icon"`
	IconURL                   api.Optional[string] `json:"icon_url"`
	PrimaryColor              api.Optional[string] `json:"primary_color"`
	SecondaryColor            api.Optional[string] `json:"secondary_color"`
	IconBackgroundColor       api.Optional[string] `json:"icon_background_color"`
	Category                  api.Optional[string] `json:"category"`
	DocumentationURL          api.Optional[string] `json:"documentation_url"`
	SupportEmail              api.Optional[string] `json:"support_email"`
	DefaultFrontendWorkerURL  api.Optional[string] `json:"default_frontend_worker_url"`
	DefaultFrontendWorkerSlug api.Optional[string] `json:"default_frontend_worker_slug"`
}

// changes are the columns the request sets; null clears a setting (a nil
// value), "" sets it to the empty string.
func (in settingsUpdateRequest) changes(c *api.FieldChecker) (map[string]*string, error) {
	out := map[string]*string{}
	for i, o := range []api.Optional[string]{in.DisplayName, in.Icon, in.IconURL, in.PrimaryColor, in.SecondaryColor,
		in.IconBackgroundColor, in.Category, in.DocumentationURL, in.SupportEmail, in.DefaultFrontendWorkerURL,
		in.DefaultFrontendWorkerSlug} {
		col := settingsColumns[i]
		p := api.Optional[*string]{Set: o.Set, Null: o.Null, Value: &o.Value}
		if v := api.Clearable(c, col, p, nil); v != nil {
			if *v != nil && len(**v) > 2000 {
				c.Problem(col, "At most 2000 characters.")
			}
			out[col] = *v
		}
	}
	return out, c.Err()
}

// datatableListSpec: the datatables of an app come by name, paged.
var datatableListSpec = taruvi.ListSpec{DefaultOrder: []taruvi.Order{{Field: "name"}}}

func (m *Module) handleAppList(w http.ResponseWriter, r *http.Request) error {
	q, err := api.ParseList(r, AppListSpec)
	if err != nil {
		return err
	}
	apps, total, err := m.listApps(r.Context(), q)
	if err != nil {
		return err
	}
	return api.WriteList(w, "Apps.", apps, total, q)
}

func (m *Module) handleAppCreate(w http.ResponseWriter, r *http.Request) error {
	var in appCreateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	app, err := m.createApp(r.Context(), appCreate(in))
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "App created.", app)
}

func (m *Module) handleAppGet(w http.ResponseWriter, r *http.Request) error {
	app, err := m.findApp(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "App.", app)
}

func (m *Module) handleAppUpdate(w http.ResponseWriter, r *http.Request) error {
	var in appUpdateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	c := api.NewFieldChecker(r)
	upd := appUpdate{Name: api.Value(c, "name", in.Name), Slug: api.Value(c, "slug", in.Slug),
		Description: api.Clearable(c, "description", in.Description, "")}
	if err := c.Err(); err != nil {
		return err
	}
	app, err := m.updateApp(r.Context(), r.PathValue("app"), upd)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "App updated.", app)
}

func (m *Module) handleAppDelete(w http.ResponseWriter, r *http.Request) error {
	if err := m.deleteApp(r.Context(), r.PathValue("app")); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "App deleted.", nil)
}

func (m *Module) handleSettingsGet(w http.ResponseWriter, r *http.Request) error {
	s, err := m.findSettings(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "App settings.", s)
}

func (m *Module) handleSettingsUpdate(w http.ResponseWriter, r *http.Request) error {
	var in settingsUpdateRequest
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	changes, err := in.changes(api.NewFieldChecker(r))
	if err != nil {
		return err
	}
	s, err := m.updateSettings(r.Context(), r.PathValue("app"), changes)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "App settings updated.", s)
}

func (m *Module) handleDatatableList(w http.ResponseWriter, r *http.Request) error {
	q, err := api.ParseList(r, datatableListSpec)
	if err != nil {
		return err
	}
	tables, err := m.listDatatables(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	total := len(tables)
	tables = tables[min(q.Offset(), total):min(q.Offset()+q.PageSize, total)]
	return api.WriteList(w, "Datatables.", tables, total, q)
}

func (m *Module) handleDatatableCreate(w http.ResponseWriter, r *http.Request) error {
	var in taruvi.Datatable
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	d, err := m.createDatatable(r.Context(), r.PathValue("app"), &in)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "Datatable created.", d)
}

func (m *Module) handleDatatableGet(w http.ResponseWriter, r *http.Request) error {
	d, err := m.findDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Datatable.", d)
}

func (m *Module) handleDatatableReplace(w http.ResponseWriter, r *http.Request) error {
	dryRun := false
	switch v := r.URL.Query().Get("dry_run"); strings.ToLower(v) {
	case "true", "1":
		dryRun = true
	case "", "false", "0":
	default:
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid query.", Fields: map[string]string{"dry_run": "Want true or false."}}
	}
	var in taruvi.Datatable
	if err := api.Decode(w, r, &in); err != nil {
		return err
	}
	change, err := m.replaceDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"), &in, dryRun)
	if err != nil {
		return err
	}
	if dryRun {
		return api.OK(w, http.StatusOK, "Plan; nothing applied.", change)
	}
	return api.OK(w, http.StatusOK, "Datatable changed.", change)
}

func (m *Module) handleDatatableDelete(w http.ResponseWriter, r *http.Request) error {
	if err := m.deleteDatatable(r.Context(), r.PathValue("app"), r.PathValue("name")); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Datatable deleted.", nil)
}
