package dataschema

import (
	"fmt"
	"slices"

	"taruvi"
)

// Diff plans the change of a table from the definition old to new, both
// accepted by Normalize, for the same Table: fields of new that old lacks
// are added, fields of old that new lacks are dropped, a field of new
// whose x-rename-from names a field of old renames that column (keeping
// its data; a rename already applied is ignored), changed types,
// defaults, required and other constraints are altered, and changed
// indexes, foreign keys and search fields are dropped and made again. The
// primary key may be renamed, never changed. A definition equal to old
// plans no statement. lookup resolves the datatables foreign keys
// reference. Bad changes are EINVALID naming the field.
func Diff(old, new *taruvi.Datatable, lookup Lookup) (Plan, error) {
	if old.Table == "" || old.Table != new.Table {
		return Plan{}, fmt.Errorf("dataschema: diff %s: tables %q and %q", new.Name, old.Table, new.Table)
	}
	pl := &planner{old: old, new: new, table: quote(new.Table), renamed: map[string]string{}, lookup: lookup}
	if err := pl.match(); err != nil {
		return Plan{}, err
	}
	if err := pl.foreignKeys(); err != nil {
		return Plan{}, err
	}
	pl.fields()
	pl.indexes()
	pl.search()
	return pl.plan(), nil
}

// planner collects a Diff's statements by phase, so that what depends on
// a column is dropped before it and made after it.
type planner struct {
	old, new *taruvi.Datatable
	table    string
	lookup   Lookup
	// renamed maps each old field kept to its new name; the old fields
	// missing from it are dropped.
	renamed map[string]string
	// typeChanged are the new names of fields whose column type changes.
	typeChanged map[string]bool

	dropSearch, dropIndexes, dropConstraints, renames, dropColumns  []string
	alterColumns, addColumns, addConstraints, addIndexes, addSearch []string
	rewrites                                                        bool
}

// match pairs the fields of new with those of old, by name or by
// x-rename-from.
func (pl *planner) match() error {
	p := problems{}
	for _, f := range pl.new.Schema.Fields {
		from := f.Name
		if f.RenameFrom != "" && f.RenameFrom != f.Name {
			_, hasFrom := pl.old.Schema.Field(f.RenameFrom)
			_, hasName := pl.old.Schema.Field(f.Name)
			_, fromKept := pl.new.Schema.Field(f.RenameFrom)
			switch {
			case hasFrom && hasName:
				p.add("schema.fields."+f.Name+".x-rename-from", "Both %s and %s exist; drop one first.", f.RenameFrom, f.Name)
			case hasFrom && fromKept:
				p.add("schema.fields."+f.Name+".x-rename-from", "%s is still a field of the table.", f.RenameFrom)
			case hasFrom:
				from = f.RenameFrom
			case !hasName:
				p.add("schema.fields."+f.Name+".x-rename-from", "No field %s to rename.", f.RenameFrom)
			}
		}
		if _, ok := pl.old.Schema.Field(from); !ok {
			continue
		}
		for o, n := range pl.renamed {
			if o == from {
				p.add("schema.fields."+f.Name+".x-rename-from", "%s is renamed to %s already.", from, n)
			}
		}
		pl.renamed[from] = f.Name
	}
	oldKey, newKey := pl.old.Schema.Key(), pl.new.Schema.Key()
	ok, _ := pl.old.Schema.Field(oldKey)
	nk, _ := pl.new.Schema.Field(newKey)
	if pl.renamed[oldKey] != newKey || ok.Type != nk.Type {
		p.add("schema.primaryKey", "The primary key cannot change (it may be renamed).")
	}
	return p.err()
}

// oldAs returns old field f as it is named in new.
func (pl *planner) oldAs(f taruvi.TableField) taruvi.TableField {
	f.Name = pl.renamed[f.Name]
	return f
}

