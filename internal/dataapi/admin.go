package dataapi

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// This file is the data API as Go methods, for the tenant admin's row
// browser: the same authorization, parsers and statements as the HTTP
// handlers, taking a list's query string in the API's own syntax and
// rows' values as a form types them.

// Column is a field of a datatable as the row browser shows it.
type Column struct {
	Name     string
	Type     string // a taruvi.Field* type
	Key      bool   // the primary key
	Required bool
	Default  bool // the database fills it in when a new row leaves it out (every key: a uuid or an identity)
	Ordered  bool // rows may be ordered by it
}

// Row is one row of a datatable: its key as text and each field's JSON
// value (JSON null for NULL).
type Row struct {
	Key    string
	Values map[string]json.RawMessage
}

// RowPage is a page of a datatable's rows.
type RowPage struct {
	Rows     []Row
	Total    int
	Page     int
	PageSize int
	Pages    int  // at least 1
	Search   bool // the table has search fields, which search= looks in
}

// Operators are the filter operators of the query syntax (field__op), in
// alphabetical order.
func Operators() []string {
	out := make([]string, 0, len(operators))
	for op := range operators {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Columns returns the fields of datatable table of app, the key first
// when the definition leaves it out, for a principal of ctx who may read
// its rows: ENOTFOUND for an unknown app or table, EFORBIDDEN without
// the permission.
func (s *Service) Columns(ctx context.Context, app, table string) ([]Column, error) {
	t, err := s.open(ctx, app, table, taruvi.PermViewData)
	if err != nil {
		return nil, err
	}
	out := make([]Column, len(t.cols))
	for i, c := range t.cols {
		out[i] = Column{Name: c.Name, Type: c.Type, Key: c == t.key, Required: c.Constraints.Required,
			Default: len(c.Default) > 0 || c == t.key, Ordered: c.ordered()}
	}
	return out, nil
}

// browserRefused are list parameters that change the shape of the answer
// (aggregates, projections, populated keys, a bare count): the row
// browser lists whole rows.
var browserRefused = []string{"_aggregate", "_group_by", "_having", "fields", "populate", "_count"}

// ListRows reads a page of the rows of datatable table of app with a list
// request's query q in the data API's syntax (field__op=value filters,
// filters=, search=, ordering=, page=, page_size=), parsed by the same
// parser: EINVALID naming a bad parameter, ENOTFOUND for an unknown app
// or table, EFORBIDDEN without apps.view_data.
func (s *Service) ListRows(ctx context.Context, app, table string, q url.Values) (*RowPage, error) {
	t, err := s.open(ctx, app, table, taruvi.PermViewData)
	if err != nil {
		return nil, err
	}
	if err := web.CheckValues(q); err != nil {
		return nil, err
	}
	for _, k := range browserRefused {
		if _, ok := q[k]; ok {
			return nil, fieldError(k, "The row browser lists whole rows.")
		}
	}
	lq, err := parseList(q, t)
	if err != nil {
		return nil, err
	}
	p, err := s.list(ctx, t, lq)
	if err != nil {
		return nil, err
	}
	out := &RowPage{Total: p.total, Page: lq.page, PageSize: lq.pageSize, Pages: max((p.total+lq.pageSize-1)/lq.pageSize, 1),
		Search: t.search}
	for _, raw := range p.rows {
		var vals map[string]json.RawMessage
		if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, err
		}
		key, _ := scalarText(vals[t.key.Name])
		out.Rows = append(out.Rows, Row{Key: key, Values: vals})
	}
	return out, nil
}

// CreateRow inserts a row of the values typed for it (field name to text,
// see formRecord) and returns it: EINVALID naming each bad field,
// ECONFLICT for a duplicate unique value, EFORBIDDEN without
// apps.change_data.
func (s *Service) CreateRow(ctx context.Context, app, table string, values map[string]string) (json.RawMessage, error) {
	t, err := s.open(ctx, app, table, taruvi.PermChangeData)
	if err != nil {
		return nil, err
	}
	rec, err := formRecord(t, values, true)
	if err != nil {
		return nil, err
	}
	rows, err := s.insert(ctx, t, []*record{rec}, nil)
	if err != nil {
		return nil, err
	}
	return rows[0], nil
}

// UpdateRow sets the values typed for the fields of the row whose key is
// id (field name to text, see formRecord; a field left out keeps its
// value) and returns the row: ENOTFOUND for no such row, EINVALID naming
// each bad field.
func (s *Service) UpdateRow(ctx context.Context, app, table, id string, values map[string]string) (json.RawMessage, error) {
	t, err := s.open(ctx, app, table, taruvi.PermChangeData)
	if err != nil {
		return nil, err
	}
	if _, err := keyValue(t, id); err != nil {
		return nil, err
	}
	rec, err := formRecord(t, values, false)
	if err != nil {
		return nil, err
	}
	return s.updateOne(ctx, t, id, rec)
}

// updateOne applies rec to the row whose key is id (a record path's
// update): the key rec may hold must be id's; ENOTFOUND for no such row.
func (s *Service) updateOne(ctx context.Context, t *table, id string, rec *record) (json.RawMessage, error) {
	key, err := keyValue(t, id)
	if err != nil {
		return nil, err
	}
	keyJSON, _ := json.Marshal(key)
	if v, ok := rec.vals[t.key.Name]; ok {
		if k, _ := scalarText(v); !strings.EqualFold(t.key.canonical(k), key) {
			return nil, fieldError(t.key.Name, "The key of a row cannot change.")
		}
	} else {
		rec.cols = append([]*column{t.key}, rec.cols...)
	}
	rec.vals[t.key.Name] = keyJSON
	rows, err := s.update(ctx, t, []*record{rec})
	if err != nil {
		return nil, notFound(err, id)
	}
	return rows[0], nil
}

// DeleteRow deletes the row whose key is id: ENOTFOUND for no such row,
// ECONFLICT when other rows reference it.
func (s *Service) DeleteRow(ctx context.Context, app, table, id string) error {
	t, err := s.open(ctx, app, table, taruvi.PermChangeData)
	if err != nil {
		return err
	}
	return s.deleteOne(ctx, t, id)
}

// deleteOne deletes the row whose key is id (a record path's delete):
// ENOTFOUND for no such (visible) row.
func (s *Service) deleteOne(ctx context.Context, t *table, id string) error {
	key, err := keyValue(t, id)
	if err != nil {
		return err
	}
	n, err := s.deleteWhere(ctx, t, func(b *builder) string { return t.key.expr() + " = " + t.key.cast(b.Bind(key)) })
	if err != nil {
		return err
	}
	if n == 0 {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Record %q not found.", id)
	}
	return nil
}

// formRecord reads the values a form typed for t's fields into a record,
// validated as a body's object is (parseRecord): empty text is NULL (so
// a required field must be filled in); integers, numbers and booleans are
// read from their text, objects and arrays are JSON text, and every other
// type is its text as a JSON string. An empty key of a create is left to
// its default.
func formRecord(t *table, values map[string]string, creating bool) (*record, error) {
	obj := make(map[string]json.RawMessage, len(values))
	bad := map[string]string{}
	for name, text := range values {
		c := t.byName[name]
		if c == nil {
			bad[name] = "Unknown field."
			continue
		}
		if creating && c == t.key && strings.TrimSpace(text) == "" {
			continue
		}
		v, msg := c.formJSON(text)
		if msg != "" {
			bad[name] = msg
			continue
		}
		obj[name] = v
	}
	if len(bad) > 0 {
		return nil, invalidFields(bad)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return parseRecord(t, raw, creating, "")
}

// formJSON is the JSON value of text typed for c in a form, or an error
// message.
func (c *column) formJSON(text string) (json.RawMessage, string) {
	if strings.TrimSpace(text) == "" {
		return json.RawMessage("null"), ""
	}
	switch c.Type {
	case taruvi.FieldInteger, taruvi.FieldNumber, taruvi.FieldBoolean:
		v, msg := c.parseText(text)
		if msg == "" && !json.Valid([]byte(v)) {
			msg = "Want a number." // 1. and .5, which JSON does not spell
		}
		return json.RawMessage(v), msg
	case taruvi.FieldObject, taruvi.FieldArray:
		if !json.Valid([]byte(text)) {
			return nil, "Want JSON."
		}
		return json.RawMessage(text), ""
	}
	v, _ := json.Marshal(text)
	return v, ""
}
