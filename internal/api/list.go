package api

import (
	"net/http"

	"taruvi"
	"taruvi/internal/web"
)

// parseList reads page, page_size, ordering, search and filters from the
// query string against spec (web.ParseList, the one parser of lists):
// every parameter must be known, an unknown field, operator or value is a
// 400 that names it, never ignored. extra names parameters the endpoint
// reads itself.
func parseList(r *http.Request, spec taruvi.ListSpec, extra ...string) (taruvi.ListQuery, error) {
	params := web.APIList
	params.Extra = extra
	return web.ParseList(r.URL.Query(), spec, params)
}

// opsFor returns the operators a filter of kind takes, for the OpenAPI
// document.
func opsFor(k taruvi.FieldKind) []string { return web.FilterOps(k) }

// Pagination is the paging block of a list envelope.
type Pagination struct {
	Offset      int  `json:"offset"`
	Limit       int  `json:"limit"`
	Count       int  `json:"count"`
	CurrentPage int  `json:"current_page"`
	TotalPages  int  `json:"total_pages"`
	HasNext     bool `json:"has_next"`
	HasPrevious bool `json:"has_previous"`
}

// ListEnvelope is the body of every list response.
type ListEnvelope[T any] struct {
	Status     string     `json:"status"`
	Message    string     `json:"message"`
	Data       []T        `json:"data"`
	Total      int        `json:"total"`
	Pagination Pagination `json:"pagination"`
}

// list writes one page of items out of total.
func list[T any](w http.ResponseWriter, message string, items []T, total int, q taruvi.ListQuery) error {
	pages := (total + q.PageSize - 1) / q.PageSize
	web.WriteJSON(w, http.StatusOK, ListEnvelope[T]{
		Status: "success", Message: message, Data: nonNil(items), Total: total,
		Pagination: Pagination{Offset: q.Offset(), Limit: q.PageSize, Count: len(items), CurrentPage: q.Page,
			TotalPages: pages, HasNext: q.Page < pages, HasPrevious: q.Page > 1},
	})
	return nil
}
