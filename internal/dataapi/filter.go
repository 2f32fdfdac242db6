package dataapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"taruvi"
)

// Operator families: which field types an operator applies to and how
// many values it takes.
const (
	argOne  = iota // one value
	argList        // a comma list or JSON array
	argTwo         // exactly two values
	argBool        // true or false
)

// opSpec describes one filter operator.
type opSpec struct {
	args   int
	text   bool // string fields only
	order  bool // fields with an order (not JSON)
	json   bool // object and array fields only
	negate bool // the negation of base
	base   string
}

// operators are every filter operator of the contract this API compiles.
var operators = map[string]opSpec{
	"eq": {args: argOne}, "ne": {args: argOne},
	"gt": {args: argOne, order: true}, "gte": {args: argOne, order: true},
	"lt": {args: argOne, order: true}, "lte": {args: argOne, order: true},
	"in": {args: argList, order: true}, "nin": {args: argList, order: true, negate: true, base: "in"},
	"ina": {args: argList, text: true}, "nina": {args: argList, text: true, negate: true, base: "ina"},
	"contains": {args: argOne, text: true}, "ncontains": {args: argOne, text: true, negate: true, base: "contains"},
	"containss": {args: argOne, text: true}, "ncontainss": {args: argOne, text: true, negate: true, base: "containss"},
	"icontains": {args: argOne, text: true}, "nicontains": {args: argOne, text: true, negate: true, base: "icontains"},
	"startswith": {args: argOne, text: true}, "nstartswith": {args: argOne, text: true, negate: true, base: "startswith"},
	"startswiths": {args: argOne, text: true}, "nstartswiths": {args: argOne, text: true, negate: true, base: "startswiths"},
	"endswith": {args: argOne, text: true}, "nendswith": {args: argOne, text: true, negate: true, base: "endswith"},
	"endswiths": {args: argOne, text: true}, "nendswiths": {args: argOne, text: true, negate: true, base: "endswiths"},
	"like": {args: argOne, text: true}, "ilike": {args: argOne, text: true},
	"search":  {args: argOne, text: true},
	"between": {args: argTwo, order: true}, "nbetween": {args: argTwo, order: true, negate: true, base: "between"},
	"null": {args: argBool}, "isnull": {args: argBool}, "nnull": {args: argBool},
	"acontains": {args: argList, json: true}, "nacontains": {args: argList, json: true, negate: true, base: "acontains"},
	"acontainedby": {args: argList, json: true}, "nacontainedby": {args: argList, json: true, negate: true, base: "acontainedby"},
	"aoverlap": {args: argList, json: true}, "naoverlap": {args: argList, json: true, negate: true, base: "aoverlap"},
	"aelement": {args: argOne, json: true}, "naelement": {args: argOne, json: true, negate: true, base: "aelement"},
}

// unsupported are operators of the contract for features datatables here
// do not have (range columns, hierarchies, vectors): a clear 400.
var unsupported = map[string]string{
	"rcontains": "range", "rcontainedby": "range", "roverlaps": "range", "radjacent": "range",
	"rstrictleft": "range", "rstrictright": "range", "descendants": "hierarchy", "ancestors": "hierarchy",
	"vector_near": "vector",
}

// Limits of a filter, so that no request costs without bound.
const (
	maxTreeDepth  = 12
	maxConditions = 200
	maxListValues = 1000
)

// condKind is a node of a filter tree.
type condKind int

const (
	condLeaf condKind = iota
	condAnd
	condOr
	condNot
)

// cond is a parsed, validated filter: a leaf (one field, one operator, its
// values as text PostgreSQL reads) or a boolean combination.
type cond struct {
	kind condKind
	col  *column
	op   string
	vals []string // parsed values; for argBool "true" or "false"
	kids []*cond
}

// filterParser parses filters against a table, counting conditions.
type filterParser struct {
	t *table
	n int
	// param is the parameter whose value is parsed, named by the error
	// of an empty and/or/not; "" is filters.
	param string
}

// emptyGroup is the error of an and, or or not without conditions: an
// empty or selects no row and its negation every row, so neither is
// taken for a filter.
func (p *filterParser) emptyGroup(op string) error {
	param := p.param
	if param == "" {
		param = "filters"
	}
	return fieldError(param, fmt.Sprintf("%q needs at least one condition.", op))
}

