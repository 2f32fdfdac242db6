package dataapi

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"taruvi"
)

// aggregate is one item of _aggregate: a function over a column (nil for
// count(*)), named in results by name.
type aggregate struct {
	fn       string
	col      *column
	distinct bool
	sep      string // string_agg's separator
	name     string // the result's member: count, sum_total, or the alias
}

// aggregation is _aggregate, _group_by and _having.
type aggregation struct {
	aggs    []*aggregate
	groupBy []*column
	having  *havingExpr
}

// aggFuncs are the aggregate functions, with the field types they take
// ("" any type, "n" integer and number, "o" ordered non-boolean scalars).
var aggFuncs = map[string]string{
	"count": "", "sum": "n", "avg": "n", "min": "o", "max": "o", "stddev": "n", "variance": "n",
	"array_agg": "", "string_agg": "", "json_agg": "",
}

// collectingAggs are the aggregates whose result grows with the rows
// they read; a request takes at most maxCollecting of them.
var collectingAggs = map[string]bool{"array_agg": true, "string_agg": true, "json_agg": true}

// maxCollecting is how many collecting aggregates one request may ask for.
const maxCollecting = 5

// aggItemRE reads one aggregate: fn(*), fn(field), fn(distinct field),
// string_agg(field, 'sep'), each optionally "as alias".
var aggItemRE = regexp.MustCompile(`(?i)^\s*([a-z_]+)\s*\(\s*(distinct\s+)?(\*|[a-z_][a-z0-9_]*)\s*(?:,\s*'([^']{0,10})'\s*)?\)\s*(?:as\s+([a-z_][a-z0-9_]{0,62}))?\s*$`)

// parseAggregation reads _aggregate, _group_by and _having; nil when the
// request aggregates nothing.
func parseAggregation(values url.Values, t *table) (*aggregation, error) {
	aggText, groupText, havingText := values.Get("_aggregate"), values.Get("_group_by"), strings.Join(values["_having"], ",")
	if strings.TrimSpace(aggText) == "" && strings.TrimSpace(groupText) == "" {
		if strings.TrimSpace(havingText) != "" {
			return nil, fieldError("_having", "Give _aggregate or _group_by with _having.")
		}
		return nil, nil
	}
	a := &aggregation{}
	var err error
	if a.groupBy, err = columnList(t, groupText, "_group_by"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range a.groupBy {
		seen[c.Name] = true
	}
	items := splitTop(aggText)
	if len(items) > 50 {
		return nil, fieldError("_aggregate", "At most 50 aggregates.")
	}
	collecting := 0
	for _, item := range items {
		ag, err := parseAggregate(item, t)
		if err != nil {
			return nil, err
		}
		if collectingAggs[ag.fn] {
			if collecting++; collecting > maxCollecting {
				return nil, fieldError("_aggregate", fmt.Sprintf("At most %d of array_agg, string_agg and json_agg in one request.", maxCollecting))
			}
		}
		if seen[ag.name] {
			return nil, fieldError("_aggregate", fmt.Sprintf("The name %q is used twice; give an alias with as.", ag.name))
		}
		seen[ag.name] = true
		a.aggs = append(a.aggs, ag)
	}
	if len(a.aggs) == 0 {
		a.aggs = []*aggregate{{fn: "count", name: "count"}}
	}
	if strings.TrimSpace(havingText) != "" {
		if a.having, err = parseHaving(havingText, a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// splitTop splits s at the commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	out = append(out, s[start:])
	var kept []string
	for _, item := range out {
		if strings.TrimSpace(item) != "" {
			kept = append(kept, item)
		}
	}
	return kept
}

// parseAggregate reads one item of _aggregate.
func parseAggregate(item string, t *table) (*aggregate, error) {
	m := aggItemRE.FindStringSubmatch(item)
	if m == nil {
		return nil, fieldError("_aggregate", "Write each aggregate as fn(field) or fn(field) as name.")
	}
	fn := strings.ToLower(m[1])
	kind, ok := aggFuncs[fn]
	if !ok {
		return nil, fieldError("_aggregate", fmt.Sprintf("Unknown aggregate function %q.", fn))
	}
	a := &aggregate{fn: fn, distinct: m[2] != "", sep: m[4]}
	if m[4] != "" || strings.Contains(item, "'") {
		if fn != "string_agg" {
			return nil, fieldError("_aggregate", "Only string_agg takes a separator.")
		}
	} else if fn == "string_agg" {
		a.sep = ","
	}
	if m[3] == "*" {
		if fn != "count" || a.distinct {
			return nil, fieldError("_aggregate", fmt.Sprintf("%s(*) is not an aggregate; name a field.", fn))
		}
	} else {
		c, err := t.column(m[3], "_aggregate")
		if err != nil {
			return nil, err
		}
		switch {
		case kind == "n" && c.Type != taruvi.FieldInteger && c.Type != taruvi.FieldNumber:
			return nil, fieldError("_aggregate", fmt.Sprintf("%s takes a number field; %s is a %s.", fn, c.Name, c.Type))
		case kind == "o" && (!c.ordered() || c.Type == taruvi.FieldBoolean || c.Type == taruvi.FieldUUID): // PostgreSQL has no min or max of booleans or uuids
			return nil, fieldError("_aggregate", fmt.Sprintf("%s does not apply to the %s field %s.", fn, c.Type, c.Name))
		}
		a.col = c
	}
	switch {
	case m[5] != "":
		a.name = m[5]
	case a.col == nil:
		a.name = fn
	default:
		a.name = fn + "_" + a.col.Name
	}
	return a, nil
}

// byName returns the aggregate named name.
func (a *aggregation) byName(name string) *aggregate {
	for _, ag := range a.aggs {
		if ag.name == name {
			return ag
		}
	}
	return nil
}

// grouped reports whether c is a group field.
func (a *aggregation) grouped(c *column) bool {
	for _, g := range a.groupBy {
		if g == c {
			return true
		}
	}
	return false
}

// sql is the aggregate's expression over rows aliased t; b binds the
// separator of string_agg.
func (ag *aggregate) sql(b *builder) string {
	arg := "*"
	if ag.col != nil {
		arg = ag.col.expr()
		if ag.fn == "string_agg" {
			arg += "::text"
		}
		if ag.distinct {
			arg = "DISTINCT " + arg
		}
	}
	if ag.fn == "string_agg" {
		return "string_agg(" + arg + ", " + b.Bind(ag.sep) + "::text)"
	}
	return ag.fn + "(" + arg + ")"
}

// havingExpr is a parsed _having: comparisons of aggregates or group
// fields with values, combined by and/or (a comma is and).
type havingExpr struct {
	or, and bool
	kids    []*havingExpr
	agg     *aggregate
	col     *column
	op      string // = != > >= < <=
	value   string // text the operand's type reads
	numeric bool   // compare as numeric
}

// havingOps are the comparisons _having takes, as SQL spells them.
var havingOps = map[string]string{"=": "=", "==": "=", "!=": "<>", "<>": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}

// havingTokenRE splits a _having expression into tokens.
var havingTokenRE = regexp.MustCompile(`\s*(\(|\)|,|>=|<=|!=|<>|==|=|>|<|'[^']*'|"[^"]*"|[A-Za-z0-9_.+\-:]+)`)

// parseHaving reads a _having expression against the aggregation.
func parseHaving(s string, a *aggregation) (*havingExpr, error) {
	var toks []string
	rest := s
	for strings.TrimSpace(rest) != "" {
		m := havingTokenRE.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fieldError("_having", "Write conditions as name > value, joined by and, or and commas.")
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
		if len(toks) > 200 {
			return nil, fieldError("_having", "The expression is too long.")
		}
	}
	p := &havingParser{toks: toks, a: a}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fieldError("_having", fmt.Sprintf("Unexpected %q.", p.toks[p.i]))
	}
	return e, nil
}

// havingParser is a recursive descent parser of _having: or of ands of
// comparisons or parenthesized expressions.
type havingParser struct {
	toks []string
	i    int
	a    *aggregation
}

func (p *havingParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *havingParser) or(depth int) (*havingExpr, error) {
	e, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	out := &havingExpr{or: true, kids: []*havingExpr{e}}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, e)
	}
	return out, nil
}

