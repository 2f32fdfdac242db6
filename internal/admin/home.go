package admin

import (
	"math"
	"net/http"

	"taruvi"
)

// tenantHomePage is a tenant's start page: the modules' counts.
type tenantHomePage struct {
	Page
	Cards []taruvi.AdminCard
}

func (a *Admin) handleTenantHome(w http.ResponseWriter, r *http.Request, rq *request) error {
	p := &tenantHomePage{Page: rq.page("Home", "home")}
	for _, count := range a.cards {
		cards, err := count(r.Context())
		if err != nil {
			return err
		}
		p.Cards = append(p.Cards, cards...)
	}
	a.render(w, r, http.StatusOK, "home", p)
	return nil
}

// userNames maps user ids to emails when the viewer may list users.
func (a *Admin) userNames(r *http.Request) map[int64]string {
	_, names := a.listUsers(r)
	return names
}

// everyone is a list query for all users of the scope in one page.
var everyone = taruvi.ListQuery{Page: 1, PageSize: math.MaxInt32}

// listUsers returns the scope's users and their emails by id, or nothing
// when the viewer may not list users: pickers and names then stay empty.
func (a *Admin) listUsers(r *http.Request) ([]*taruvi.User, map[int64]string) {
	names := map[int64]string{}
	users, _, err := a.Users.ListUsers(r.Context(), everyone)
	if err != nil {
		return nil, names
	}
	for _, u := range users {
		names[u.ID] = u.Email
	}
	return users, names
}
