package api

import (
	"net/http"

	"taruvi"
)

// What a module's route handlers share with the core's: the same body
// decoding, envelopes, path ids and list parameters, so that every route
// answers alike whoever wrote it.

// Decode reads the JSON object of r's body into v, refusing what decode
// refuses (415, 413, 400 and 422 with what is wrong).
func Decode(w http.ResponseWriter, r *http.Request, v any) error { return decode(w, r, v) }

// OK writes a success envelope with data.
func OK(w http.ResponseWriter, status int, message string, data any) error {
	return ok(w, status, message, data)
}

// PathID reads the positive integer path value name; anything else is
// 404, as for an id that does not exist.
func PathID(r *http.Request, name string) (int64, error) { return pathID(r, name) }

// ParseList reads the page, ordering, search and filter parameters of
// spec from r's query, refusing unknown ones but extra.
func ParseList(r *http.Request, spec taruvi.ListSpec, extra ...string) (taruvi.ListQuery, error) {
	return parseList(r, spec, extra...)
}

// WriteList writes a page of items as a ListEnvelope, with total and the
// pagination of q.
func WriteList[T any](w http.ResponseWriter, message string, items []T, total int, q taruvi.ListQuery) error {
	return list(w, message, items, total, q)
}

// Attachment is the Content-Disposition of a download named name.
func Attachment(name string) string { return attachment(name) }