func (p *havingParser) and(depth int) (*havingExpr, error) {
	e, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	out := &havingExpr{and: true, kids: []*havingExpr{e}}
	for t := p.peek(); strings.EqualFold(t, "and") || t == ","; t = p.peek() {
		p.i++
		e, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, e)
	}
	return out, nil
}

func (p *havingParser) term(depth int) (*havingExpr, error) {
	if depth > maxTreeDepth {
		return nil, fieldError("_having", "Nested too deep.")
	}
	if p.peek() == "(" {
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fieldError("_having", "A parenthesis is not closed.")
		}
		p.i++
		return e, nil
	}
	if p.i+3 > len(p.toks) {
		return nil, fieldError("_having", "Write conditions as name > value.")
	}
	name, op, value := p.toks[p.i], p.toks[p.i+1], p.toks[p.i+2]
	p.i += 3
	sqlOp, ok := havingOps[op]
	if !ok {
		return nil, fieldError("_having", fmt.Sprintf("Unknown comparison %q.", op))
	}
	if len(value) >= 2 && (value[0] == '\'' || value[0] == '"') {
		value = value[1 : len(value)-1]
	}
	e := &havingExpr{op: sqlOp}
	var operand *column
	if e.agg = p.a.byName(name); e.agg != nil {
		switch aggFuncs[e.agg.fn] {
		case "n":
			e.numeric = true
		case "o":
			operand = e.agg.col
		default:
			if e.agg.fn != "count" {
				return nil, fieldError("_having", fmt.Sprintf("%s cannot be compared.", name))
			}
			e.numeric = true
		}
	} else {
		for _, c := range p.a.groupBy {
			if c.Name == name {
				e.col, operand = c, c
			}
		}
		if e.col == nil {
			return nil, fieldError("_having", fmt.Sprintf("Unknown name %q: use an aggregate's name or a group field.", name))
		}
	}
	if e.numeric {
		if !numberRE.MatchString(value) {
			return nil, fieldError("_having", fmt.Sprintf("Compare %s with a number.", name))
		}
		e.value = value
		return e, nil
	}
	v, msg := operand.parseText(value)
	if msg != "" || operand.isJSON() {
		return nil, fieldError("_having", fmt.Sprintf("%s: %s", name, msg))
	}
	e.value = v
	return e, nil
}

// sql compiles the expression over rows aliased t.
func (e *havingExpr) sql(b *builder) string {
	if e.or || e.and {
		glue := " AND "
		if e.or {
			glue = " OR "
		}
		parts := make([]string, len(e.kids))
		for i, k := range e.kids {
			parts[i] = k.sql(b)
		}
		return "(" + strings.Join(parts, glue) + ")"
	}
	left, typ := "", ""
	switch {
	case e.col != nil:
		left, typ = e.col.expr(), e.col.sqlType
	case e.numeric:
		left, typ = e.agg.sql(b), "numeric"
	default:
		left, typ = e.agg.sql(b), e.agg.col.sqlType
	}
	return "(" + left + " " + e.op + " " + b.Bind(e.value) + "::text::" + typ + ")"
}
