package admin

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"taruvi"
)

// web400 is the status of a form error: 413 for a file too large, else
// 400.
func web400(err error) int {
	if taruvi.ErrorCode(err) == taruvi.ETOOLARGE {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// sendAttachment streams body as a download named name, then closes it;
// size is nil when unknown.
func sendAttachment(w http.ResponseWriter, body io.ReadCloser, contentType string, size *int64, name string) {
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", contentType)
	if size != nil {
		h.Set("Content-Length", strconv.FormatInt(*size, 10))
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox")
	_, _ = io.Copy(w, body)
}

// handleHistory shows the history of one object of the tenant.
func (a *Admin) handleHistory(w http.ResponseWriter, r *http.Request, rq *request) error {
	objectType, objectID := r.PathValue("type"), r.PathValue("id")
	q, view, err := parseList(r, taruvi.HistoryListSpec)
	if err != nil {
		return err
	}
	entries, total, err := a.History.ListHistory(r.Context(), objectType, objectID, q)
	if err != nil {
		return err
	}
	heading := "History of " + objectType + " " + objectID
	// Back to the object's page: a user's is the shell's, others a
	// module's.
	back := ""
	if objectType == taruvi.ObjectUser {
		back = "/admin/users/" + objectID + "/"
	} else if o, ok := a.objects[objectType]; ok {
		back = objectHref(o, objectID)
	}
	a.render(w, r, http.StatusOK, "history", &historyPage{Page: rq.page(heading, "history"), Heading: heading,
		Entries: a.withActors(r, entries), List: view.withTotal(total, q.PageSize), Back: back})
	return nil
}
