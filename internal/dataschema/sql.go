package dataschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"taruvi"
)

// columnTypes are the PostgreSQL types of the field types.
var columnTypes = map[string]string{
	taruvi.FieldString: "text", taruvi.FieldInteger: "bigint", taruvi.FieldNumber: "numeric",
	taruvi.FieldBoolean: "boolean", taruvi.FieldDate: "date", taruvi.FieldDateTime: "timestamptz",
	taruvi.FieldTime: "time", taruvi.FieldUUID: "uuid", taruvi.FieldObject: "jsonb", taruvi.FieldArray: "jsonb",
}

// ColumnType returns the PostgreSQL type of a field type: string text,
// integer bigint, number numeric, boolean, date, datetime timestamptz,
// time, uuid, object and array jsonb; "" for an unknown type.
func ColumnType(fieldType string) string { return columnTypes[fieldType] }

var (
	jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
	timeRE       = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$`)
)

// scalarLiteral returns the SQL literal of a JSON value v of a field of
// type typ, cast to the column's type: numbers as written, the rest
// quoted. It refuses a value that is not of the type.
func scalarLiteral(typ string, v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	var s string
	isString := len(v) > 0 && v[0] == '"'
	if isString {
		if err := json.Unmarshal(v, &s); err != nil {
			return "", problem("Not a valid JSON string.")
		}
		if strings.ContainsRune(s, 0) {
			return "", problem("Text may not hold NUL characters.")
		}
	}
	switch typ {
	case taruvi.FieldString:
		if !isString {
			return "", problem("Want a string.")
		}
		return literal(s), nil
	case taruvi.FieldInteger:
		if !jsonNumberRE.Match(v) {
			return "", problem("Want an integer.")
		}
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return strconv.FormatInt(i, 10), nil
		}
		// 1.0 and 1e3 are integers too; the float's range bounds the work.
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f != math.Trunc(f) {
			return "", problem("Want an integer.")
		}
		if f < math.MinInt64 || f >= math.MaxInt64 {
			return "", problem("Out of range for an integer field.")
		}
		return strconv.FormatInt(int64(f), 10), nil
	case taruvi.FieldNumber:
		if !jsonNumberRE.Match(v) {
			return "", problem("Want a number.")
		}
		return string(v) + "::numeric", nil
	case taruvi.FieldBoolean:
		if string(v) != "true" && string(v) != "false" {
			return "", problem("Want true or false.")
		}
		return string(v), nil
	}
	if !isString {
		return "", problemf("Want a %s as a string.", typ)
	}
	var err error
	switch typ {
	case taruvi.FieldDate:
		_, err = time.Parse(time.DateOnly, s)
	case taruvi.FieldDateTime:
		_, err = time.Parse(time.RFC3339Nano, s)
	case taruvi.FieldTime:
		if !timeRE.MatchString(s) {
			err = problem("bad time")
		}
	case taruvi.FieldUUID:
		if !uuidRE.MatchString(s) {
			err = problem("bad uuid")
		}
	default:
		return "", problemf("A %s field takes no such value.", typ)
	}
	if err != nil {
		formats := map[string]string{taruvi.FieldDate: "YYYY-MM-DD", taruvi.FieldDateTime: "an RFC 3339 time",
			taruvi.FieldTime: "HH:MM[:SS]", taruvi.FieldUUID: "a UUID"}
		return "", problemf("Want %s.", formats[typ])
	}
	return literal(s) + "::" + columnTypes[typ], nil
}

// valueLiteral is scalarLiteral for every type: an object or an array
// field takes a JSON object or array.
func valueLiteral(typ string, v json.RawMessage) (string, error) {
	if typ != taruvi.FieldObject && typ != taruvi.FieldArray {
		return scalarLiteral(typ, v)
	}
	v = bytes.TrimSpace(v)
	want := byte('{')
	if typ == taruvi.FieldArray {
		want = '['
	}
	if len(v) == 0 || v[0] != want || !json.Valid(v) || bytes.Contains(v, []byte(`\u0000`)) {
		return "", problemf("Want a JSON %s.", typ)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, v)
	return literal(compact.String()) + "::jsonb", nil
}

// nowDefaults are the defaults of date and time fields that mean the
// time of the insert, spelled as a JSON string.
var nowDefaults = map[string]string{taruvi.FieldDate: "CURRENT_DATE", taruvi.FieldDateTime: "now()", taruvi.FieldTime: "LOCALTIME"}

// defaultSQL is the expression of a field's default: its value, or, for
// a date, datetime or time field, "now" for the time of the insert.
func defaultSQL(typ string, v json.RawMessage) (string, error) {
	if expr, ok := nowDefaults[typ]; ok && string(bytes.TrimSpace(v)) == `"now"` {
		return expr, nil
	}
	return valueLiteral(typ, v)
}

// compareNumbers compares two JSON numbers that scalarLiteral accepted.
func compareNumbers(a, b json.Number) int {
	x, _ := new(big.Float).SetPrec(200).SetString(a.String())
	y, _ := new(big.Float).SetPrec(200).SetString(b.String())
	if x == nil || y == nil {
		return 0
	}
	return x.Cmp(y)
}

// constraint is a named table constraint of the generated DDL.
type constraint struct {
	name string // physical name
	def  string // as in ADD CONSTRAINT name <def>
}

// fieldConstraints are the table constraints of a field of table (not
// NOT NULL, which is the column's, nor the primary key): the type check
// of an object or array, unique, enum, bounds, lengths, pattern.
func fieldConstraints(table string, f taruvi.TableField, key string) []constraint {
	col := quote(f.Name)
	name := func(kind string) string { return ConstraintName(table, f.Name, kind) }
	var out []constraint
	if f.Type == taruvi.FieldObject || f.Type == taruvi.FieldArray {
		out = append(out, constraint{name("type"), fmt.Sprintf("CHECK (jsonb_typeof(%s) = %s)", col, literal(f.Type))})
	}
	c := f.Constraints
	if c.Unique && f.Name != key {
		out = append(out, constraint{name("key"), fmt.Sprintf("UNIQUE (%s)", col)})
	}
	if len(c.Enum) > 0 {
		values := make([]string, len(c.Enum))
		for i, v := range c.Enum {
			values[i], _ = valueLiteral(f.Type, v)
		}
		out = append(out, constraint{name("enum"), fmt.Sprintf("CHECK (%s IN (%s))", col, strings.Join(values, ", "))})
	}
	if c.Minimum != nil {
		v, _ := scalarLiteral(f.Type, json.RawMessage(c.Minimum.String()))
		out = append(out, constraint{name("min"), fmt.Sprintf("CHECK (%s >= %s)", col, v)})
	}
	if c.Maximum != nil {
		v, _ := scalarLiteral(f.Type, json.RawMessage(c.Maximum.String()))
		out = append(out, constraint{name("max"), fmt.Sprintf("CHECK (%s <= %s)", col, v)})
	}
	if c.MinLength != nil {
		out = append(out, constraint{name("minlen"), fmt.Sprintf("CHECK (char_length(%s) >= %d)", col, *c.MinLength)})
	}
	if c.MaxLength != nil {
		out = append(out, constraint{name("maxlen"), fmt.Sprintf("CHECK (char_length(%s) <= %d)", col, *c.MaxLength)})
	}
	if c.Pattern != "" {
		out = append(out, constraint{name("pattern"), fmt.Sprintf("CHECK (%s ~ %s)", col, literal(c.Pattern))})
	}
	return out
}

// foreignKeyConstraint is the constraint of a foreign key of d, whose
// referenced datatables lookup resolves.
func foreignKeyConstraint(d *taruvi.Datatable, fk taruvi.ForeignKey, lookup Lookup) (constraint, error) {
	target := d.Table
	if fk.Reference.Resource == "users" {
		target = "users"
	} else if fk.Reference.Resource != d.Name {
		t, err := lookup(fk.Reference.Resource)
		if err != nil {
			return constraint{}, err
		}
		target = t.Table
	}
	return constraint{ConstraintName(d.Table, fk.Fields[0], "fkey"),
		fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s",
			quote(fk.Fields[0]), quote(target), quote(fk.Reference.Fields[0]), fk.OnDelete)}, nil
}

// columnSQL is a field's column definition in CREATE TABLE or ADD COLUMN.
func columnSQL(f taruvi.TableField, key string) string {
	s := quote(f.Name) + " " + columnTypes[f.Type]
	switch {
	case f.Name == key && f.Type == taruvi.FieldUUID:
		return s + " PRIMARY KEY DEFAULT gen_random_uuid()"
	case f.Name == key:
		return s + " GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	if len(f.Default) > 0 {
		def, _ := defaultSQL(f.Type, f.Default)
		s += " DEFAULT " + def
	}
	if f.Constraints.Required {
		s += " NOT NULL"
	}
	return s
}

// indexSQL is the CREATE INDEX statement of an index of table.
func indexSQL(table string, x taruvi.TableIndex) string {
	cols := make([]string, len(x.Fields))
	for i, f := range x.Fields {
		cols[i] = quote(f)
	}
	unique := ""
	if x.Unique {
		unique = "UNIQUE "
	}
	return fmt.Sprintf("CREATE %sINDEX %s ON %s USING %s (%s)", unique, quote(indexName(table, x.Name)),
		quote(table), x.Method, strings.Join(cols, ", "))
}

// indexName is the physical name of a table's index: index names are
// unique in a schema, so the table's name is part of it.
func indexName(table, name string) string { return ident(table + "_" + name + "_idx") }

// searchColumn is the definition of the search column of d, "" without
// search fields.
func searchColumn(d *taruvi.Datatable) string {
	if len(d.SearchFields) == 0 {
		return ""
	}
	parts := make([]string, len(d.SearchFields))
	for i, s := range d.SearchFields {
		parts[i] = fmt.Sprintf("setweight(to_tsvector(%s::regconfig, coalesce(%s, '')), %s)", literal(taruvi.SearchConfig), quote(s.Field), literal(s.Weight))
	}
	return fmt.Sprintf("%s tsvector GENERATED ALWAYS AS (%s) STORED", SearchColumn, strings.Join(parts, " || "))
}

// searchIndexSQL is the CREATE INDEX of the search column of d.
func searchIndexSQL(d *taruvi.Datatable) string {
	return fmt.Sprintf("CREATE INDEX %s ON %s USING gin (%s)", quote(indexName(d.Table, SearchColumn)), quote(d.Table), SearchColumn)
}

// searchSQL is the ADD COLUMN and CREATE INDEX of the search column of
// d, none without search fields.
func searchSQL(d *taruvi.Datatable) []string {
	col := searchColumn(d)
	if col == "" {
		return nil
	}
	return []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", quote(d.Table), col), searchIndexSQL(d)}
}

// historySQL are the triggers that record the changes of d's rows.
func historySQL(table string) []string {
	t := quote(table)
	return []string{
		"CREATE TRIGGER history_insert AFTER INSERT ON " + t +
			" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_datatable_history()",
		"CREATE TRIGGER history_update AFTER UPDATE ON " + t +
			" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_datatable_history()",
		"CREATE TRIGGER history_delete AFTER DELETE ON " + t +
			" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_datatable_history()",
	}
}