// leaf parses one Django-style key (field or field__op) with its raw
// values (each possibly a comma list); param names it in errors.
func (p *filterParser) leaf(key string, raw []string, split bool, param string) (*cond, error) {
	if p.n++; p.n > maxConditions {
		return nil, taruvi.Errorf(taruvi.EINVALID, "At most %d filter conditions.", maxConditions)
	}
	field, op := splitKey(p.t, key)
	c, err := p.t.column(field, param)
	if err != nil {
		return nil, err
	}
	return p.leafOp(c, op, raw, split, param)
}

// splitKey splits a Django-style key into its field and operator: a
// field's own name is eq, field__op the operator after the last "__".
func splitKey(t *table, key string) (field, op string) {
	if t.byName[key] == nil {
		if i := strings.LastIndex(key, "__"); i > 0 {
			return key[:i], key[i+2:]
		}
	}
	return key, "eq"
}

// leafOp parses a leaf of a known column and operator name. With split,
// each raw value of a list operator is a comma list.
func (p *filterParser) leafOp(c *column, op string, raw []string, split bool, param string) (*cond, error) {
	if kind, ok := unsupported[op]; ok {
		return nil, fieldError(param, fmt.Sprintf("The %s operator %q does not apply to datatables here.", kind, op))
	}
	spec, ok := operators[op]
	switch {
	case !ok:
		return nil, fieldError(param, fmt.Sprintf("Unknown operator %q.", op))
	case spec.text && c.Type != taruvi.FieldString:
		return nil, fieldError(param, fmt.Sprintf("The operator %q applies to string fields; %s is a %s.", op, c.Name, c.Type))
	case spec.order && !c.ordered():
		return nil, fieldError(param, fmt.Sprintf("The operator %q does not apply to the %s field %s.", op, c.Type, c.Name))
	case spec.json && !c.isJSON():
		return nil, fieldError(param, fmt.Sprintf("The operator %q applies to array and object fields; %s is a %s.", op, c.Name, c.Type))
	}
	out := &cond{kind: condLeaf, col: c, op: op}
	var err error
	if out.vals, err = parseValues(c, op, spec, raw, split, param); err != nil {
		return nil, err
	}
	return out, nil
}

// parseValues reads an operator's values for a column.
func parseValues(c *column, op string, spec opSpec, raw []string, split bool, param string) ([]string, error) {
	if spec.json {
		v, err := jsonOperand(op, raw, split, param)
		return []string{v}, err
	}
	if spec.args == argBool {
		if len(raw) != 1 {
			return nil, fieldError(param, "Want true or false.")
		}
		switch strings.ToLower(strings.TrimSpace(raw[0])) {
		case "true", "1", "yes":
			return []string{"true"}, nil
		case "false", "0", "no":
			return []string{"false"}, nil
		}
		return nil, fieldError(param, "Want true or false.")
	}
	var items []string
	if spec.args == argOne {
		if len(raw) != 1 {
			return nil, fieldError(param, "Want one value.")
		}
		items = raw
	} else {
		for _, r := range raw {
			if split {
				items = append(items, strings.Split(r, ",")...)
			} else {
				items = append(items, r)
			}
		}
		if len(items) == 0 || len(items) > maxListValues {
			return nil, fieldError(param, fmt.Sprintf("Want 1 to %d values.", maxListValues))
		}
		if spec.args == argTwo && len(items) != 2 {
			return nil, fieldError(param, "Want two values: low,high.")
		}
	}
	out := make([]string, len(items))
	for i, item := range items {
		if spec.text && op != "ina" && op != "nina" {
			out[i] = item // patterns and substrings are text as they are
			continue
		}
		v, msg := c.parseText(item)
		if msg != "" {
			return nil, fieldError(param, msg)
		}
		if op == "ina" || op == "nina" {
			v = strings.ToLower(v)
		}
		out[i] = v
	}
	return out, nil
}

