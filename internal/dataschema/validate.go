package dataschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"taruvi"
)

// nameRE is what a datatable's, a field's and an index's name look like.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// reservedNames may not name a field: PostgreSQL's system columns, the
// generated search column, and the data API's own query parameters, which
// a filter on a field of that name would be mistaken for.
var reservedNames = []string{"oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid", SearchColumn,
	"page", "page_size", "ordering", "search", "fields", "populate", "filters", "filter", "ids",
	"unique_fields", "format", "include", "depth", "allowed_actions"}

// Referential actions a foreign key may take on delete.
var onDeleteActions = []string{"CASCADE", "SET NULL", "RESTRICT", "NO ACTION"}

// Index methods, and the field types each may index.
var indexMethods = map[string][]string{
	"btree": {taruvi.FieldString, taruvi.FieldInteger, taruvi.FieldNumber, taruvi.FieldBoolean, taruvi.FieldDate,
		taruvi.FieldDateTime, taruvi.FieldTime, taruvi.FieldUUID},
	"hash": {taruvi.FieldString, taruvi.FieldInteger, taruvi.FieldNumber, taruvi.FieldBoolean, taruvi.FieldDate,
		taruvi.FieldDateTime, taruvi.FieldTime, taruvi.FieldUUID},
	"gin":  {taruvi.FieldObject, taruvi.FieldArray},
	"gist": {},
	"brin": {taruvi.FieldString, taruvi.FieldInteger, taruvi.FieldNumber, taruvi.FieldDate,
		taruvi.FieldDateTime, taruvi.FieldTime, taruvi.FieldUUID},
}

// usersResources name the tenant's users as a foreign key's resource.
var usersResources = []string{"users", "auth_user"}

// problems collects what is wrong with a definition, per field of the
// request ("schema.fields.title", "indexes.0").
type problems map[string]string

