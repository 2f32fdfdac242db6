package dataapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// SearchConfig is the text search configuration search= and __search
// query with, the one the generated search_vector column is built with.
const SearchConfig = taruvi.SearchConfig

// sqlTypes are the PostgreSQL types of the field types, as values are cast
// to them in statements.
var sqlTypes = map[string]string{
	taruvi.FieldString: "text", taruvi.FieldInteger: "bigint", taruvi.FieldNumber: "numeric",
	taruvi.FieldBoolean: "boolean", taruvi.FieldDate: "date", taruvi.FieldDateTime: "timestamptz",
	taruvi.FieldTime: "time", taruvi.FieldUUID: "uuid", taruvi.FieldObject: "jsonb", taruvi.FieldArray: "jsonb",
}

// nameRE is what a field or table name must look like before it is
// spelled in SQL, whatever validated it before.
var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// column is a field of a datatable as statements use it.
type column struct {
	taruvi.TableField
	ident   string // the quoted identifier
	sqlType string
	pattern *compiledPattern // Constraints.Pattern, when Go's syntax reads it
	budget  *atomic.Int64    // the table's patternBudget left
	fk      *taruvi.ForeignKey
}

// table is a datatable's definition as statements use it: every
// identifier a statement holds comes from here.
type table struct {
	def    *taruvi.Datatable
	app    string // the slug of its app
	ident  string // the physical table's quoted name
	cols   []*column
	byName map[string]*column
	key    *column
	search bool         // the table has a search_vector
	budget atomic.Int64 // what checking patterns in Go may still cost, in steps
}

// newTable checks def and indexes its fields. A definition whose names
// could not be spelled safely is an internal error: the apps module
// validates them, this is the guard.
func newTable(def *taruvi.Datatable) (*table, error) {
	if !nameRE.MatchString(def.Table) {
		return nil, fmt.Errorf("datatable %q: physical table name %q", def.Name, def.Table)
	}
	t := &table{def: def, ident: pgx.Identifier{def.Table}.Sanitize(), byName: map[string]*column{}, search: len(def.SearchFields) > 0}
	t.budget.Store(patternBudget)
	for _, f := range def.Schema.Fields {
		typ, ok := sqlTypes[f.Type]
		if !nameRE.MatchString(f.Name) || !ok || t.byName[f.Name] != nil {
			return nil, fmt.Errorf("datatable %q: field %q of type %q", def.Name, f.Name, f.Type)
		}
		c := &column{TableField: f, ident: pgx.Identifier{f.Name}.Sanitize(), sqlType: typ, budget: &t.budget}
		if f.Constraints.Pattern != "" {
			c.pattern = compilePattern(f.Constraints.Pattern) // nil: the database's CHECK decides
		}
		t.cols = append(t.cols, c)
		t.byName[f.Name] = c
	}
	key := def.Schema.Key()
	if t.key = t.byName[key]; t.key == nil {
		if !nameRE.MatchString(key) {
			return nil, fmt.Errorf("datatable %q: primary key %q", def.Name, key)
		}
		// The key the definition leaves out is the generated uuid.
		t.key = &column{TableField: taruvi.TableField{Name: key, Type: taruvi.FieldUUID}, ident: pgx.Identifier{key}.Sanitize(), sqlType: "uuid"}
		t.cols = append([]*column{t.key}, t.cols...)
		t.byName[key] = t.key
	}
	for i := range def.Schema.ForeignKeys {
		fk := &def.Schema.ForeignKeys[i]
		if len(fk.Fields) == 1 && t.byName[fk.Fields[0]] != nil {
			t.byName[fk.Fields[0]].fk = fk
		}
	}
	return t, nil
}

// column returns the named field, or EINVALID naming it.
func (t *table) column(name, param string) (*column, error) {
	if c := t.byName[name]; c != nil {
		return c, nil
	}
	return nil, fieldError(param, fmt.Sprintf("Unknown field %q.", name))
}

// fieldError is EINVALID with one field's message.
func fieldError(field, msg string) error {
	return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid " + field + ": " + msg, Fields: map[string]string{field: msg}}
}

// expr is the column as an expression of the row alias t.
func (c *column) expr() string { return "t." + c.ident }

// cast is a bound text value cast to the column's type.
func (c *column) cast(placeholder string) string { return placeholder + "::text::" + c.sqlType }

