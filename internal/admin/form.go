package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// form is a posted form as a page shows it again: the values typed (never
// passwords) and what is wrong with each field.
type form struct {
	Values  url.Values
	Errors  map[string]string
	Message string
}

// maxFormMemory is how much of a multipart form is held in memory; the
// rest goes to temporary files.
const maxFormMemory = 1 << 20

// parseForm reads r's posted form, urlencoded or multipart, once for the
// handlers after it. A form Go would read in part (a semicolon, a
// malformed escape) is a 400, and text PostgreSQL cannot store is refused
// before any handler sees it (web.CheckValues).
func parseForm(r *http.Request) error {
	// ParseMultipartForm keeps an error of ParseForm to itself when the
	// body is not multipart, so ParseForm is asked first.
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(maxFormMemory); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "The form could not be read (%v).", err)
	}
	return web.CheckValues(r.PostForm)
}

// newForm keeps the named fields of r's posted form.
func newForm(r *http.Request, names ...string) form {
	f := form{Values: url.Values{}, Errors: map[string]string{}}
	for _, n := range names {
		f.Values.Set(n, strings.TrimSpace(r.PostFormValue(n)))
	}
	return f
}

// Get returns the value typed into field name.
func (f form) Get(name string) string { return f.Values.Get(name) }

// Error returns what is wrong with field name, or "".
func (f form) Error(name string) string { return f.Errors[name] }

// Fail records err in the form when it is the user's to fix (bad input, a
// conflict, a throttle, bad credentials) and reports whether it did;
// other errors are the page's to render.
func (f *form) Fail(err error) bool {
	var te *taruvi.Error
	if !errors.As(err, &te) {
		return false
	}
	switch te.Code {
	case taruvi.EINVALID, taruvi.ECONFLICT, taruvi.ERATELIMITED, taruvi.EUNAUTHORIZED, taruvi.ETOOLARGE:
	default:
		return false
	}
	f.Message = te.Message
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	for k, v := range te.Fields {
		f.Errors[k] = v
	}
	return true
}

// formInt reads a whole number from a posted field; empty is 0.
func formInt(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid form.", Fields: map[string]string{name: "Use a whole number."}}
	}
	return n, nil
}

// pathID reads the {name} path value as an id; a malformed one is a 404.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, taruvi.Errorf(taruvi.ENOTFOUND, "Not found.")
	}
	return n, nil
}

// listView is a server-side list as the page shows it: the query it came
// from, and links to other pages and orderings of it.
type listView struct {
	Path   string
	Query  url.Values
	Search string
	Sort   string
	Page   int
	Pages  int
	Total  int
}

// parseList reads a list's page, sort, search (q) and the named filters
// from the query string, checked against spec by the parser the API uses
// (web.ParseList): an unknown parameter, field or operator, or text
// PostgreSQL cannot store, is a 400 naming the parameter. An empty filter
// is none, as the list's form sends every field.
func parseList(r *http.Request, spec taruvi.ListSpec, filters ...string) (taruvi.ListQuery, listView, error) {
	values := r.URL.Query()
	q, err := web.ParseList(values, spec, web.ListParams{Ordering: "sort", Search: "q", Filters: filters, Form: true})
	v := listView{Path: r.URL.Path + "/", Query: url.Values{}, Search: q.Search, Sort: values.Get("sort"), Page: q.Page}
	if err != nil {
		return q, v, err
	}
	// Links to other pages and orderings keep the rest of the query.
	for k, vs := range values {
		if val := strings.TrimSpace(vs[len(vs)-1]); k != "page" && val != "" {
			v.Query.Set(k, val)
		}
	}
	return q, v, nil
}

// withTotal completes the view once the total is known.
func (v listView) withTotal(total, pageSize int) listView {
	v.Total = total
	v.Pages = max((total+pageSize-1)/pageSize, 1)
	return v
}

// URL returns the list's address with key set to value; the query never
// holds the page, so any other change starts again from page 1.
func (v listView) URL(key, value string) string {
	q := url.Values{}
	for k, vs := range v.Query {
		q[k] = vs
	}
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	if s := q.Encode(); s != "" {
		return v.Path + "?" + s
	}
	return v.Path
}

// PageURL links to page n.
func (v listView) PageURL(n int) string { return v.URL("page", strconv.Itoa(n)) }

// SortURL links to the list ordered by field, flipping the direction when
// it is ordered by field already.
func (v listView) SortURL(field string) string {
	if v.Sort == field {
		return v.URL("sort", "-"+field)
	}
	return v.URL("sort", field)
}

// HasPrev and HasNext say whether there are pages around this one.
func (v listView) HasPrev() bool { return v.Page > 1 }

// HasNext reports whether a later page exists.
func (v listView) HasNext() bool { return v.Page < v.Pages }
