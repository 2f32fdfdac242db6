package dataapi

import (
	"strconv"
	"strings"
)

// builder collects the bound values of a statement as it is written.
// Every value of a request reaches a statement through Bind; the text of
// a statement holds only constants of this package and identifiers of a
// datatable's definition.
type builder struct {
	args []any
}

// Bind binds v as the statement's next parameter and returns its
// placeholder ($3).
func (b *builder) Bind(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// rowJSON is a row of the table aliased t as its JSON object, without
// the generated search vector.
const rowJSON = "to_jsonb(t) - 'search_vector'"

// where compiles a filter over rows aliased t; an empty filter is TRUE.
func (c *cond) sql(b *builder) string {
	switch c.kind {
	case condAnd, condOr:
		if len(c.kids) == 0 {
			if c.kind == condOr {
				return "FALSE"
			}
			return "TRUE"
		}
		glue := " AND "
		if c.kind == condOr {
			glue = " OR "
		}
		parts := make([]string, len(c.kids))
		for i, k := range c.kids {
			parts[i] = k.sql(b)
		}
		return "(" + strings.Join(parts, glue) + ")"
	case condNot:
		return "(NOT coalesce(" + c.kids[0].sql(b) + ", false))"
	}
	spec := operators[c.op]
	if spec.negate {
		base := &cond{kind: condLeaf, col: c.col, op: spec.base, vals: c.vals}
		return "(NOT coalesce(" + base.sql(b) + ", false))"
	}
	col := c.col.expr()
	one := func() string { return c.col.cast(b.Bind(c.vals[0])) }
	switch c.op {
	case "eq":
		return "(" + col + " = " + one() + ")"
	case "ne":
		return "(" + col + " IS DISTINCT FROM " + one() + ")"
	case "gt", "gte", "lt", "lte":
		sym := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[c.op]
		return "(" + col + " " + sym + " " + one() + ")"
	case "in":
		return "(" + col + " = ANY(" + c.col.castList(b.Bind(c.vals)) + "))"
	case "ina":
		return "(lower(" + col + ") = ANY(" + b.Bind(c.vals) + "::text[]))"
	case "between":
		return "(" + col + " BETWEEN " + c.col.cast(b.Bind(c.vals[0])) + " AND " + c.col.cast(b.Bind(c.vals[1])) + ")"
	case "null", "isnull", "nnull":
		isNull := (c.vals[0] == "true") == (c.op != "nnull")
		if isNull {
			return "(" + col + " IS NULL)"
		}
		return "(" + col + " IS NOT NULL)"
	case "contains", "icontains", "containss", "startswith", "startswiths", "endswith", "endswiths":
		pattern := likeEscape(c.vals[0])
		if !strings.HasPrefix(c.op, "startswith") {
			pattern = "%" + pattern
		}
		if !strings.HasPrefix(c.op, "endswith") {
			pattern += "%"
		}
		like := " ILIKE "
		if strings.HasSuffix(c.op, "ss") || c.op == "startswiths" || c.op == "endswiths" {
			like = " LIKE "
		}
		return "(" + col + like + b.Bind(pattern) + "::text)"
	case "like":
		return "(" + col + " LIKE " + b.Bind(c.vals[0]) + "::text)"
	case "ilike":
		return "(" + col + " ILIKE " + b.Bind(c.vals[0]) + "::text)"
	case "search":
		return "(to_tsvector('" + SearchConfig + "', coalesce(" + col + ", '')) @@ websearch_to_tsquery('" + SearchConfig + "', " + b.Bind(c.vals[0]) + "::text))"
	case "acontains", "aelement":
		return "(" + col + " @> " + b.Bind(c.vals[0]) + "::text::jsonb)"
	case "acontainedby":
		return "(" + col + " <@ " + b.Bind(c.vals[0]) + "::text::jsonb)"
	case "aoverlap":
		return "(jsonb_typeof(" + col + ") = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + col +
			") = 'array' THEN " + col + " ELSE '[]' END) a(v) WHERE a.v IN (SELECT jsonb_array_elements(" + b.Bind(c.vals[0]) + "::text::jsonb))))"
	}
	panic("dataapi: operator without SQL: " + c.op) // operators and this switch are kept together by tests
}

// likeEscape escapes LIKE's wildcards and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// orderSQL compiles an ordering, adding the key (when not aggregating)
// so pages are stable.
func orderSQL(q *listQuery, t *table, b *builder, rank string) string {
	var parts []string
	hasKey := false
	for _, o := range q.order {
		e := ""
		if o.agg != nil {
			e = o.agg.sql(b)
		} else {
			e = o.col.expr()
			hasKey = hasKey || o.col == t.key
		}
		if o.desc {
			e += " DESC"
		}
		parts = append(parts, e)
	}
	if rank != "" {
		parts = append(parts, rank+" DESC")
	}
	if q.agg == nil && !hasKey {
		parts = append(parts, t.key.expr())
	}
	if len(parts) == 0 {
		return ""
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}
