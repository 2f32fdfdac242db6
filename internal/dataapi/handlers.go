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
	"taruvi/internal/api"
	"taruvi/internal/web"
)

// maxBody bounds a write's body: room for bulk writes of thousands of rows.
const maxBody = 32 << 20

// signedIn refuses an anonymous request before its body is read.
func signedIn(r *http.Request) error {
	if taruvi.PrincipalFromContext(r.Context()) == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	return nil
}

// signedInBody is the start of a handler that takes a body and no query
// parameters: a signed-in caller, no query, and the body.
func signedInBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := signedIn(r); err != nil {
		return nil, err
	}
	if _, err := noQuery(r); err != nil {
		return nil, err
	}
	return readBody(w, r)
}

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
	return s.serveList(w, r, r.URL.Query())
}

// serveList answers a list of the given parameters.
func (s *Service) serveList(w http.ResponseWriter, r *http.Request, values url.Values) error {
	p, err := s.List(r.Context(), r.PathValue("app"), r.PathValue("name"), values)
	if err != nil {
		return err
	}
	return api.WriteList(w, "Data retrieved successfully", p.Rows, p.Total, taruvi.ListQuery{Page: p.Page, PageSize: p.PageSize})
}

// recordID is the {id} of a record path, decoded once (it may have come
// %2F-encoded or with raw slashes).
func recordID(r *http.Request) string { return r.PathValue("id") }

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	row, err := s.Get(r.Context(), r.PathValue("app"), r.PathValue("name"), recordID(r), r.URL.Query())
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Record retrieved successfully", row)
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
		known := graphParams[k]
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return nil, fieldError(k, "Unknown parameter.")
		}
	}
	return values, checkGraph(values)
}

// graphParams are the traversal parameters of graph tables, which the
// SDKs also send on the reads and writes of other tables (format=flat,
// depth=1); they are accepted and, asking for no traversal, ignored.
var graphParams = map[string]bool{"format": true, "include": true, "depth": true, "relationship_type": true}

// checkGraph refuses traversal parameters that would ask for more than
// flat rows: datatables here have no graph.
func checkGraph(values url.Values) error {
	if f := strings.ToLower(strings.TrimSpace(values.Get("format"))); f != "" && f != "flat" {
		return fieldError("format", "Only format=flat: this datatable is not a graph.")
	}
	if d := strings.TrimSpace(values.Get("depth")); d != "" {
		if _, err := intParam(values, "depth", 0, 0, 100); err != nil {
			return err
		}
	}
	switch strings.ToLower(strings.TrimSpace(values.Get("include"))) {
	case "", "descendants", "ancestors", "both":
		return nil
	}
	return fieldError("include", "Want descendants, ancestors or both.")
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	body, err := signedInBody(w, r)
	if err != nil {
		return err
	}
	rows, many, err := s.Create(r.Context(), r.PathValue("app"), r.PathValue("name"), body)
	if err != nil {
		return err
	}
	if many {
		return api.OK(w, http.StatusCreated, fmt.Sprintf("%d records created successfully", len(rows)), rows)
	}
	return api.OK(w, http.StatusCreated, "Record created successfully", rows[0])
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
	return api.OK(w, http.StatusOK, "Records upserted successfully", bulkResult{Count: len(rows), Records: rows})
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	body, err := signedInBody(w, r)
	if err != nil {
		return err
	}
	row, err := s.Update(r.Context(), r.PathValue("app"), r.PathValue("name"), recordID(r), body)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Record updated successfully", row)
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
	return api.OK(w, http.StatusOK, fmt.Sprintf("%d records updated successfully", len(rows)), bulkResult{Count: len(rows), Records: rows})
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	if err := signedIn(r); err != nil {
		return err
	}
	if _, err := noQuery(r); err != nil {
		return err
	}
	if err := s.Delete(r.Context(), r.PathValue("app"), r.PathValue("name"), recordID(r)); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "Record deleted successfully", nil)
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
	return api.OK(w, http.StatusOK, msg, deleteResult{DeletedCount: n, Message: msg})
}
