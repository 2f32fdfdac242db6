package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// parseList reads a list's page, sort, search (q) and the named equality
// filters from the query string, checked against spec: what spec does not
// allow is a 400 naming the parameter.
func parseList(r *http.Request, spec taruvi.ListSpec, filters ...string) (taruvi.ListQuery, listView, error) {
	values := r.URL.Query()
	q := taruvi.ListQuery{Page: 1, PageSize: taruvi.DefaultPageSize, Search: strings.TrimSpace(values.Get("q"))}
	v := listView{Path: r.URL.Path + "/", Query: url.Values{}, Search: q.Search}
	bad := map[string]string{}
	if p := values.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			bad["page"] = "Use a whole number from 1."
		}
		q.Page = max(n, 1)
	}
	if s := values.Get("sort"); s != "" {
		name, desc := strings.CutPrefix(s, "-")
		if f, ok := spec.FieldByName(name); ok && f.Order {
			q.Order = []taruvi.Order{{Field: name, Desc: desc}}
			v.Sort = s
			v.Query.Set("sort", s)
		} else {
			bad["sort"] = fmt.Sprintf("Cannot sort by %q.", name)
		}
	}
	if q.Search != "" {
		v.Query.Set("q", q.Search)
		if len(q.Search) > 200 {
			bad["q"] = "Use at most 200 characters."
		}
	}
	for _, name := range filters {
		raw := strings.TrimSpace(values.Get(name))
		if raw == "" {
			continue
		}
		f, _ := spec.FieldByName(name)
		val, ok := parseFilterValue(f, raw)
		if !ok {
			bad[name] = "Invalid value."
			continue
		}
		q.Filters = append(q.Filters, taruvi.Filter{Field: name, Op: taruvi.OpEq, Value: val})
		v.Query.Set(name, raw)
	}
	v.Page = q.Page
	if len(bad) > 0 {
		return q, v, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid list parameters.", Fields: bad}
	}
	return q, v, nil
}

func parseFilterValue(f taruvi.Field, raw string) (any, bool) {
	switch f.Kind {
	case taruvi.KindInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		return n, err == nil
	case taruvi.KindEnum:
		return raw, slices.Contains(f.Enum, raw)
	case taruvi.KindString:
		return raw, len(raw) <= 200
	}
	return nil, false
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
