// Package dataschema turns the definition of a datatable (a
// Frictionless-style resource, taruvi.Datatable) into PostgreSQL DDL: it
// checks and normalizes a definition (Normalize), creates the physical
// table with its constraints, indexes, full-text search column and
// history triggers (Create), plans the change from one definition to
// another (Diff) and drops a table (Drop). It runs no SQL itself.
//
// A datatable's physical table holds exactly one column per field of its
// definition, plus, when the definition has search fields, the generated
// column search_vector (a reserved field name). Every identifier in the
// generated SQL comes from a definition that Normalize accepted, quoted;
// values of a definition (defaults, enum members, bounds, patterns) are
// written as quoted literals, since DDL takes no parameters.
//
// Changes of rows are recorded in the tenant's history by three
// statement-level triggers per table that call record_datatable_history(),
// a function the apps module's tenant migration creates: it reads the
// table's app slug, name and primary key from the datatables table, so
// that renaming an app keeps recording under its new slug.
package dataschema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// SearchColumn is the generated tsvector column of a table with search
// fields; no field may be named so.
const SearchColumn = "search_vector"

// MaxNameLength bounds the name of a datatable, a field and an index.
const MaxNameLength = 50

// Lookup returns the definition of the datatable named name in the same
// app (normalized, with Table set), for foreign keys; ENOTFOUND when the
// app has none of that name.
type Lookup func(name string) (*taruvi.Datatable, error)

// Plan is the DDL that changes a table from one definition to another.
type Plan struct {
	Statements []string `json:"statements"`
	// Rewrites is true when a statement rewrites the whole table (a type
	// change, a new search column): it holds an exclusive lock for as long
	// as copying the table takes.
	Rewrites bool `json:"rewrites"`
}

// TableName returns the physical table name of the datatable named name
// of the app whose id is appID: dt_<app id>_<name>.
func TableName(appID int64, name string) string {
	return ident("dt_" + strconv.FormatInt(appID, 10) + "_" + name)
}

// ConstraintKinds are the kinds of the constraints the DDL names after
// one field: ConstraintName(table, field, kind) for each.
var ConstraintKinds = []string{"type", "key", "enum", "min", "max", "minlen", "maxlen", "pattern", "fkey"}

// ConstraintName is the physical name of the constraint of kind (one of
// ConstraintKinds) on field of table: <table>_<field>_<kind>, shortened as
// every generated name is.
func ConstraintName(table, field, kind string) string {
	return ident(table + "_" + field + "_" + kind)
}

// ident returns s as a PostgreSQL identifier of at most 63 bytes: s
// itself when it fits, else its first 54 bytes and a hash of the whole,
// so that two long names stay apart.
func ident(s string) string {
	if len(s) <= 63 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:54] + "_" + hex.EncodeToString(sum[:4])
}

// problem is what is wrong with a value of a definition, a sentence
// shown to the caller as it is.
type problem string

func (p problem) Error() string { return string(p) }

// problemf formats a problem.
func problemf(format string, args ...any) error { return problem(fmt.Sprintf(format, args...)) }

// quote quotes an identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes a string as an SQL literal that reads the same whatever
// standard_conforming_strings is: a string holding a backslash is written
// as an escape string, E'…', with its backslashes doubled; every quote is
// doubled. (Normalize refuses NUL bytes.)
func literal(s string) string {
	escape := strings.ContainsRune(s, '\\')
	out := make([]byte, 0, len(s)+3)
	if escape {
		out = append(out, 'E')
	}
	out = append(out, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || (escape && s[i] == '\\') {
			out = append(out, s[i])
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
