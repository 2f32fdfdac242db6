package dataapi

import (
	"context"
	"encoding/json"
	"net/url"

	"taruvi"
	"taruvi/internal/web"
)

// The data API as Go calls, for the admin's data browser and whoever
// else serves rows: each authorizes the principal of ctx and answers
// exactly as its endpoint does.

// Page is a page of a list: its rows as JSON objects (or, aggregating,
// its groups), the total, and the page's number and size.
type Page struct {
	Rows     []json.RawMessage
	Total    int
	Page     int
	PageSize int
}

// List reads the rows of datatable name of app that the query parameters
// of a list select (filters, filters=, ordering, page, page_size, _count,
// fields, populate, search, _aggregate, ...). An unknown parameter, field
// or operator, or a value of the wrong type, is EINVALID naming it;
// ENOTFOUND when the app or table does not exist.
func (s *Service) List(ctx context.Context, app, name string, values url.Values) (*Page, error) {
	t, err := s.open(ctx, app, name, taruvi.PermViewData)
	if err != nil {
		return nil, err
	}
	if err := web.CheckValues(values); err != nil {
		return nil, err
	}
	q, err := parseList(values, t)
	if err != nil {
		return nil, err
	}
	if q.populate, err = s.parsePopulate(ctx, app, t, values.Get("populate")); err != nil {
		return nil, err
	}
	p, err := s.list(ctx, t, q)
	if err != nil {
		return nil, err
	}
	rows := p.rows
	if q.agg == nil {
		if rows, err = project(p.rows, q.fields); err != nil {
			return nil, err
		}
	}
	if rows == nil {
		rows = []json.RawMessage{}
	}
	return &Page{Rows: rows, Total: p.total, Page: q.page, PageSize: q.pageSize}, nil
}

// Get reads the row whose primary key is id (as text) with the
// parameters populate, fields and allowed_actions; ENOTFOUND when there
// is no such row the caller may see.
func (s *Service) Get(ctx context.Context, app, name, id string, values url.Values) (json.RawMessage, error) {
	t, err := s.open(ctx, app, name, taruvi.PermViewData)
	if err != nil {
		return nil, err
	}
	if err := web.CheckValues(values); err != nil {
		return nil, err
	}
	for k := range values {
		if k != "populate" && k != "fields" && k != "allowed_actions" && !graphParams[k] {
			return nil, fieldError(k, "A record's read takes populate, fields and allowed_actions only.")
		}
	}
	if err := checkGraph(values); err != nil {
		return nil, err
	}
	actions, err := parseActions(values.Get("allowed_actions"))
	if err != nil {
		return nil, err
	}
	fields, err := columnList(t, values.Get("fields"), "fields")
	if err != nil {
		return nil, err
	}
	pop, err := s.parsePopulate(ctx, app, t, values.Get("populate"))
	if err != nil {
		return nil, err
	}
	row, err := s.get(ctx, t, id, pop, actions)
	if err != nil {
		return nil, notFound(err, id)
	}
	rows, err := project([]json.RawMessage{row}, fields)
	if err != nil {
		return nil, err
	}
	return rows[0], nil
}

// Create inserts the rows of body, a JSON object (one row) or an array
// of objects, in one statement, and returns them as stored (their keys
// alone to a caller without taruvi.PermViewData). A value of
// the wrong type or a broken constraint is EINVALID naming the field; a
// duplicate unique value ECONFLICT.
func (s *Service) Create(ctx context.Context, app, name string, body []byte) (rows []json.RawMessage, many bool, err error) {
	t, err := s.open(ctx, app, name, taruvi.PermChangeData)
	if err != nil {
		return nil, false, err
	}
	recs, many, err := parseBody(t, body, true)
	if err != nil {
		return nil, many, err
	}
	rows, err = s.insert(ctx, t, recs, nil)
	return rows, many, err
}

// Update changes the fields that patch (a JSON object) sets in the row
// whose primary key is id, and returns the row (its key alone to a
// caller without taruvi.PermViewData); ENOTFOUND when there is
// no such row the caller may change.
func (s *Service) Update(ctx context.Context, app, name, id string, patch []byte) (json.RawMessage, error) {
	t, err := s.open(ctx, app, name, taruvi.PermChangeData)
	if err != nil {
		return nil, err
	}
	if _, err := keyValue(t, id); err != nil {
		return nil, err
	}
	if len(patch) == 0 || patch[0] != '{' {
		return nil, errBadRequest("The body must be a JSON object.")
	}
	rec, err := parseRecord(t, patch, false, "")
	if err != nil {
		return nil, err
	}
	return s.updateOne(ctx, t, id, rec)
}

// Delete deletes the row whose primary key is id; ENOTFOUND when there is
// no such row the caller may delete, ECONFLICT when other rows still
// reference it.
func (s *Service) Delete(ctx context.Context, app, name, id string) error {
	t, err := s.open(ctx, app, name, taruvi.PermChangeData)
	if err != nil {
		return err
	}
	return s.deleteOne(ctx, t, id)
}
