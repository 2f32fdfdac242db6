package apps

import (
	"context"
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/admin"
)

// The module's tenant admin pages: the apps with the form that creates
// one; an app's page with its settings and datatables; a datatable's
// schema, where a field is added, changed or removed (or the whole
// definition edited as JSON) and the plan of the change is shown before
// it is applied.

//go:embed templates
var templateFiles embed.FS

// adminPages are the module's tenant admin pages.
func (m *Module) adminPages() []taruvi.AdminPage {
	return []taruvi.AdminPage{
		{Pattern: "GET /admin/apps", Handler: m.handleAdminAppList},
		{Pattern: "POST /admin/apps", Handler: m.handleAdminAppCreate},
		{Pattern: "GET /admin/apps/{app}", Handler: m.handleAdminAppGet},
		{Pattern: "POST /admin/apps/{app}/settings", Handler: m.handleAdminSettings},
		{Pattern: "POST /admin/apps/{app}/datatables", Handler: m.handleAdminDatatableCreate},
		{Pattern: "GET /admin/apps/{app}/datatables/{name}", Handler: m.handleAdminDatatableGet},
		{Pattern: "POST /admin/apps/{app}/datatables/{name}/plan", Handler: m.handleAdminDatatablePlan},
		{Pattern: "POST /admin/apps/{app}/datatables/{name}", Handler: m.handleAdminDatatableApply},
	}
}

// adminCards counts the tenant's apps for the home page, for those who
// may see them.
func (m *Module) adminCards(ctx context.Context) ([]taruvi.AdminCard, error) {
	_, n, err := m.listApps(ctx, taruvi.ListQuery{Page: 1, PageSize: 1})
	if taruvi.ErrorCode(err) == taruvi.EFORBIDDEN {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return []taruvi.AdminCard{{N: n, Label: "apps", Href: "/admin/apps/"}}, nil
}

// appsPage is the paged list of apps with the form that creates one.
type appsPage struct {
	admin.Page
	Apps []*taruvi.App
	List admin.ListView
	Form admin.Form
}

func (m *Module) handleAdminAppList(w http.ResponseWriter, r *http.Request) error {
	return m.showApps(w, r, http.StatusOK, admin.Form{})
}

func (m *Module) showApps(w http.ResponseWriter, r *http.Request, status int, f admin.Form) error {
	q, view, err := admin.ParseList(r, AppListSpec)
	if err != nil {
		return err
	}
	apps, total, err := m.listApps(r.Context(), q)
	if err != nil {
		return err
	}
	return admin.Render(w, r, status, "apps/apps", &appsPage{Page: admin.PageFor(r, "Apps", "apps"), Apps: apps,
		List: view.WithTotal(total, q.PageSize), Form: f})
}

func (m *Module) handleAdminAppCreate(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, "name", "slug", "description")
	app, err := m.createApp(r.Context(), appCreate{Name: f.Get("name"), Slug: f.Get("slug"), Description: f.Get("description")})
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return m.showApps(w, r, http.StatusBadRequest, f)
	}
	return admin.Redirect(w, r, "/admin/apps/"+app.Slug+"/", "App "+app.Name+" created.")
}

// settingField is one input of the settings form; Unset marks a setting
// that is null.
type settingField struct {
	Name, Value string
	Unset       bool
}

// appPage is an app with its settings form, its datatables and the form
// that creates one.
type appPage struct {
	admin.Page
	App        *taruvi.App
	Settings   []settingField
	Datatables []*taruvi.Datatable
	Form       admin.Form // the settings form shown again
	TableForm  admin.Form // the new datatable's form shown again
}

// newDefinition is what the new datatable's form starts with.
const newDefinition = `{
  "schema": {
    "fields": [
      {"name": "title", "type": "string", "constraints": {"required": true}}
    ]
  }
}`