func (p problems) add(where, format string, args ...any) {
	if _, ok := p[where]; !ok {
		p[where] = fmt.Sprintf(format, args...)
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid datatable definition.", Fields: p}
}

// CheckName returns EINVALID unless name is a valid name for a new
// datatable. The names of usersResources are refused: a foreign key to
// either resource means the tenant's users, so a datatable of that name
// could never be referenced.
func CheckName(name string) error {
	p := problems{}
	if checkName(p, "name", name) && slices.Contains(usersResources, name) {
		p.add("name", "%s names the tenant's users in foreign keys; choose another name.", name)
	}
	return p.err()
}

func checkName(p problems, where, name string) bool {
	switch {
	case name == "":
		p.add(where, "A name is required.")
	case len(name) > MaxNameLength:
		p.add(where, "At most %d characters.", MaxNameLength)
	case !nameRE.MatchString(name):
		p.add(where, "Lower-case letters, digits and _, starting with a letter.")
	case strings.Contains(name, "__"):
		p.add(where, "No double underscore: the data API separates a field from its operator with one.")
	default:
		return true
	}
	return false
}

// Normalize checks d and returns the definition as it is stored: the
// primary key named (a field id of type uuid is added when the schema
// names none), referential actions upper-case in OnDelete, foreign keys'
// referenced fields named, index methods and names filled in and search
// weights set. lookup resolves foreign keys to other datatables of the
// app; a foreign key to d itself (its own name, or an empty resource) is
// resolved against d. Every problem is an EINVALID whose Fields name
// where it is. Table, ID and the times are copied as they are.
func Normalize(d *taruvi.Datatable, lookup Lookup) (*taruvi.Datatable, error) {
	n := clone(d)
	p := problems{}
	checkName(p, "name", n.Name)
	if len(n.Schema.Fields) == 0 {
		p.add("schema.fields", "A datatable needs at least one field.")
	}
	seen := map[string]bool{}
	for i := range n.Schema.Fields {
		f := &n.Schema.Fields[i]
		where := "schema.fields." + f.Name
		if !checkName(p, "schema.fields."+fmt.Sprint(i), f.Name) {
			continue
		}
		switch {
		case slices.Contains(reservedNames, f.Name):
			p.add(where, "%s is a reserved name.", f.Name)
		case seen[f.Name]:
			p.add(where, "Two fields are named %s.", f.Name)
		}
		seen[f.Name] = true
		if f.RenameFrom != "" {
			checkName(p, where+".x-rename-from", f.RenameFrom)
		}
		checkField(p, where, f)
	}
	normalizeKey(p, &n.Schema)
	if len(p) == 0 {
		if err := normalizeForeignKeys(p, n, lookup); err != nil {
			return nil, err
		}
		normalizeIndexes(p, n)
		normalizeSearch(p, n)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return n, nil
}

// clone deep-copies what Normalize changes.
func clone(d *taruvi.Datatable) *taruvi.Datatable {
	n := *d
	n.Schema.Fields = slices.Clone(d.Schema.Fields)
	n.Schema.PrimaryKey = slices.Clone(d.Schema.PrimaryKey)
	n.Schema.ForeignKeys = slices.Clone(d.Schema.ForeignKeys)
	for i := range n.Schema.ForeignKeys {
		fk := &n.Schema.ForeignKeys[i]
		fk.Fields = slices.Clone(fk.Fields)
		fk.Reference.Fields = slices.Clone(fk.Reference.Fields)
	}
	n.Indexes = slices.Clone(d.Indexes)
	for i := range n.Indexes {
		n.Indexes[i].Fields = slices.Clone(n.Indexes[i].Fields)
	}
	n.SearchFields = slices.Clone(d.SearchFields)
	return &n
}

// checkField checks a field's type, constraints and default.
func checkField(p problems, where string, f *taruvi.TableField) {
	if !slices.Contains(taruvi.FieldTypes, f.Type) {
		p.add(where+".type", "Unknown type %q; want one of %s.", f.Type, strings.Join(taruvi.FieldTypes, ", "))
		return
	}
	c := &f.Constraints
	numeric := f.Type == taruvi.FieldInteger || f.Type == taruvi.FieldNumber
	if c.Minimum != nil || c.Maximum != nil {
		if !numeric {
			p.add(where+".constraints", "minimum and maximum apply to integer and number fields only.")
		}
		for name, v := range map[string]*json.Number{"minimum": c.Minimum, "maximum": c.Maximum} {
			if v != nil {
				if _, err := scalarLiteral(f.Type, json.RawMessage(v.String())); err != nil {
					p.add(where+".constraints."+name, "%s", err)
				}
			}
		}
		if c.Minimum != nil && c.Maximum != nil && numeric && compareNumbers(*c.Minimum, *c.Maximum) > 0 {
			p.add(where+".constraints", "minimum is above maximum.")
		}
	}
	if c.MinLength != nil || c.MaxLength != nil || c.Pattern != "" {
		if f.Type != taruvi.FieldString {
			p.add(where+".constraints", "minLength, maxLength and pattern apply to string fields only.")
		}
		if (c.MinLength != nil && *c.MinLength < 0) || (c.MaxLength != nil && *c.MaxLength < 0) {
			p.add(where+".constraints", "Lengths are not negative.")
		}
		if c.MinLength != nil && c.MaxLength != nil && *c.MinLength > *c.MaxLength {
			p.add(where+".constraints", "minLength is above maxLength.")
		}
	}
	if c.Pattern != "" {
		if _, err := regexp.CompilePOSIX(c.Pattern); err != nil || strings.ContainsRune(c.Pattern, 0) {
			p.add(where+".constraints.pattern", "Not a valid regular expression.")
		} else if msg := patternTooBig(c.Pattern); msg != "" {
			p.add(where+".constraints.pattern", "%s", msg)
		}
	}
	for i, v := range c.Enum {
		if _, err := valueLiteral(f.Type, v); err != nil {
			p.add(fmt.Sprintf("%s.constraints.enum.%d", where, i), "%s", err)
		}
	}
	if len(f.Default) > 0 && !bytes.Equal(bytes.TrimSpace(f.Default), []byte("null")) {
		if _, err := defaultSQL(f.Type, f.Default); err != nil {
			p.add(where+".default", "%s", err)
		}
	} else {
		f.Default = nil
	}
}

// normalizeKey names the primary key, adding the field id when the
// schema names none and has no field id.
func normalizeKey(p problems, s *taruvi.TableSchema) {
	switch len(s.PrimaryKey) {
	case 0:
		if _, ok := s.Field("id"); !ok {
			s.Fields = append([]taruvi.TableField{{Name: "id", Type: taruvi.FieldUUID}}, s.Fields...)
		}
		s.PrimaryKey = taruvi.Names{"id"}
	case 1:
	default:
		p.add("schema.primaryKey", "The primary key is one field.")
		return
	}
	key := s.PrimaryKey[0]
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.Name != key {
			continue
		}
		if f.Type != taruvi.FieldUUID && f.Type != taruvi.FieldInteger {
			p.add("schema.fields."+key+".type", "The primary key is a uuid or an integer field.")
		}
		if len(f.Default) > 0 {
			p.add("schema.fields."+key+".default", "The primary key is generated; it takes no default.")
		}
		f.Constraints.Required, f.Constraints.Unique = true, false
		return
	}
	p.add("schema.primaryKey", "No field is named %s.", key)
}

// normalizeForeignKeys resolves each foreign key and names its action.
// It returns the error of a lookup that failed for another reason than a
// missing datatable.
func normalizeForeignKeys(p problems, d *taruvi.Datatable, lookup Lookup) error {
	taken := map[string]bool{}
	for i := range d.Schema.ForeignKeys {
		fk := &d.Schema.ForeignKeys[i]
		where := fmt.Sprintf("schema.foreignKeys.%d", i)
		action := strings.ToUpper(strings.TrimSpace(fk.Action()))
		if action == "" {
			action = "NO ACTION"
		}
		if !slices.Contains(onDeleteActions, action) {
			p.add(where+".onDelete", "Want one of %s.", strings.Join(onDeleteActions, ", "))
			continue
		}
		fk.OnDelete, fk.XActions = action, nil
		if len(fk.Fields) != 1 {
			p.add(where+".fields", "A foreign key is one field.")
			continue
		}
		f, ok := d.Schema.Field(fk.Fields[0])
		if !ok {
			p.add(where+".fields", "No field is named %s.", fk.Fields[0])
			continue
		}
		if taken[f.Name] {
			p.add(where+".fields", "%s has a foreign key already.", f.Name)
			continue
		}
		taken[f.Name] = true
		if action == "SET NULL" && (f.Constraints.Required || f.Name == d.Schema.Key()) {
			p.add(where+".onDelete", "SET NULL needs a field that may be null; %s is required.", f.Name)
		}
		refType, err := resolveReference(d, &fk.Reference, lookup)
		var pr problem
		if errors.As(err, &pr) {
			p.add(where+".reference", "%s", pr)
			continue
		} else if err != nil {
			return err
		}
		if refType != f.Type {
			p.add(where+".fields", "%s is a %s field; the field it references is a %s.", f.Name, f.Type, refType)
		}
	}
	return nil
}

// resolveReference names the referenced field and returns its type.
func resolveReference(d *taruvi.Datatable, ref *taruvi.FKReference, lookup Lookup) (string, error) {
	if len(ref.Fields) > 1 {
		return "", problem("A foreign key references one field.")
	}
	if slices.Contains(usersResources, ref.Resource) {
		if len(ref.Fields) == 1 && ref.Fields[0] != "id" {
			return "", problem("The users are referenced by id.")
		}
		ref.Resource, ref.Fields = "users", taruvi.Names{"id"}
		return taruvi.FieldInteger, nil
	}
	target := d
	if ref.Resource == "" {
		ref.Resource = d.Name
	}
	if ref.Resource != d.Name {
		if lookup == nil {
			return "", problemf("No datatable %s in this app.", ref.Resource)
		}
		t, err := lookup(ref.Resource)
		if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
			return "", problemf("No datatable %s in this app.", ref.Resource)
		} else if err != nil {
			return "", err
		}
		target = t
	}
	if len(ref.Fields) == 0 {
		ref.Fields = taruvi.Names{target.Schema.Key()}
	}
	f, ok := target.Schema.Field(ref.Fields[0])
	switch {
	case !ok:
		return "", problemf("%s has no field %s.", ref.Resource, ref.Fields[0])
	case f.Name != target.Schema.Key() && !f.Constraints.Unique:
		return "", problemf("%s.%s is neither the primary key nor unique.", ref.Resource, f.Name)
	}
	return f.Type, nil
}

