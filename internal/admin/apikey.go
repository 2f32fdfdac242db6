package admin

import (
	"net/http"
	"strconv"
	"time"

	"taruvi"
)

// keysPage lists the signed-in user's API keys; right after one is made it
// shows its secret, once.
type keysPage struct {
	Page
	Keys []*taruvi.APIKey
	New  *taruvi.APIKey
	Form form
}

func (a *Admin) handleKeyList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showKeys(w, r, rq, http.StatusOK, nil, form{})
}

func (a *Admin) showKeys(w http.ResponseWriter, r *http.Request, rq *request, status int, created *taruvi.APIKey, f form) error {
	keys, err := a.Auth.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	a.render(w, r, status, "keys", &keysPage{Page: rq.page("API keys", "keys"), Keys: keys, New: created, Form: f})
	return nil
}

// handleKeyCreate answers with the page itself rather than a redirect:
// the secret is shown on this response only and stored nowhere.
func (a *Admin) handleKeyCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "name", "days")
	var expires *time.Time
	if days, err := strconv.Atoi(f.Get("days")); err == nil && days > 0 && days <= 3650 {
		t := time.Now().Add(time.Duration(days) * 24 * time.Hour)
		expires = &t
	} else if f.Get("days") != "" {
		f.Errors["days"] = "Use a whole number of days from 1 to 3650, or leave it empty."
		return a.showKeys(w, r, rq, http.StatusBadRequest, nil, f)
	}
	k, err := a.Auth.CreateAPIKey(r.Context(), f.Get("name"), expires)
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return a.showKeys(w, r, rq, http.StatusBadRequest, nil, f)
	}
	return a.showKeys(w, r, rq, http.StatusCreated, k, form{})
}

func (a *Admin) handleKeyRevoke(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Auth.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/keys/", "API key revoked.")
}
