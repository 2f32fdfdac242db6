package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// maxPopulateDepth is how deep populate= may follow foreign keys.
const maxPopulateDepth = 3

// maxPopulateFields is how many foreign keys populate= may follow in one
// request, counted over every level: each is one statement.
const maxPopulateFields = 20

// maxPopulateStar is how many foreign keys one * of populate= may stand
// for.
const maxPopulateStar = 10

// usersResource names the tenant's users as a foreign key's target.
func usersResource(name string) bool { return name == "users" || name == "auth_user" }

// populateTree is what populate= follows from one table: for each foreign
// key field, the referenced table (nil for the tenant's users) and what
// to follow from there.
type populateTree struct {
	fields []*populateField
}

// populateField is one foreign key to follow.
type populateField struct {
	col    *column
	target *table  // nil: the tenant's users
	refCol *column // the referenced column of target
	next   *populateTree
}

// parsePopulate reads populate=a,b.c or * against t, looking referenced
// tables up.
func (s *Service) parsePopulate(ctx context.Context, app string, t *table, v string) (*populateTree, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var paths [][]string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		path := strings.Split(item, ".")
		if len(path) > maxPopulateDepth {
			return nil, fieldError("populate", fmt.Sprintf("Follow at most %d foreign keys deep.", maxPopulateDepth))
		}
		paths = append(paths, path)
	}
	cache := map[string]*table{}
	root := &populateTree{}
	for _, path := range paths {
		if err := s.addPopulatePath(ctx, app, t, root, path, cache); err != nil {
			return nil, err
		}
	}
	if n := root.size(); n > maxPopulateFields {
		return nil, fieldError("populate", fmt.Sprintf("Follow at most %d foreign keys in one request; this follows %d.", maxPopulateFields, n))
	}
	return root, nil
}

// size is how many foreign keys the tree follows, at every level.
func (tree *populateTree) size() int {
	n := 0
	for _, f := range tree.fields {
		n++
		if f.next != nil {
			n += f.next.size()
		}
	}
	return n
}

// addPopulatePath adds one dotted path (or *) to tree, whose table is t.
func (s *Service) addPopulatePath(ctx context.Context, app string, t *table, tree *populateTree, path []string, cache map[string]*table) error {
	var cols []*column
	if path[0] == "*" {
		for _, c := range t.cols {
			if c.fk != nil {
				cols = append(cols, c)
			}
		}
		if len(cols) > maxPopulateStar {
			return fieldError("populate", fmt.Sprintf("%s has %d foreign keys; * follows at most %d, name them instead.", t.def.Name, len(cols), maxPopulateStar))
		}
	} else {
		c, err := t.column(path[0], "populate")
		if err != nil {
			return err
		}
		if c.fk == nil {
			return fieldError("populate", fmt.Sprintf("%s is not a foreign key.", c.Name))
		}
		cols = []*column{c}
	}
	for _, c := range cols {
		f := tree.find(c)
		if f == nil {
			var err error
			if f, err = s.resolveFK(ctx, app, c, cache); err != nil {
				return err
			}
			tree.fields = append(tree.fields, f)
		}
		if len(path) > 1 {
			if f.target == nil {
				return fieldError("populate", fmt.Sprintf("%s refers to users, which have no foreign keys to follow.", c.Name))
			}
			if f.next == nil {
				f.next = &populateTree{}
			}
			if err := s.addPopulatePath(ctx, app, f.target, f.next, path[1:], cache); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tree *populateTree) find(c *column) *populateField {
	for _, f := range tree.fields {
		if f.col == c {
			return f
		}
	}
	return nil
}

// resolveFK finds what the foreign key of c references.
func (s *Service) resolveFK(ctx context.Context, app string, c *column, cache map[string]*table) (*populateField, error) {
	ref := c.fk.Reference
	if usersResource(ref.Resource) {
		return &populateField{col: c}, nil
	}
	target := cache[ref.Resource]
	if target == nil {
		def, err := s.tables.Table(ctx, app, ref.Resource)
		if err != nil {
			return nil, err
		}
		if target, err = newTable(def); err != nil {
			return nil, err
		}
		cache[ref.Resource] = target
	}
	refCol := target.key
	if len(ref.Fields) > 0 {
		if refCol = target.byName[ref.Fields[0]]; refCol == nil {
			return nil, fmt.Errorf("datatable %s: foreign key %s references unknown field %s", c.Name, ref.Resource, ref.Fields[0])
		}
	}
	return &populateField{col: c, target: target, refCol: refCol}, nil
}

// usersJSON is a user as populate shows it to a caller with
// taruvi.PermViewUser: never a password hash.
const usersJSON = `jsonb_build_object('id', u.id, 'username', u.username, 'email', u.email,
	'first_name', u.first_name, 'last_name', u.last_name, 'is_active', u.is_active)`

// usersIDJSON is a user as populate shows it to a caller without
// taruvi.PermViewUser: its id only.
const usersIDJSON = `jsonb_build_object('id', u.id)`

// populate replaces, in rows, the values of the tree's foreign keys by
// the rows they reference (null when the row is not visible), following
// the tree down. rows are rewritten in place.
func (s *Service) populate(ctx context.Context, tx pgx.Tx, tree *populateTree, rows []json.RawMessage) error {
	if tree == nil || len(tree.fields) == 0 || len(rows) == 0 {
		return nil
	}
	objs := make([]map[string]json.RawMessage, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r, &objs[i]); err != nil {
			return fmt.Errorf("populate: %w", err)
		}
	}
	for _, f := range tree.fields {
		ids := map[string]bool{}
		for _, o := range objs {
			if id, ok := scalarText(o[f.col.Name]); ok {
				ids[id] = true
			}
		}
		if len(ids) == 0 {
			continue
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		sort.Strings(list)
		found, err := s.fetchRefs(ctx, tx, f, list)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if id, ok := scalarText(o[f.col.Name]); ok {
				if ref, ok := found[id]; ok {
					o[f.col.Name] = ref
				} else {
					o[f.col.Name] = json.RawMessage("null")
				}
			}
		}
	}
	for i, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		rows[i] = b
	}
	return nil
}