// normalizeIndexes checks the indexes and fills in their methods and names.
func normalizeIndexes(p problems, d *taruvi.Datatable) {
	names := map[string]bool{}
	for i := range d.Indexes {
		x := &d.Indexes[i]
		where := fmt.Sprintf("indexes.%d", i)
		if x.Method = strings.ToLower(x.Method); x.Method == "" {
			x.Method = "btree"
		}
		types, ok := indexMethods[x.Method]
		switch {
		case !ok:
			p.add(where+".method", "Want btree, hash, gin, gist or brin.")
			continue
		case len(x.Fields) == 0:
			p.add(where+".fields", "An index covers at least one field.")
			continue
		case x.Unique && x.Method != "btree":
			p.add(where+".unique", "Only a btree index may be unique.")
		case x.Method == "hash" && len(x.Fields) > 1:
			p.add(where+".fields", "A hash index covers one field.")
		}
		for _, name := range x.Fields {
			f, ok := d.Schema.Field(name)
			if !ok {
				p.add(where+".fields", "No field is named %s.", name)
			} else if !slices.Contains(types, f.Type) {
				p.add(where+".method", "A %s index cannot cover the %s field %s.", x.Method, f.Type, name)
			}
		}
		if x.Name == "" {
			x.Name = strings.Join(x.Fields, "_")
			if len(x.Name) > MaxNameLength {
				x.Name = x.Name[:MaxNameLength]
			}
			x.Name = strings.TrimRight(x.Name, "_")
			if names[x.Name] {
				x.Name = fmt.Sprintf("%s_%d", strings.TrimRight(x.Name[:min(len(x.Name), MaxNameLength-4)], "_"), i)
			}
		} else if x.Name == SearchColumn {
			// Its physical name would be that of the search column's index.
			p.add(where+".name", "%s names the index of the search fields; choose another name.", SearchColumn)
		} else {
			checkName(p, where+".name", x.Name)
		}
		if names[x.Name] {
			p.add(where+".name", "Two indexes are named %s.", x.Name)
		}
		names[x.Name] = true
	}
}

