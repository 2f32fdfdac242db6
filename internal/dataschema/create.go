package dataschema

import (
	"fmt"
	"strings"

	"taruvi"
)

// Create returns the statements that create the physical table of d, a
// definition Normalize accepted with Table set: the table with a column
// per field and its constraints, its indexes, its search column with its
// GIN index, and the triggers that record its changes in the history.
// lookup resolves the datatables its foreign keys reference.
func Create(d *taruvi.Datatable, lookup Lookup) ([]string, error) {
	if d.Table == "" {
		return nil, fmt.Errorf("dataschema: create %s: no table name", d.Name)
	}
	key := d.Schema.Key()
	var defs []string
	for _, f := range d.Schema.Fields {
		defs = append(defs, columnSQL(f, key))
	}
	for _, f := range d.Schema.Fields {
		for _, c := range fieldConstraints(d.Table, f, key) {
			defs = append(defs, "CONSTRAINT "+quote(c.name)+" "+c.def)
		}
	}
	for _, fk := range d.Schema.ForeignKeys {
		c, err := foreignKeyConstraint(d, fk, lookup)
		if err != nil {
			return nil, err
		}
		defs = append(defs, "CONSTRAINT "+quote(c.name)+" "+c.def)
	}
	stmts := []string{fmt.Sprintf("CREATE TABLE %s (\n    %s\n)", quote(d.Table), strings.Join(defs, ",\n    "))}
	for _, x := range d.Indexes {
		stmts = append(stmts, indexSQL(d.Table, x))
	}
	stmts = append(stmts, searchSQL(d)...)
	return append(stmts, historySQL(d.Table)...), nil
}

// Drop returns the statement that drops the physical tables of ds, with
// their indexes and triggers, in one statement: tables of ds may
// reference each other. A table that a table not in ds references is not
// dropped: the statement fails (SQLSTATE 2BP01).
func Drop(ds ...*taruvi.Datatable) []string {
	if len(ds) == 0 {
		return nil
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = quote(d.Table)
	}
	return []string{"DROP TABLE " + strings.Join(names, ", ")}
}
