package apps

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/dataapi"
)

// The row browser: a tenant admin page per datatable listing its rows
// through the data API's Go methods, filtered, ordered and paged by a
// query string in the API's own syntax (age__gte=30&ordering=-age&page=2),
// with a row edited in place, rows deleted and added. The page's filter
// form sends a field, an operator and a value (f, op, v), which the page
// turns into field__op=value and sends the browser back to.

// rowsAdminPages are the row browser's pages.
func (m *Module) rowsAdminPages() []taruvi.AdminPage {
	const base = "/admin/apps/{app}/datatables/{name}/rows"
	return []taruvi.AdminPage{
		{Pattern: "GET " + base, Handler: m.handleAdminRows},
		{Pattern: "POST " + base, Handler: m.handleAdminRowCreate},
		{Pattern: "POST " + base + "/update", Handler: m.handleAdminRowUpdate},
		{Pattern: "POST " + base + "/delete", Handler: m.handleAdminRowDelete},
	}
}

// rowsPath is the row browser's address for a datatable.
func rowsPath(app, table string) string {
	return "/admin/apps/" + url.PathEscape(app) + "/datatables/" + url.PathEscape(table) + "/rows/"
}

// listKeys are the list parameters of the data API that are not filters.
var listKeys = map[string]bool{"page": true, "page_size": true, "ordering": true, "search": true}

// rowsPage is a page of a datatable's rows with the forms that filter,
// edit, delete and add them.
type rowsPage struct {
	admin.Page
	App, Table string
	Base       string // the page's path
	Columns    []dataapi.Column
	Rows       []rowView
	Total      int
	PageNo     int
	PageSize   int
	Pages      int
	PrevURL    string
	NextURL    string
	Operators  []string
	Filters    []filterView
	Search     string
	Searchable bool   // the table has search fields
	Back       string // the list's query, for the forms to come back to
	List       admin.Form
	rowsState
	query url.Values
}

// rowsState is what a failed form leaves on the page shown again.
type rowsState struct {
	Edit     string     // the key of the row edited in place
	EditForm admin.Form // its values typed and errors
	NewForm  admin.Form // the new row's
	Action   admin.Form // a delete's error
}

// rowView is a row as the page shows it.
type rowView struct {
	Key   string
	Cells []cell
}

// cell is a field's value as text, as an input shows it too.
type cell struct {
	Name string
	Text string
	Null bool
	Key  bool // the primary key, which an edit cannot change
}

// maxCellRunes is how much of a value a cell shows; the row's edit
// shows all of it.
const maxCellRunes = 120

// Short is the cell's text cut to maxCellRunes.
func (c cell) Short() string {
	if r := []rune(c.Text); len(r) > maxCellRunes {
		return string(r[:maxCellRunes]) + "…"
	}
	return c.Text
}

// PageSizes are the page sizes the page offers.
func (p *rowsPage) PageSizes() []int { return []int{20, 50, 100, 500} }

// filterView is an active filter with the address of the list without it.
type filterView struct {
	Label     string
	RemoveURL string
}

// URL is the list with key set to value ("" removes it), from page 1.
func (p *rowsPage) URL(key, value string) string {
	q := url.Values{}
	for k, vs := range p.query {
		q[k] = vs
	}
	q.Del("page")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	return p.Base + "?" + q.Encode()
}

// SortURL orders the list by field, flipping the direction when it is
// ordered by field already.
func (p *rowsPage) SortURL(field string) string {
	if p.query.Get("ordering") == field {
		return p.URL("ordering", "-"+field)
	}
	return p.URL("ordering", field)
}

// SortMark is ▲ or ▼ on the column the list is ordered by.
func (p *rowsPage) SortMark(field string) string {
	switch p.query.Get("ordering") {
	case field:
		return " ▲"
	case "-" + field:
		return " ▼"
	}
	return ""
}

// EditValue is what the input of field shows in the row edited in place:
// what was typed when the change failed, else the row's value.
func (p *rowsPage) EditValue(c cell) string {
	if v, ok := p.EditForm.Values["v."+c.Name]; ok {
		return v[0]
	}
	return c.Text
}