// fetchRefs reads the rows f references by the given ids, populated in
// turn, keyed by the referenced value as text.
func (s *Service) fetchRefs(ctx context.Context, tx pgx.Tx, f *populateField, ids []string) (map[string]json.RawMessage, error) {
	b := &builder{}
	var sql string
	if f.target == nil {
		shown := usersJSON
		switch err := s.authz.Can(ctx, taruvi.PermViewUser, taruvi.Object{}); taruvi.ErrorCode(err) {
		case "":
		case taruvi.EFORBIDDEN, taruvi.EUNAUTHORIZED:
			// Who may not list the users sees which user a row names, no more.
			shown = usersIDJSON
		default:
			return nil, err
		}
		sql = "SELECT u.id::text, " + shown + " FROM users AS u WHERE u.id = ANY(" + b.Bind(ids) + "::text[]::bigint[])"
	} else {
		vis, err := s.visible(ctx, f.target, ActionRead, b)
		if err != nil {
			return nil, err
		}
		sql = "SELECT " + f.refCol.expr() + "::text, " + rowJSON + " FROM " + f.target.ident + " AS t WHERE " + vis +
			" AND " + f.refCol.expr() + " = ANY(" + f.refCol.castList(b.Bind(ids)) + ")"
	}
	rows, err := tx.Query(ctx, sql, b.args...)
	if err != nil {
		return nil, err
	}
	var keys []string
	var vals []json.RawMessage
	for rows.Next() {
		var k string
		var v json.RawMessage
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		keys, vals = append(keys, k), append(vals, bytes.Clone(v))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if f.next != nil {
		if err := s.populate(ctx, tx, f.next, vals); err != nil {
			return nil, err
		}
	}
	out := make(map[string]json.RawMessage, len(keys))
	for i, k := range keys {
		out[k] = vals[i]
	}
	return out, nil
}

// scalarText is a JSON string or number as the text PostgreSQL casts it
// to; false for null, absent and anything else.
func scalarText(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", false
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
		return string(v), true
	}
	return "", false
}
