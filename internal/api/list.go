package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

// listParams are the query parameters every list takes besides filters.
var listParams = []string{"page", "page_size", "ordering", "search"}

// stringOps and orderedOps are the operators each kind of field takes.
var (
	commonOps  = []string{taruvi.OpEq, taruvi.OpNe, taruvi.OpIn, taruvi.OpNull}
	orderedOps = []string{taruvi.OpGt, taruvi.OpGte, taruvi.OpLt, taruvi.OpLte}
	textOps    = []string{taruvi.OpContains, taruvi.OpIContains, taruvi.OpStartsWith, taruvi.OpEndsWith}
)

func opsFor(k taruvi.FieldKind) []string {
	switch k {
	case taruvi.KindString:
		return slices.Concat(commonOps, orderedOps, textOps)
	case taruvi.KindInt, taruvi.KindTime, taruvi.KindDate:
		return slices.Concat(commonOps, orderedOps)
	}
	return commonOps
}

// parseList reads page, page_size, ordering, search and filters from the
// query string against spec (whose text the server checked on arrival,
// web.CheckQuery). Every parameter must be known: an unknown
// field, operator or value is a 400 that names it, never ignored. extra
// names parameters the endpoint reads itself.
func parseList(r *http.Request, spec taruvi.ListSpec, extra ...string) (taruvi.ListQuery, error) {
	q := taruvi.ListQuery{Page: 1, PageSize: taruvi.DefaultPageSize}
	values := r.URL.Query()
	fields := map[string]string{}
	bad := func(param, msg string) { fields[param] = msg }

	if v := values.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1_000_000 {
			bad("page", "Use a whole number from 1.")
		} else {
			q.Page = n
		}
	}
	if v := values.Get("page_size"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > taruvi.MaxPageSize {
			bad("page_size", fmt.Sprintf("Use a whole number from 1 to %d.", taruvi.MaxPageSize))
		} else {
			q.PageSize = n
		}
	}
	if v := values.Get("ordering"); v != "" {
		for _, key := range strings.Split(v, ",") {
			name, desc := strings.CutPrefix(strings.TrimSpace(key), "-")
			if f, ok := spec.FieldByName(name); !ok || !f.Order {
				bad("ordering", fmt.Sprintf("Cannot order by %q.", name))
				continue
			}
			q.Order = append(q.Order, taruvi.Order{Field: name, Desc: desc})
		}
	}
	q.Search = strings.TrimSpace(values.Get("search"))
	switch {
	case q.Search != "" && !slices.ContainsFunc(spec.Fields, func(f taruvi.Field) bool { return f.Search }):
		bad("search", "This list cannot be searched.")
	case len(q.Search) > 200:
		bad("search", "Use at most 200 characters.")
	}
	for param, vs := range values {
		if slices.Contains(listParams, param) || slices.Contains(extra, param) {
			continue
		}
		name, op, hasOp := strings.Cut(param, "__")
		if !hasOp {
			op = taruvi.OpEq
		}
		f, ok := spec.FieldByName(name)
		if !ok || !f.Filter {
			bad(param, "Unknown filter.")
			continue
		}
		if !slices.Contains(opsFor(f.Kind), op) {
			bad(param, fmt.Sprintf("Unknown operator %q for %s.", op, name))
			continue
		}
		filter, err := parseFilter(f, op, vs[len(vs)-1])
		if err != nil {
			bad(param, err.Error())
			continue
		}
		q.Filters = append(q.Filters, filter)
	}
	if len(fields) > 0 {
		return q, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid list parameters.", Fields: fields}
	}
	// Map iteration order is random; a stable order keeps SQL (and plans) stable.
	slices.SortFunc(q.Filters, func(a, b taruvi.Filter) int { return strings.Compare(a.Field+a.Op, b.Field+b.Op) })
	return q, nil
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

// Pagination is the paging block of a list envelope.
type Pagination struct {
	Offset      int  `json:"offset"`
	Limit       int  `json:"limit"`
	Count       int  `json:"count"`
	CurrentPage int  `json:"current_page"`
	TotalPages  int  `json:"total_pages"`
	HasNext     bool `json:"has_next"`
	HasPrevious bool `json:"has_previous"`
}

// ListEnvelope is the body of every list response.
type ListEnvelope[T any] struct {
	Status     string     `json:"status"`
	Message    string     `json:"message"`
	Data       []T        `json:"data"`
	Total      int        `json:"total"`
	Pagination Pagination `json:"pagination"`
}

// list writes one page of items out of total.
func list[T any](w http.ResponseWriter, message string, items []T, total int, q taruvi.ListQuery) error {
	pages := (total + q.PageSize - 1) / q.PageSize
	web.WriteJSON(w, http.StatusOK, ListEnvelope[T]{
		Status: "success", Message: message, Data: nonNil(items), Total: total,
		Pagination: Pagination{Offset: q.Offset(), Limit: q.PageSize, Count: len(items), CurrentPage: q.Page,
			TotalPages: pages, HasNext: q.Page < pages, HasPrevious: q.Page > 1},
	})
	return nil
}