// KeptQuery is the list's query less its page, which the filter form
// sends along with the filter it adds.
func (p *rowsPage) KeptQuery() url.Values {
	q := url.Values{}
	for k, vs := range p.query {
		q[k] = vs
	}
	q.Del("page")
	return q
}

// EditURL is the list with the row of key edited in place.
func (p *rowsPage) EditURL(key string) string {
	q := url.Values{}
	for k, vs := range p.query {
		q[k] = vs
	}
	q.Set("edit", key)
	return p.Base + "?" + q.Encode()
}

// pageURL links to page n of the list.
func (p *rowsPage) pageURL(n int) string {
	q := url.Values{}
	for k, vs := range p.query {
		q[k] = vs
	}
	q.Set("page", strconv.Itoa(n))
	return p.Base + "?" + q.Encode()
}

// listQuery is the data API query of a request to the list: the filter
// form's f, op and v become field__op=v, and the page's own parameters
// (edit) are dropped.
func listQuery(values url.Values) (q url.Values, folded bool) {
	q = url.Values{}
	for k, vs := range values {
		switch k {
		case "f", "op", "v", "edit":
			continue
		}
		for _, v := range vs {
			if strings.TrimSpace(v) != "" {
				q.Add(k, v)
			}
		}
	}
	if f := strings.TrimSpace(values.Get("f")); f != "" {
		key := f
		if op := strings.TrimSpace(values.Get("op")); op != "" && op != "eq" {
			key += "__" + op
		}
		q.Add(key, values.Get("v"))
		folded = true
	}
	return q, folded
}

func (m *Module) handleAdminRows(w http.ResponseWriter, r *http.Request) error {
	q, folded := listQuery(r.URL.Query())
	if folded {
		// The filter form's choice, as an address in the API's syntax.
		http.Redirect(w, r, rowsPath(r.PathValue("app"), r.PathValue("name"))+"?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	return m.showRows(w, r, http.StatusOK, q, rowsState{Edit: r.URL.Query().Get("edit")})
}

// showRows renders the list of query q with the forms of st.
func (m *Module) showRows(w http.ResponseWriter, r *http.Request, status int, q url.Values, st rowsState) error {
	ctx := r.Context()
	app, table := r.PathValue("app"), r.PathValue("name")
	cols, err := m.data.Columns(ctx, app, table)
	if err != nil {
		return err
	}
	p := &rowsPage{Page: admin.PageFor(r, table+" · "+app, "apps"), App: app, Table: table, Base: rowsPath(app, table),
		Columns: cols, Operators: dataapi.Operators(), Search: q.Get("search"), Back: q.Encode(), rowsState: st,
		query: q, PageNo: 1, PageSize: 20, Pages: 1}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if listKeys[k] {
			continue
		}
		vs := q[k]
		for _, v := range vs {
			rest := url.Values{}
			for k2, vs2 := range q {
				rest[k2] = vs2
			}
			rest[k] = without(vs, v)
			rest.Del("page")
			p.Filters = append(p.Filters, filterView{Label: k + " = " + v, RemoveURL: p.Base + "?" + rest.Encode()})
		}
	}
	rows, err := m.data.ListRows(ctx, app, table, q)
	if err != nil {
		if !p.List.Fail(err) {
			return err
		}
		status = admin.FormErrorStatus(err)
	} else {
		p.Total, p.PageNo, p.PageSize, p.Pages, p.Searchable = rows.Total, rows.Page, rows.PageSize, rows.Pages, rows.Search
		if p.PageNo > 1 {
			p.PrevURL = p.pageURL(p.PageNo - 1)
		}
		if p.PageNo < p.Pages {
			p.NextURL = p.pageURL(p.PageNo + 1)
		}
		for _, row := range rows.Rows {
			v := rowView{Key: row.Key}
			for _, c := range cols {
				text, null := cellText(row.Values[c.Name])
				v.Cells = append(v.Cells, cell{Name: c.Name, Text: text, Null: null, Key: c.Key})
			}
			p.Rows = append(p.Rows, v)
		}
	}
	return admin.Render(w, r, status, "apps/rows", p)
}

// without is vs less one v.
func without(vs []string, v string) []string {
	var out []string
	dropped := false
	for _, x := range vs {
		if x == v && !dropped {
			dropped = true
			continue
		}
		out = append(out, x)
	}
	return out
}

// cellText is a JSON value as a cell and an input show it: a string
// without quotes, other values as JSON, NULL as "".
func cellText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s, false
	}
	return string(raw), false
}