// fields plans the columns: renames, drops, type, default and required
// changes, additions, and each field's constraints.
func (pl *planner) fields() {
	t := pl.new.Table
	oldKey, newKey := pl.old.Schema.Key(), pl.new.Schema.Key()
	pl.typeChanged = map[string]bool{}
	for _, o := range pl.old.Schema.Fields {
		name, kept := pl.renamed[o.Name]
		if !kept {
			pl.dropColumns = append(pl.dropColumns, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", pl.table, quote(o.Name)))
			continue
		}
		if name != o.Name {
			pl.renames = append(pl.renames, fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", pl.table, quote(o.Name), quote(name)))
		}
		n, _ := pl.new.Schema.Field(name)
		col := quote(name)
		typeChanged := columnTypes[o.Type] != columnTypes[n.Type]
		pl.typeChanged[name] = typeChanged
		oldDefault, newDefault := "", ""
		if len(o.Default) > 0 {
			oldDefault, _ = defaultSQL(o.Type, o.Default)
		}
		if len(n.Default) > 0 {
			newDefault, _ = defaultSQL(n.Type, n.Default)
		}
		if oldDefault != "" && (typeChanged || newDefault == "") {
			pl.alterColumns = append(pl.alterColumns, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", pl.table, col))
		}
		if typeChanged {
			pl.rewrites = true
			typ := columnTypes[n.Type]
			pl.alterColumns = append(pl.alterColumns, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s", pl.table, col, typ, col, typ))
		}
		if newDefault != "" && (typeChanged || newDefault != oldDefault) {
			pl.alterColumns = append(pl.alterColumns, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", pl.table, col, newDefault))
		}
		if name != newKey && o.Constraints.Required != n.Constraints.Required {
			verb := "DROP"
			if n.Constraints.Required {
				verb = "SET"
			}
			pl.alterColumns = append(pl.alterColumns, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s %s NOT NULL", pl.table, col, verb))
		}
		before := fieldConstraints(pl.old.Table, o, oldKey)
		beforeAs := fieldConstraints(t, pl.oldAs(o), newKey)
		if typeChanged {
			beforeAs = nil
		}
		pl.constraints(before, beforeAs, fieldConstraints(t, n, newKey))
	}
	for _, n := range pl.new.Schema.Fields {
		if slices.Contains(mapValues(pl.renamed), n.Name) {
			continue
		}
		pl.addColumns = append(pl.addColumns, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", pl.table, columnSQL(n, newKey)))
		pl.constraints(nil, nil, fieldConstraints(t, n, newKey))
	}
}

// constraints plans the change from the constraints before (as named in
// the table; beforeAs are the same with the field's new name, nil when
// none can be kept) to after: kept ones are renamed when their name
// changes, the others dropped and added.
func (pl *planner) constraints(before, beforeAs, after []constraint) {
	kept := map[int]bool{}
	for i, b := range before {
		j := -1
		if beforeAs != nil {
			j = slices.IndexFunc(after, func(a constraint) bool { return a.def == beforeAs[i].def })
		}
		if j < 0 || kept[j] {
			pl.dropConstraints = append(pl.dropConstraints, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", pl.table, quote(b.name)))
			continue
		}
		kept[j] = true
		if b.name != after[j].name {
			pl.renames = append(pl.renames, fmt.Sprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", pl.table, quote(b.name), quote(after[j].name)))
		}
	}
	for j, a := range after {
		if !kept[j] {
			pl.addConstraints = append(pl.addConstraints, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", pl.table, quote(a.name), a.def))
		}
	}
}

// foreignKeys plans the foreign keys, by the field that holds each.
func (pl *planner) foreignKeys() error {
	var before, beforeAs, after []constraint
	for _, fk := range pl.old.Schema.ForeignKeys {
		c, err := foreignKeyConstraint(pl.old, fk, pl.lookup)
		if err != nil {
			return err
		}
		name, kept := pl.renamed[fk.Fields[0]]
		if !kept {
			continue // dropped with its column
		}
		renamed := fk
		renamed.Fields = taruvi.Names{name}
		as, err := foreignKeyConstraint(pl.new, renamed, pl.lookup)
		if err != nil {
			return err
		}
		before, beforeAs = append(before, c), append(beforeAs, as)
	}
	for _, fk := range pl.new.Schema.ForeignKeys {
		c, err := foreignKeyConstraint(pl.new, fk, pl.lookup)
		if err != nil {
			return err
		}
		after = append(after, c)
	}
	pl.constraints(before, beforeAs, after)
	return nil
}

// indexes drops the indexes of old that new changes or lacks and creates
// those new adds or changes.
func (pl *planner) indexes() {
	same := func(o, n taruvi.TableIndex) bool {
		if o.Name != n.Name || o.Method != n.Method || o.Unique != n.Unique || len(o.Fields) != len(n.Fields) {
			return false
		}
		for i, f := range o.Fields {
			if pl.renamed[f] != n.Fields[i] || pl.typeChanged[n.Fields[i]] {
				return false
			}
		}
		return true
	}
	for _, o := range pl.old.Indexes {
		if !slices.ContainsFunc(pl.new.Indexes, func(n taruvi.TableIndex) bool { return same(o, n) }) {
			pl.dropIndexes = append(pl.dropIndexes, "DROP INDEX IF EXISTS "+quote(indexName(pl.old.Table, o.Name)))
		}
	}
	for _, n := range pl.new.Indexes {
		if !slices.ContainsFunc(pl.old.Indexes, func(o taruvi.TableIndex) bool { return same(o, n) }) {
			pl.addIndexes = append(pl.addIndexes, indexSQL(pl.new.Table, n))
		}
	}
}

// search makes the search column again when the search fields change.
func (pl *planner) search() {
	same := len(pl.old.SearchFields) == len(pl.new.SearchFields)
	for i := 0; same && i < len(pl.old.SearchFields); i++ {
		o, n := pl.old.SearchFields[i], pl.new.SearchFields[i]
		same = pl.renamed[o.Field] == n.Field && o.Weight == n.Weight
	}
	if same {
		return
	}
	if len(pl.old.SearchFields) > 0 {
		pl.dropSearch = append(pl.dropSearch, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", pl.table, SearchColumn))
	}
	if pl.addSearch = searchSQL(pl.new); len(pl.addSearch) > 0 {
		pl.rewrites = true
	}
}

// plan is the statements in the order that lets each succeed.
func (pl *planner) plan() Plan {
	var out []string
	for _, phase := range [][]string{pl.dropSearch, pl.dropIndexes, pl.dropConstraints, pl.renames, pl.dropColumns,
		pl.alterColumns, pl.addColumns, pl.addConstraints, pl.addIndexes, pl.addSearch} {
		out = append(out, phase...)
	}
	if out == nil {
		out = []string{}
	}
	return Plan{Statements: out, Rewrites: pl.rewrites}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