// castList is a bound text array cast to an array of the column's type.
func (c *column) castList(placeholder string) string {
	return placeholder + "::text[]::" + c.sqlType + "[]"
}

func (c *column) isJSON() bool { return c.sqlType == "jsonb" }

func (c *column) ordered() bool { return !c.isJSON() }

// Text formats the query string and filter trees may spell a time of day,
// a date and a timestamp in.
var (
	timeLayouts     = []string{"15:04:05.999999999", "15:04"}
	dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02"}
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
	numberRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$`)
)

// parseText reads s, as a query string spells a value, for the column and
// returns the text PostgreSQL reads it from, or an error message.
func (c *column) parseText(s string) (string, string) {
	switch c.Type {
	case taruvi.FieldString:
		return s, ""
	case taruvi.FieldInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return "", "Want an integer."
		}
		return strconv.FormatInt(n, 10), ""
	case taruvi.FieldNumber:
		s = strings.TrimSpace(s)
		if !numberRE.MatchString(s) {
			return "", "Want a number."
		}
		return s, ""
	case taruvi.FieldBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes":
			return "true", ""
		case "false", "0", "no":
			return "false", ""
		}
		return "", "Want true or false."
	case taruvi.FieldDate:
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return "", "Want a date (2006-01-02)."
		}
		return d.Format(time.DateOnly), ""
	case taruvi.FieldDateTime:
		s = strings.TrimSpace(s)
		for _, layout := range dateTimeLayouts {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.UTC().Format(time.RFC3339Nano), ""
			}
		}
		return "", "Want a date and time (RFC 3339)."
	case taruvi.FieldTime:
		s = strings.TrimSpace(s)
		for _, layout := range timeLayouts {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.Format("15:04:05.999999"), ""
			}
		}
		return "", "Want a time of day (15:04:05)."
	case taruvi.FieldUUID:
		s = strings.TrimSpace(s)
		if !uuidRE.MatchString(s) {
			return "", "Want a UUID."
		}
		return strings.ToLower(s), ""
	case taruvi.FieldObject, taruvi.FieldArray:
		return c.checkJSON([]byte(s))
	}
	return "", "Unsupported field type."
}

// checkJSON checks that b is a JSON value of the column's JSON type and
// returns it compacted.
func (c *column) checkJSON(b []byte) (string, string) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "", "Want JSON."
	}
	want := byte('{')
	if c.Type == taruvi.FieldArray {
		want = '['
	}
	if buf.Len() == 0 || buf.Bytes()[0] != want {
		return "", "Want a JSON " + c.Type + "."
	}
	return buf.String(), ""
}

// parseJSON reads a JSON value of a body for the column: the value the
// row's JSON record holds (json null for NULL), or an error message.
func (c *column) parseJSON(raw json.RawMessage) (json.RawMessage, string) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if c.Constraints.Required {
			return nil, "This field is required."
		}
		return raw, ""
	}
	var text string
	switch c.Type {
	case taruvi.FieldObject, taruvi.FieldArray:
		s, msg := c.checkJSON(raw)
		if msg != "" {
			return nil, msg
		}
		return json.RawMessage(s), c.checkEnum(raw)
	case taruvi.FieldBoolean:
		if string(raw) != "true" && string(raw) != "false" {
			return nil, "Want true or false."
		}
		return raw, c.checkEnum(raw)
	case taruvi.FieldInteger, taruvi.FieldNumber:
		s := string(raw)
		if raw[0] == '"' {
			if c.Type == taruvi.FieldInteger || json.Unmarshal(raw, &s) != nil {
				if c.Type == taruvi.FieldInteger {
					return nil, "Want an integer."
				}
				return nil, "Want a number."
			}
		}
		if c.Type == taruvi.FieldInteger {
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				f, ok := new(big.Float).SetString(s)
				if !ok || !f.IsInt() {
					return nil, "Want an integer."
				}
				i, acc := f.Int64()
				if acc != big.Exact {
					return nil, "Want an integer."
				}
				s = strconv.FormatInt(i, 10)
			}
		} else if !numberRE.MatchString(s) {
			return nil, "Want a number."
		}
		if msg := c.checkRange(s); msg != "" {
			return nil, msg
		}
		return json.RawMessage(s), c.checkEnum(json.RawMessage(s))
	}
	if raw[0] != '"' || json.Unmarshal(raw, &text) != nil {
		return nil, "Want a string."
	}
	if c.Type == taruvi.FieldString {
		if msg := c.checkString(text); msg != "" {
			return nil, msg
		}
		return raw, c.checkEnum(raw)
	}
	s, msg := c.parseText(text)
	if msg != "" {
		return nil, msg
	}
	out, _ := json.Marshal(s)
	return out, c.checkEnum(raw)
}

// checkString checks a string value against the field's constraints.
func (c *column) checkString(s string) string {
	n := len([]rune(s))
	k := c.Constraints
	switch {
	case k.MinLength != nil && n < *k.MinLength:
		return fmt.Sprintf("Write at least %d characters.", *k.MinLength)
	case k.MaxLength != nil && n > *k.MaxLength:
		return fmt.Sprintf("Write at most %d characters.", *k.MaxLength)
	case !c.matches(s):
		return "Does not match the pattern " + k.Pattern + "."
	}
	return ""
}

// checkRange checks a number against minimum and maximum, exactly: the
// value and the bounds are compared as rationals, so a value past a bound
// by less than a float's precision is still past it.
func (c *column) checkRange(s string) string {
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return "Want a number."
	}
	k := c.Constraints
	if k.Minimum != nil {
		if m, ok := new(big.Rat).SetString(k.Minimum.String()); ok && v.Cmp(m) < 0 {
			return "Must be at least " + k.Minimum.String() + "."
		}
	}
	if k.Maximum != nil {
		if m, ok := new(big.Rat).SetString(k.Maximum.String()); ok && v.Cmp(m) > 0 {
			return "Must be at most " + k.Maximum.String() + "."
		}
	}
	return ""
}

// checkEnum checks a value against the field's enum, comparing JSON.
func (c *column) checkEnum(raw json.RawMessage) string {
	if len(c.Constraints.Enum) == 0 {
		return ""
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	for _, e := range c.Constraints.Enum {
		var w any
		if json.Unmarshal(e, &w) == nil && fmt.Sprint(w) == fmt.Sprint(v) {
			return ""
		}
	}
	return "Not one of the allowed values."
}

// Checking a value against a pattern in Go costs up to the value's
// length times the pattern's compiled size, in steps. Where that is more
// than the budget, the value is left to the database's CHECK, which runs
// under the statement timeout.
const (
	// valueBudget bounds the steps of checking one value.
	valueBudget = 1 << 20
	// patternBudget bounds the steps of checking the values of one request.
	patternBudget = 1 << 24
	// maxPatternProgram is the largest compiled pattern checked in Go.
	maxPatternProgram = 2000
	// maxPatterns bounds the compiled patterns kept.
	maxPatterns = 1024
)

// compiledPattern is a field's pattern as Go checks values against it.
type compiledPattern struct {
	re    *regexp.Regexp
	insts int64 // the size of its compiled program
}

// patterns are the compiled patterns, by their text, so that a
// definition's patterns are compiled once and not on every request.
var patterns struct {
	sync.Mutex
	m map[string]*compiledPattern
}

// compilePattern returns pattern compiled, or nil when Go's syntax does
// not read it or it is too large to check in Go.
func compilePattern(pattern string) *compiledPattern {
	patterns.Lock()
	cp, ok := patterns.m[pattern]
	patterns.Unlock()
	if ok {
		return cp
	}
	if re, err := regexp.Compile(pattern); err == nil {
		if parsed, err := syntax.Parse(pattern, syntax.Perl); err == nil {
			if prog, err := syntax.Compile(parsed.Simplify()); err == nil && len(prog.Inst) <= maxPatternProgram {
				cp = &compiledPattern{re: re, insts: int64(len(prog.Inst))}
			}
		}
	}
	patterns.Lock()
	if patterns.m == nil || len(patterns.m) >= maxPatterns {
		patterns.m = make(map[string]*compiledPattern)
	}
	patterns.m[pattern] = cp
	patterns.Unlock()
	return cp
}

// matches reports whether s matches the column's pattern as far as Go
// checks it: true when the column has no pattern, or when checking s
// would cost more than what is left of the budgets (the database's CHECK
// decides then).
func (c *column) matches(s string) bool {
	if c.pattern == nil {
		return true
	}
	cost := (int64(len(s)) + 1) * c.pattern.insts
	if cost > valueBudget || c.budget == nil || c.budget.Add(-cost) < 0 {
		return true
	}
	return c.pattern.re.MatchString(s)
}