// postedBack is the list's query a form came from.
func postedBack(r *http.Request) url.Values {
	q, err := url.ParseQuery(r.PostFormValue("back"))
	if err != nil {
		return url.Values{}
	}
	return q
}

// postedValues are the fields' values a form posted as v.<field>, only
// those that differ from o.<field> when changed is set (the row's values
// when the page showed it).
func postedValues(r *http.Request, cols []dataapi.Column, changed bool) map[string]string {
	out := map[string]string{}
	for _, c := range cols {
		v, ok := r.PostForm["v."+c.Name]
		if !ok {
			continue
		}
		if changed {
			if o, ok := r.PostForm["o."+c.Name]; ok && o[0] == v[0] {
				continue
			}
		}
		out[c.Name] = v[0]
	}
	return out
}

// rowForm keeps the posted values of a row's form to show them again.
func rowForm(r *http.Request, cols []dataapi.Column) admin.Form {
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		names = append(names, "v."+c.Name)
	}
	f := admin.NewForm(r, names...)
	for _, n := range names {
		if _, ok := r.PostForm[n]; !ok {
			f.Values.Del(n)
		} else {
			f.Values.Set(n, r.PostForm.Get(n)) // as typed, spaces kept
		}
	}
	return f
}

// fieldErrors names the form's inputs v.<field> in the errors of err.
func fieldErrors(f *admin.Form) {
	for k, v := range f.Errors {
		f.Errors["v."+k] = v
	}
}

func (m *Module) handleAdminRowCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app, table := r.PathValue("app"), r.PathValue("name")
	cols, err := m.data.Columns(ctx, app, table)
	if err != nil {
		return err
	}
	back := postedBack(r)
	if _, err := m.data.CreateRow(ctx, app, table, postedValues(r, cols, false)); err != nil {
		f := rowForm(r, cols)
		if !f.Fail(err) {
			return err
		}
		fieldErrors(&f)
		return m.showRows(w, r, http.StatusBadRequest, back, rowsState{NewForm: f})
	}
	return admin.Redirect(w, r, rowsPath(app, table)+"?"+back.Encode(), "Row added.")
}

func (m *Module) handleAdminRowUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app, table := r.PathValue("app"), r.PathValue("name")
	cols, err := m.data.Columns(ctx, app, table)
	if err != nil {
		return err
	}
	back, id := postedBack(r), r.PostFormValue("id")
	if _, err := m.data.UpdateRow(ctx, app, table, id, postedValues(r, cols, true)); err != nil {
		f := rowForm(r, cols)
		if !f.Fail(err) {
			return err
		}
		fieldErrors(&f)
		return m.showRows(w, r, http.StatusBadRequest, back, rowsState{Edit: id, EditForm: f})
	}
	return admin.Redirect(w, r, rowsPath(app, table)+"?"+back.Encode(), "Row "+id+" saved.")
}

func (m *Module) handleAdminRowDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app, table := r.PathValue("app"), r.PathValue("name")
	back, id := postedBack(r), r.PostFormValue("id")
	if err := m.data.DeleteRow(ctx, app, table, id); err != nil {
		var f admin.Form
		if !f.Fail(err) {
			return err
		}
		return m.showRows(w, r, admin.FormErrorStatus(err), back, rowsState{Action: f})
	}
	return admin.Redirect(w, r, rowsPath(app, table)+"?"+back.Encode(), "Row "+id+" deleted.")
}
