package admin

import (
	"net/http"

	"taruvi"
)

// outboxPage is the paged list of the emails kept in the tenant's outbox,
// newest first; the outbox service lets owners only see it.
type outboxPage struct {
	Page
	Emails []*taruvi.Email
	List   listView
}

func (a *Admin) handleOutboxList(w http.ResponseWriter, r *http.Request, rq *request) error {
	q, view, err := parseList(r, taruvi.OutboxListSpec)
	if err != nil {
		return err
	}
	if len(q.Order) == 0 {
		q.Order = []taruvi.Order{{Field: "id", Desc: true}}
	}
	emails, total, err := a.Outbox.ListOutbox(r.Context(), q)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "outbox", &outboxPage{Page: rq.page("Outbox", "outbox"), Emails: emails,
		List: view.withTotal(total, q.PageSize)})
	return nil
}