// jsonOperand builds the JSON operand of an array operator: a JSON array
// given as is, or the comma list as an array of strings, numbers and
// booleans (aelement: one element). On an object field acontains and
// acontainedby take a JSON object.
func jsonOperand(op string, raw []string, split bool, param string) (string, error) {
	if len(raw) == 1 && split {
		if s := strings.TrimSpace(raw[0]); strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(s)) != nil {
				return "", fieldError(param, "Want a JSON array.")
			}
			if op == "aelement" || op == "naelement" {
				return "[" + buf.String() + "]", nil
			}
			return buf.String(), nil
		}
	}
	var items []any
	for _, r := range raw {
		parts := []string{r}
		if split && op != "aelement" && op != "naelement" {
			parts = strings.Split(r, ",")
		}
		for _, s := range parts {
			items = append(items, jsonScalar(s))
		}
	}
	if len(items) == 0 || len(items) > maxListValues || ((op == "aelement" || op == "naelement") && len(items) != 1) {
		return "", fieldError(param, "Want a list of values.")
	}
	b, _ := json.Marshal(items)
	return string(b), nil
}

// jsonScalar reads an element of a comma list as a JSON number, boolean
// or null when it is spelled as one, and as a string otherwise.
func jsonScalar(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if numberRE.MatchString(s) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return json.Number(s)
		}
	}
	return s
}

// tree parses a filters= value or a tree object of a filter= value: the
// array of {operator, value} nodes the JS SDK sends, or an object of
// Django-style keys with "and", "or" and "not" members.
func (p *filterParser) tree(raw json.RawMessage, depth int) (*cond, error) {
	if depth > maxTreeDepth {
		return nil, fieldError("filters", fmt.Sprintf("Nested deeper than %d.", maxTreeDepth))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fieldError("filters", "Want a JSON object or array.")
	}
	switch raw[0] {
	case '[':
		var nodes []json.RawMessage
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return nil, fieldError("filters", "Want a JSON array of conditions.")
		}
		return p.group(condAnd, nodes, depth)
	case '{':
		return p.object(raw, depth)
	case '"':
		// A tree sent as a JSON string inside JSON (filter={"filters":"..."}).
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fieldError("filters", "Want JSON.")
		}
		return p.tree(json.RawMessage(s), depth+1)
	}
	return nil, fieldError("filters", "Want a JSON object or array.")
}

// group parses nodes combined by kind.
func (p *filterParser) group(kind condKind, nodes []json.RawMessage, depth int) (*cond, error) {
	out := &cond{kind: kind}
	for _, n := range nodes {
		if p.n++; p.n > maxConditions {
			return nil, taruvi.Errorf(taruvi.EINVALID, "At most %d filter conditions.", maxConditions)
		}
		c, err := p.tree(n, depth+1)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, c)
	}
	return out, nil
}

// object parses one object node: {"operator": "and"|"or", "value": [...]},
// a leaf {"field", "operator", "value"}, or Django-style keys with and/or/not.
func (p *filterParser) object(raw json.RawMessage, depth int) (*cond, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fieldError("filters", "Want a JSON object.")
	}
	if opRaw, ok := m["operator"]; ok {
		var op string
		if json.Unmarshal(opRaw, &op) != nil {
			return nil, fieldError("filters", "operator must be a string.")
		}
		if fieldRaw, ok := m["field"]; ok {
			var field string
			if json.Unmarshal(fieldRaw, &field) != nil {
				return nil, fieldError("filters", "field must be a string.")
			}
			return p.jsonLeaf(field, op, m["value"])
		}
		var nodes []json.RawMessage
		if json.Unmarshal(m["value"], &nodes) != nil {
			return nil, fieldError("filters", "The value of an and/or node must be an array of conditions.")
		}
		if lop := strings.ToLower(op); len(nodes) == 0 && (lop == "and" || lop == "or" || lop == "not") {
			return nil, p.emptyGroup(lop)
		}
		switch strings.ToLower(op) {
		case "and":
			return p.group(condAnd, nodes, depth)
		case "or":
			return p.group(condOr, nodes, depth)
		case "not":
			g, err := p.group(condAnd, nodes, depth)
			return &cond{kind: condNot, kids: []*cond{g}}, err
		}
		return nil, fieldError("filters", fmt.Sprintf("Unknown logical operator %q.", op))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same request compiles to the same statement
	out := &cond{kind: condAnd}
	for _, k := range keys {
		v := m[k]
		var c *cond
		var err error
		switch strings.ToLower(k) {
		case "and", "or", "not", "$and", "$or", "$not":
			c, err = p.logical(strings.TrimPrefix(strings.ToLower(k), "$"), v, depth)
		default:
			c, err = p.djangoLeaf(k, v)
		}
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, c)
	}
	return out, nil
}

