package api

import (
	"net/http"

	"taruvi"
)

// handleHistoryList answers GET /api/history/?object_type=...&object_id=...
// with one page of the object's history, newest first.
func (a *API) handleHistoryList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.HistoryListSpec, "object_type", "object_id")
	if err != nil {
		return err
	}
	values := r.URL.Query()
	entries, total, err := a.History.ListHistory(r.Context(), values.Get("object_type"), values.Get("object_id"), q)
	if err != nil {
		return err
	}
	return list(w, "History.", entries, total, q)
}
