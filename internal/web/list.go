package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"taruvi"
)

// ListParams names the query parameters of a list besides its filters,
// which differ between the surfaces: the API's follow the SDKs, the
// admin's are what its forms send.
type ListParams struct {
	Ordering string // comma-separated fields, "-" first for descending: "ordering" (API), "sort" (admin)
	Search   string // the text to search for: "search" (API), "q" (admin)
	// Filters, when set, are the only fields this list may be filtered by
	// (with any operator); nil allows every filter field of the spec.
	Filters []string
	// Extra names parameters the endpoint reads itself.
	Extra []string
	// Form says the query comes from an HTML form, which sends every
	// field: an empty value is no filter, and spaces around values go.
	Form bool
}

// APIList are the parameter names of the API's lists.
var APIList = ListParams{Ordering: "ordering", Search: "search"}

// FilterOps returns the operators a filter of kind takes.
func FilterOps(k taruvi.FieldKind) []string {
	common := []string{taruvi.OpEq, taruvi.OpNe, taruvi.OpIn, taruvi.OpNull}
	ordered := []string{taruvi.OpGt, taruvi.OpGte, taruvi.OpLt, taruvi.OpLte}
	text := []string{taruvi.OpContains, taruvi.OpIContains, taruvi.OpStartsWith, taruvi.OpEndsWith}
	switch k {
	case taruvi.KindString:
		return slices.Concat(common, ordered, text)
	case taruvi.KindInt, taruvi.KindTime, taruvi.KindDate:
		return slices.Concat(common, ordered)
	}
	return common
}

// ParseList reads page, page_size, the ordering, the search and the
// filters (field=value, field__op=value) of a list from values against
// spec. Every parameter must be known and hold text PostgreSQL can store
// (CheckValues): an unknown field, operator or value is EINVALID naming
// it, never ignored, so that a filter cannot silently vanish.
func ParseList(values url.Values, spec taruvi.ListSpec, p ListParams) (taruvi.ListQuery, error) {
	if err := CheckValues(values); err != nil {
		return taruvi.ListQuery{}, err
	}
	l := listParser{values: values, spec: spec, p: p, bad: map[string]string{},
		q: taruvi.ListQuery{Page: 1, PageSize: taruvi.DefaultPageSize}}
	l.paging()
	l.ordering()
	l.search()
	for param := range values {
		if !l.known(param) {
			l.filter(param)
		}
	}
	if len(l.bad) > 0 {
		return l.q, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid list parameters.", Fields: l.bad}
	}
	// Map iteration order is random; a stable order keeps SQL (and plans) stable.
	slices.SortFunc(l.q.Filters, func(a, b taruvi.Filter) int { return strings.Compare(a.Field+a.Op, b.Field+b.Op) })
	return l.q, nil
}

// listParser is the state of one ParseList.
type listParser struct {
	values url.Values
	spec   taruvi.ListSpec
	p      ListParams
	q      taruvi.ListQuery
	bad    map[string]string // parameter → what is wrong with it
}

// get returns the value of filter param (the last one given), trimmed in
// forms.
func (l *listParser) get(param string) string {
	vs := l.values[param]
	if len(vs) == 0 {
		return ""
	}
	if l.p.Form {
		return strings.TrimSpace(vs[len(vs)-1])
	}
	return vs[len(vs)-1]
}

func (l *listParser) known(param string) bool {
	return param == "page" || param == "page_size" || param == l.p.Ordering || param == l.p.Search ||
		slices.Contains(l.p.Extra, param)
}

func (l *listParser) paging() {
	if v := l.values.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1_000_000 {
			l.bad["page"] = "Use a whole number from 1."
		} else {
			l.q.Page = n
		}
	}
	if v := l.values.Get("page_size"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > taruvi.MaxPageSize {
			l.bad["page_size"] = fmt.Sprintf("Use a whole number from 1 to %d.", taruvi.MaxPageSize)
		} else {
			l.q.PageSize = n
		}
	}
}

func (l *listParser) ordering() {
	v := l.values.Get(l.p.Ordering)
	if v == "" {
		return
	}
	for key := range strings.SplitSeq(v, ",") {
		name, desc := strings.CutPrefix(strings.TrimSpace(key), "-")
		if f, ok := l.spec.FieldByName(name); !ok || !f.Order {
			l.bad[l.p.Ordering] = fmt.Sprintf("Cannot order by %q.", name)
			continue
		}
		l.q.Order = append(l.q.Order, taruvi.Order{Field: name, Desc: desc})
	}
}

func (l *listParser) search() {
	l.q.Search = strings.TrimSpace(l.values.Get(l.p.Search))
	switch {
	case l.q.Search != "" && !slices.ContainsFunc(l.spec.Fields, func(f taruvi.Field) bool { return f.Search }):
		l.bad[l.p.Search] = "This list cannot be searched."
	case len(l.q.Search) > 200:
		l.bad[l.p.Search] = "Use at most 200 characters."
	}
}

// filter reads the filter param: field=value or field__op=value.
func (l *listParser) filter(param string) {
	raw := l.get(param)
	if raw == "" && l.p.Form {
		return
	}
	name, op, hasOp := strings.Cut(param, "__")
	if !hasOp {
		op = taruvi.OpEq
	}
	f, ok := l.spec.FieldByName(name)
	if !ok || !f.Filter || l.p.Filters != nil && !slices.Contains(l.p.Filters, name) {
		l.bad[param] = "Unknown filter."
		return
	}
	if !slices.Contains(FilterOps(f.Kind), op) {
		l.bad[param] = fmt.Sprintf("Unknown operator %q for %s.", op, name)
		return
	}
	filter, err := parseFilter(f, op, raw)
	if err != nil {
		l.bad[param] = err.Error()
		return
	}
	l.q.Filters = append(l.q.Filters, filter)
}

// fieldProblem is what is wrong with one parameter, in words for the caller.
type fieldProblem string

func (p fieldProblem) Error() string { return string(p) }

func parseFilter(f taruvi.Field, op, raw string) (taruvi.Filter, error) {
	filter := taruvi.Filter{Field: f.Name, Op: op}
	switch op {
	case taruvi.OpNull:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return filter, fieldProblem("Use true or false.")
		}
		filter.Value = b
		return filter, nil
	case taruvi.OpIn:
		parts := strings.Split(raw, ",")
		if len(parts) > 100 {
			return filter, fieldProblem("Give at most 100 values.")
		}
		for _, p := range parts {
			v, err := parseValue(f, strings.TrimSpace(p))
			if err != nil {
				return filter, err
			}
			filter.Values = append(filter.Values, v)
		}
		return filter, nil
	}
	v, err := parseValue(f, raw)
	filter.Value = v
	return filter, err
}

func parseValue(f taruvi.Field, raw string) (any, error) {
	switch f.Kind {
	case taruvi.KindInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fieldProblem("Use a whole number.")
		}
		return n, nil
	case taruvi.KindBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fieldProblem("Use true or false.")
		}
		return b, nil
	case taruvi.KindTime:
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return nil, fieldProblem("Use an RFC 3339 time such as 2026-01-31T12:00:00Z.")
		}
		return t, nil
	case taruvi.KindDate:
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			return nil, fieldProblem("Use a date such as 2026-01-31.")
		}
		return t, nil
	case taruvi.KindEnum:
		if !slices.Contains(f.Enum, raw) {
			return nil, fieldProblem(fmt.Sprintf("Use one of %s.", strings.Join(f.Enum, ", ")))
		}
		return raw, nil
	}
	if len(raw) > 500 {
		return nil, fieldProblem("Use at most 500 characters.")
	}
	return raw, nil
}
