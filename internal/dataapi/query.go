package dataapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"taruvi"
)

// Paging of the data API: the contract's clients send page_size up to a
// thousand.
const (
	defaultPageSize = 20
	maxPageSize     = 1000
)

// order is one key of an ordering: a column, or an aggregate's result.
type order struct {
	col  *column
	agg  *aggregate
	desc bool
}

// listQuery is a parsed, validated list request. It holds no text of the
// request that a statement would spell: columns point into the table's
// definition, values are bound.
type listQuery struct {
	where    *cond
	order    []order
	page     int
	pageSize int
	count    bool      // _count=true: the total alone
	fields   []*column // the projection; nil for every field
	search   string    // search=, when the table has a search vector
	populate *populateTree
	agg      *aggregation
	actions  []string // allowed_actions=
}

// reserved are the query parameters of a list besides its filters.
var reserved = map[string]bool{"page": true, "page_size": true, "ordering": true, "fields": true, "populate": true,
	"search": true, "_count": true, "filters": true, "_aggregate": true, "_group_by": true, "_having": true,
	"allowed_actions": true, "format": true, "include": true, "depth": true, "relationship_type": true}

// vectorParams are the SDKs' parameters of vector and hybrid search.
var vectorParams = map[string]bool{"_topk": true, "_vector_threshold": true, "_vector_ef_search": true, "_vector_metric": true,
	"_hybrid_strategy": true, "_hybrid_alpha": true}

// parseList reads a list request's query string against t. Every
// parameter must be known: an unknown one is EINVALID naming it.
func parseList(values url.Values, t *table) (*listQuery, error) {
	q := &listQuery{page: 1, pageSize: defaultPageSize}
	var err error
	if err := checkGraph(values); err != nil {
		return nil, err
	}
	if q.page, err = intParam(values, "page", 1, 1, 1_000_000); err != nil {
		return nil, err
	}
	if q.pageSize, err = intParam(values, "page_size", defaultPageSize, 1, maxPageSize); err != nil {
		return nil, err
	}
	if v := values.Get("_count"); v != "" {
		if q.count, err = boolParam("_count", v); err != nil {
			return nil, err
		}
	}
	if q.where, err = parseWhere(values, t); err != nil {
		return nil, err
	}
	if q.fields, err = columnList(t, values.Get("fields"), "fields"); err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(values.Get("search")); s != "" && t.search {
		q.search = s
	}
	if q.actions, err = parseActions(values.Get("allowed_actions")); err != nil {
		return nil, err
	}
	if q.agg, err = parseAggregation(values, t); err != nil {
		return nil, err
	}
	if q.order, err = parseOrdering(values.Get("ordering"), t, q.agg); err != nil {
		return nil, err
	}
	return q, nil
}

// parseWhere reads the filters of a query string: field and field__op
// keys (repeated keys ANDed) and the filters= tree, ANDed together.
func parseWhere(values url.Values, t *table) (*cond, error) {
	p := &filterParser{t: t}
	where := &cond{kind: condAnd}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if reserved[k] {
			continue
		}
		if vectorParams[k] {
			return nil, fieldError(k, "Vector and hybrid search are not available on this datatable.")
		}
		for _, v := range values[k] {
			c, err := p.leaf(k, []string{v}, true, k)
			if err != nil {
				return nil, err
			}
			where.kids = append(where.kids, c)
		}
	}
	for _, f := range values["filters"] {
		if strings.TrimSpace(f) == "" {
			continue
		}
		c, err := p.tree(json.RawMessage(f), 0)
		if err != nil {
			return nil, err
		}
		where.kids = append(where.kids, c)
	}
	return where, nil
}

// parseFilterParam reads the filter= of a bulk delete: a JSON object of
// Django-style keys, whose "filters" member may hold a tree (or its JSON
// text).
func parseFilterParam(raw string, t *table) (*cond, error) {
	p := &filterParser{t: t}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fieldError("filter", "Want a JSON object of filters.")
	}
	where := &cond{kind: condAnd}
	if tree, ok := m["filters"]; ok {
		delete(m, "filters")
		c, err := p.tree(tree, 0)
		if err != nil {
			return nil, err
		}
		where.kids = append(where.kids, c)
	}
	rest, _ := json.Marshal(m)
	p.param = "filter"
	c, err := p.object(rest, 0)
	if err != nil {
		return nil, err
	}
	where.kids = append(where.kids, c)
	return where, nil
}

// empty reports whether a filter selects every row.
func (c *cond) empty() bool {
	if c == nil {
		return true
	}
	if c.kind == condLeaf {
		return false
	}
	for _, k := range c.kids {
		if !k.empty() {
			return false
		}
	}
	return c.kind != condNot
}

// intParam reads an integer parameter within [lo, hi]; absent is def.
func intParam(values url.Values, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(values.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(name, fmt.Sprintf("Want an integer from %d to %d.", lo, hi))
	}
	return n, nil
}

// boolParam reads true or false, in any case.
func boolParam(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no", "":
		return false, nil
	}
	return false, fieldError(name, "Want true or false.")
}

// columnList reads a comma list of field names.
func columnList(t *table, v, param string) ([]*column, error) {
	var out []*column
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		c, err := t.column(name, param)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parseOrdering reads ordering=-a,b: fields of the table, or with
// aggregates the group fields and the aggregates' names.
func parseOrdering(v string, t *table, agg *aggregation) ([]order, error) {
	var out []order
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		desc := strings.HasPrefix(name, "-")
		name = strings.TrimPrefix(strings.TrimPrefix(name, "-"), "+")
		if name == "" {
			continue
		}
		if agg != nil {
			if a := agg.byName(name); a != nil {
				out = append(out, order{agg: a, desc: desc})
				continue
			}
			if c := t.byName[name]; c != nil && agg.grouped(c) {
				out = append(out, order{col: c, desc: desc})
				continue
			}
			return nil, fieldError("ordering", fmt.Sprintf("Order aggregates by a group field or an aggregate, not %q.", name))
		}
		c, err := t.column(name, "ordering")
		if err != nil {
			return nil, err
		}
		out = append(out, order{col: c, desc: desc})
	}
	return out, nil
}

// errBadRequest is a 400 for a request that cannot be understood.
func errBadRequest(format string, args ...any) error {
	return taruvi.Errorf(taruvi.EBADREQUEST, format, args...)
}