// normalizeSearch checks the search fields and sets their weights.
func normalizeSearch(p problems, d *taruvi.Datatable) {
	seen := map[string]bool{}
	for i := range d.SearchFields {
		s := &d.SearchFields[i]
		where := fmt.Sprintf("search_fields.%d", i)
		if s.Weight = strings.ToUpper(s.Weight); s.Weight == "" {
			s.Weight = "D"
		}
		f, ok := d.Schema.Field(s.Field)
		switch {
		case !ok:
			p.add(where, "No field is named %q.", s.Field)
		case f.Type != taruvi.FieldString:
			p.add(where, "%s is a %s field; only string fields are searched.", s.Field, f.Type)
		case seen[s.Field]:
			p.add(where, "%s is a search field twice.", s.Field)
		case !slices.Contains([]string{"A", "B", "C", "D"}, s.Weight):
			p.add(where+".weight", "Want A, B, C or D.")
		}
		seen[s.Field] = true
	}
}

// The bounds of a pattern: what checks a value against it costs grows
// with its compiled size, and values are checked in Go as well as by the
// database.
const (
	// MaxPatternLength is the most characters a pattern has.
	MaxPatternLength = 256
	// MaxPatternRepeat is the largest count of a counted repetition {n,m}.
	MaxPatternRepeat = 100
	// MaxPatternProgram is the most instructions a pattern compiles to.
	MaxPatternProgram = 2000
)

// patternTooBig says why a pattern that compiles is too costly to check
// values against, or returns "".
func patternTooBig(pattern string) string {
	if n := utf8.RuneCountInString(pattern); n > MaxPatternLength {
		return fmt.Sprintf("A pattern has at most %d characters.", MaxPatternLength)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		re, err = syntax.Parse(pattern, syntax.POSIX)
	}
	if err != nil {
		return "Not a valid regular expression."
	}
	if repeatTooBig(re) {
		return fmt.Sprintf("A counted repetition {n,m} counts at most %d.", MaxPatternRepeat)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > MaxPatternProgram {
		return "The pattern is too complex; write a simpler one."
	}
	return ""
}

// repeatTooBig reports whether re counts a repetition past
// MaxPatternRepeat.
func repeatTooBig(re *syntax.Regexp) bool {
	if re.Op == syntax.OpRepeat && (re.Min > MaxPatternRepeat || re.Max > MaxPatternRepeat) {
		return true
	}
	for _, sub := range re.Sub {
		if repeatTooBig(sub) {
			return true
		}
	}
	return false
}