func (m *Module) handleAdminAppGet(w http.ResponseWriter, r *http.Request) error {
	tf := admin.Form{Values: url.Values{"definition": {newDefinition}}}
	return m.showApp(w, r, http.StatusOK, admin.Form{}, tf)
}

func (m *Module) showApp(w http.ResponseWriter, r *http.Request, status int, f, tf admin.Form) error {
	slug := r.PathValue("app")
	app, err := m.findApp(r.Context(), slug)
	if err != nil {
		return err
	}
	s, err := m.findSettings(r.Context(), slug)
	if err != nil {
		return err
	}
	tables, err := m.listDatatables(r.Context(), slug)
	if err != nil {
		return err
	}
	values := []*string{s.DisplayName, s.Icon, s.IconURL, s.PrimaryColor, s.SecondaryColor, s.IconBackgroundColor,
		s.Category, s.DocumentationURL, s.SupportEmail, s.DefaultFrontendWorkerURL, s.DefaultFrontendWorkerSlug}
	settings := make([]settingField, len(settingsColumns))
	for i, col := range settingsColumns {
		settings[i] = settingField{Name: col, Value: deref(values[i]), Unset: values[i] == nil}
		if f.Values != nil {
			settings[i].Value = f.Get(col)
		}
	}
	return admin.Render(w, r, status, "apps/app", &appPage{Page: admin.PageFor(r, app.Name, "apps"), App: app,
		Settings: settings, Datatables: tables, Form: f, TableForm: tf})
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// handleAdminSettings saves the settings form. An input left empty
// clears its setting to null: a form cannot tell an unset setting from
// one set to "".
func (m *Module) handleAdminSettings(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, settingsColumns...)
	changes := map[string]*string{}
	for _, col := range settingsColumns {
		changes[col] = nil
		if v := f.Get(col); v != "" {
			changes[col] = &v
		}
	}
	if _, err := m.updateSettings(r.Context(), r.PathValue("app"), changes); err != nil {
		if !f.Fail(err) {
			return err
		}
		return m.showApp(w, r, http.StatusBadRequest, f, admin.Form{})
	}
	return admin.Redirect(w, r, "/admin/apps/"+r.PathValue("app")+"/", "Settings saved.")
}

// parseDefinition reads a definition typed as JSON into d, refusing
// members a definition does not have.
func parseDefinition(text string, d *taruvi.Datatable) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(d); err != nil {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "The definition is not valid JSON of a datatable.",
			Fields: map[string]string{"definition": err.Error()}}
	}
	return nil
}

func (m *Module) handleAdminDatatableCreate(w http.ResponseWriter, r *http.Request) error {
	tf := admin.NewForm(r, "name", "definition")
	var in taruvi.Datatable
	err := parseDefinition(tf.Get("definition"), &in)
	if err == nil {
		in.Name = tf.Get("name")
		_, err = m.createDatatable(r.Context(), r.PathValue("app"), &in)
	}
	if err != nil {
		if !tf.Fail(err) {
			return err
		}
		return m.showApp(w, r, http.StatusBadRequest, admin.Form{}, tf)
	}
	return admin.Redirect(w, r, "/admin/apps/"+r.PathValue("app")+"/datatables/"+in.Name+"/", "Datatable "+in.Name+" created.")
}

// datatablePage is a datatable's schema with the forms that change it
// and, once a change is asked for, its plan and the form that applies it.
type datatablePage struct {
	admin.Page
	App        string
	D          *taruvi.Datatable
	Types      []string
	Definition string // the definition as JSON, in the editor
	Form       admin.Form
	Plan       *DatatableChange // the plan of the change asked for
	Proposed   string           // the definition the plan applies, as JSON
}

func (m *Module) handleAdminDatatableGet(w http.ResponseWriter, r *http.Request) error {
	return m.showDatatable(w, r, http.StatusOK, admin.Form{}, nil, "")
}

