package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// maxBody bounds a write's body: room for bulk writes of thousands of rows.
const maxBody = 32 << 20

// readBody reads a JSON body within maxBody, refusing other media types
// and text PostgreSQL cannot store.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, taruvi.Errorf(taruvi.ETOOLARGE, "The body is over %d bytes.", maxErr.Limit)
	case err != nil:
		return nil, errBadRequest("The body could not be read.")
	case len(body) > 0 && !isJSON(r.Header.Get("Content-Type")):
		return nil, taruvi.Errorf(taruvi.EUNSUPPORTED, "Send the body as JSON, with Content-Type: application/json.")
	case !json.Valid(body):
		return nil, errBadRequest("The body must be a JSON object or an array of objects.")
	}
	return body, web.CheckJSONText(body)
}

func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	sub, ok := strings.CutPrefix(mediaType, "application/")
	return ok && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermViewData)
	if err != nil {
		return err
	}
	values := r.URL.Query()
	if err := web.CheckValues(values); err != nil {
		return err
	}
	q, err := parseList(values, t)
	if err != nil {
		return err
	}
	if q.populate, err = s.parsePopulate(ctx, r.PathValue("app"), t, values.Get("populate")); err != nil {
		return err
	}
	p, err := s.list(ctx, t, q)
	if err != nil {
		return err
	}
	rows, err := project(p.rows, q.fields)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []json.RawMessage{}
	}
	pages := (p.total + q.pageSize - 1) / q.pageSize
	return writeJSON(w, http.StatusOK, listEnvelope{Status: "success", Message: "Data retrieved successfully", Data: rows, Total: p.total,
		Pagination: pagination{Offset: (q.page - 1) * q.pageSize, Limit: q.pageSize, Count: len(rows), CurrentPage: q.page,
			TotalPages: pages, HasNext: q.page < pages, HasPrevious: q.page > 1}})
}

// recordID is the {id} of a record path, decoded once (it may have come
// %2F-encoded or with raw slashes).
func recordID(r *http.Request) string { return r.PathValue("id") }

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermViewData)
	if err != nil {
		return err
	}
	values := r.URL.Query()
	if err := web.CheckValues(values); err != nil {
		return err
	}
	for k := range values {
		if k != "populate" && k != "fields" {
			return fieldError(k, "A record's read takes populate and fields only.")
		}
	}
	fields, err := columnList(t, values.Get("fields"), "fields")
	if err != nil {
		return err
	}
	pop, err := s.parsePopulate(ctx, r.PathValue("app"), t, values.Get("populate"))
	if err != nil {
		return err
	}
	row, err := s.get(ctx, t, recordID(r), pop)
	if err != nil {
		return notFound(err, recordID(r))
	}
	rows, err := project([]json.RawMessage{row}, fields)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Record retrieved successfully", rows[0])
}

// notFound gives a missing record's 404 its id.
func notFound(err error, id string) error {
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Record %q not found.", id)
	}
	return err
}

// noQuery refuses query parameters on a write that takes none but those
// allowed.
func noQuery(r *http.Request, allowed ...string) (url.Values, error) {
	values := r.URL.Query()
	if err := web.CheckValues(values); err != nil {
		return nil, err
	}
	for k := range values {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return nil, fieldError(k, "Unknown parameter.")
		}
	}
	return values, nil
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	if _, err := noQuery(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	recs, many, err := parseBody(t, body, true)
	if err != nil {
		return err
	}
	rows, err := s.insert(ctx, t, recs, nil)
	if err != nil {
		return err
	}
	if many {
		return ok(w, http.StatusCreated, fmt.Sprintf("%d records created successfully", len(rows)), rows)
	}
	return ok(w, http.StatusCreated, "Record created successfully", rows[0])
}

func (s *Service) handleUpsert(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	values, err := noQuery(r, "unique_fields")
	if err != nil {
		return err
	}
	unique, err := columnList(t, strings.Join(values["unique_fields"], ","), "unique_fields")
	if err != nil {
		return err
	}
	if len(unique) == 0 {
		unique = []*column{t.key}
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	recs, _, err := parseBody(t, body, true)
	if err != nil {
		return err
	}
	for i, rec := range recs {
		for _, u := range unique {
			if v, ok := rec.vals[u.Name]; !ok || string(v) == "null" {
				return fieldError(fmt.Sprintf("%d.%s", i, u.Name), "An upsert's rows need their unique_fields.")
			}
		}
	}
	rows, err := s.insert(ctx, t, recs, unique)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Records upserted successfully", bulkResult{Count: len(rows), Records: rows})
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	if _, err := noQuery(r); err != nil {
		return err
	}
	id := recordID(r)
	key, err := keyValue(t, id)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 || body[0] != '{' {
		return errBadRequest("The body must be a JSON object.")
	}
	rec, err := parseRecord(t, body, false, "")
	if err != nil {
		return err
	}
	keyJSON, _ := json.Marshal(key)
	if v, ok := rec.vals[t.key.Name]; ok {
		if k, _ := scalarText(v); !strings.EqualFold(k, key) {
			return fieldError(t.key.Name, "The key of a row cannot change.")
		}
	} else {
		rec.cols = append([]*column{t.key}, rec.cols...)
	}
	rec.vals[t.key.Name] = keyJSON
	rows, err := s.update(ctx, t, []*record{rec})
	if err != nil {
		return notFound(err, id)
	}
	return ok(w, http.StatusOK, "Record updated successfully", rows[0])
}

func (s *Service) handleBulkUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	if _, err := noQuery(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 || body[0] != '[' {
		return errBadRequest("The body must be a JSON array of objects, each with its %s.", t.key.Name)
	}
	recs, _, err := parseBody(t, body, false)
	if err != nil {
		return err
	}
	rows, err := s.update(ctx, t, recs)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, fmt.Sprintf("%d records updated successfully", len(rows)), bulkResult{Count: len(rows), Records: rows})
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	if _, err := noQuery(r); err != nil {
		return err
	}
	id := recordID(r)
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
	return ok(w, http.StatusOK, "Record deleted successfully", nil)
}

func (s *Service) handleBulkDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.open(ctx, r.PathValue("app"), r.PathValue("name"), taruvi.PermChangeData)
	if err != nil {
		return err
	}
	values, err := noQuery(r, "ids", "filter")
	if err != nil {
		return err
	}
	where := &cond{kind: condAnd}
	if ids := strings.Join(values["ids"], ","); strings.TrimSpace(ids) != "" {
		var keys []string
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			v, msg := t.key.parseText(id)
			if msg != "" {
				return fieldError("ids", msg)
			}
			keys = append(keys, v)
		}
		if len(keys) > maxBulkRows {
			return fieldError("ids", fmt.Sprintf("At most %d ids.", maxBulkRows))
		}
		where.kids = append(where.kids, &cond{kind: condLeaf, col: t.key, op: "in", vals: keys})
	}
	if f := strings.TrimSpace(values.Get("filter")); f != "" {
		c, err := parseFilterParam(f, t)
		if err != nil {
			return err
		}
		where.kids = append(where.kids, c)
	}
	if where.empty() {
		return fieldError("ids", "Name the rows to delete with ids= or filter=.")
	}
	n, err := s.deleteWhere(ctx, t, where.sql)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%d records deleted successfully", n)
	return ok(w, http.StatusOK, msg, deleteResult{DeletedCount: n, Message: msg})
}