// logical parses the value of an and/or/not key: an array of nodes (or,
// for not, also one node).
func (p *filterParser) logical(op string, v json.RawMessage, depth int) (*cond, error) {
	v = bytes.TrimSpace(v)
	var nodes []json.RawMessage
	if len(v) > 0 && v[0] == '{' && op == "not" {
		nodes = []json.RawMessage{v}
	} else if json.Unmarshal(v, &nodes) != nil {
		return nil, fieldError("filters", fmt.Sprintf("The value of %q must be an array of conditions.", op))
	}
	if len(nodes) == 0 {
		return nil, p.emptyGroup(op)
	}
	kind := map[string]condKind{"and": condAnd, "or": condOr, "not": condAnd}[op]
	g, err := p.group(kind, nodes, depth)
	if err != nil || op != "not" {
		return g, err
	}
	return &cond{kind: condNot, kids: []*cond{g}}, nil
}

// djangoLeaf parses "field__op": value of a tree or a filter= object.
func (p *filterParser) djangoLeaf(key string, v json.RawMessage) (*cond, error) {
	vals, split, isNull, err := jsonValues(v, key)
	if err != nil {
		return nil, err
	}
	if isNull {
		// field: null is "is null", field__ne: null "is not null".
		field, op := splitKey(p.t, key)
		c, err := p.t.column(field, key)
		if err != nil {
			return nil, err
		}
		switch op {
		case "eq":
			return &cond{kind: condLeaf, col: c, op: "null", vals: []string{"true"}}, nil
		case "ne":
			return &cond{kind: condLeaf, col: c, op: "null", vals: []string{"false"}}, nil
		}
		return nil, fieldError(key, "null compares with eq and ne only.")
	}
	return p.leaf(key, vals, split, key)
}

// jsonLeaf parses {"field", "operator", "value"}.
func (p *filterParser) jsonLeaf(field, op string, v json.RawMessage) (*cond, error) {
	if p.n++; p.n > maxConditions {
		return nil, taruvi.Errorf(taruvi.EINVALID, "At most %d filter conditions.", maxConditions)
	}
	c, err := p.t.column(field, field)
	if err != nil {
		return nil, err
	}
	vals, split, isNull, err := jsonValues(v, field)
	if err != nil {
		return nil, err
	}
	if isNull {
		switch op {
		case "eq", "":
			return &cond{kind: condLeaf, col: c, op: "null", vals: []string{"true"}}, nil
		case "ne":
			return &cond{kind: condLeaf, col: c, op: "null", vals: []string{"false"}}, nil
		}
		return nil, fieldError(field, "null only compares with eq or ne.")
	}
	if op == "" {
		op = "eq"
	}
	return p.leafOp(c, op, vals, split, field)
}

// jsonValues turns a JSON value of a tree into the text values a leaf
// parses: a string as is (a comma list for list operators: split), a
// number or boolean as spelled, an array as its elements, each one value
// whatever commas it holds, an array or object whole when it is JSON
// itself (a JSON operand, an object or array field's value).
func jsonValues(v json.RawMessage, param string) (vals []string, split, isNull bool, err error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return nil, false, true, nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return nil, false, false, fieldError(param, "Invalid JSON value.")
	}
	switch v[0] {
	case '"':
		var s string
		_ = json.Unmarshal(v, &s)
		return []string{s}, true, false, nil
	case '[':
		var items []json.RawMessage
		_ = json.Unmarshal(v, &items)
		if len(items) > maxListValues {
			return nil, false, false, fieldError(param, fmt.Sprintf("At most %d values.", maxListValues))
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, _, isNull, err := jsonValues(it, param)
			if err != nil || isNull || len(s) != 1 {
				// Not a list of scalars: JSON as it is, for JSON operators.
				return []string{buf.String()}, true, false, nil
			}
			out = append(out, s[0])
		}
		return out, false, false, nil
	}
	return []string{buf.String()}, false, false, nil
}