func (m *Module) showDatatable(w http.ResponseWriter, r *http.Request, status int, f admin.Form, plan *DatatableChange, proposed string) error {
	d, err := m.findDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"))
	if err != nil {
		return err
	}
	def, err := editable(d)
	if err != nil {
		return err
	}
	if f.Values != nil && f.Get("definition") != "" {
		def = f.Get("definition")
	}
	return admin.Render(w, r, status, "apps/datatable", &datatablePage{Page: admin.PageFor(r, d.Name, "apps"), App: r.PathValue("app"),
		D: d, Types: taruvi.FieldTypes, Definition: def, Form: f, Plan: plan, Proposed: proposed})
}

// editable is a definition as the editor shows it: indented JSON without
// the row's id and times.
func editable(d *taruvi.Datatable) (string, error) {
	b, err := storedDefinition(d)
	if err != nil {
		return "", err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	delete(v, "id")
	delete(v, "created_at")
	delete(v, "updated_at")
	out, err := json.MarshalIndent(v, "", "  ")
	return string(out), err
}

// proposal is the definition a plan form asks for: the JSON of the
// editor (op "json"), or the stored one with a field added or changed
// (op "field") or removed (op "remove").
func (m *Module) proposal(r *http.Request, f admin.Form) (*taruvi.Datatable, error) {
	var d taruvi.Datatable
	if f.Get("op") == "json" {
		if err := parseDefinition(f.Get("definition"), &d); err != nil {
			return nil, err
		}
		return &d, nil
	}
	stored, err := m.findDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	d = *stored
	d.Schema.Fields = slices.Clone(stored.Schema.Fields)
	name := f.Get("field")
	i := slices.IndexFunc(d.Schema.Fields, func(x taruvi.TableField) bool { return x.Name == name })
	switch f.Get("op") {
	case "remove":
		if i < 0 {
			return nil, &taruvi.Error{Code: taruvi.EINVALID, Message: "No such field.", Fields: map[string]string{"field": "No field " + name + "."}}
		}
		d.Schema.Fields = slices.Delete(d.Schema.Fields, i, i+1)
	case "field":
		field := taruvi.TableField{Name: name, Type: f.Get("type")}
		if i >= 0 {
			field = d.Schema.Fields[i]
			field.Type = f.Get("type")
		}
		field.Constraints.Required = f.Get("required") == "on"
		if i >= 0 {
			d.Schema.Fields[i] = field
		} else {
			d.Schema.Fields = append(d.Schema.Fields, field)
		}
	default:
		return nil, taruvi.Errorf(taruvi.EBADREQUEST, "Unknown change.")
	}
	return &d, nil
}

func (m *Module) handleAdminDatatablePlan(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, "op", "field", "type", "required", "definition")
	d, err := m.proposal(r, f)
	var change *DatatableChange
	if err == nil {
		change, err = m.replaceDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"), d, true)
	}
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return m.showDatatable(w, r, http.StatusBadRequest, f, nil, "")
	}
	// The plan applies the definition with its renames; the proposal
	// carries them to the apply form.
	proposed, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return m.showDatatable(w, r, http.StatusOK, admin.Form{}, change, string(proposed))
}

func (m *Module) handleAdminDatatableApply(w http.ResponseWriter, r *http.Request) error {
	f := admin.NewForm(r, "definition")
	var d taruvi.Datatable
	err := parseDefinition(f.Get("definition"), &d)
	var change *DatatableChange
	if err == nil {
		change, err = m.replaceDatatable(r.Context(), r.PathValue("app"), r.PathValue("name"), &d, false)
	}
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return m.showDatatable(w, r, http.StatusBadRequest, f, nil, "")
	}
	return admin.Redirect(w, r, "/admin/apps/"+r.PathValue("app")+"/datatables/"+r.PathValue("name")+"/",
		"Datatable changed ("+plural(len(change.Statements), "statement")+").")
}

// plural is n nouns, in words a reader expects.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
