package admin

import (
	"net/http"

	"taruvi"
)

// brandingPage is the form that sets the tenant's name, colours and logo.
type brandingPage struct {
	Page
	Form form
}

func (a *Admin) handleBrandingForm(w http.ResponseWriter, r *http.Request, rq *request) error {
	b := rq.brand
	f := form{Values: map[string][]string{"display_name": {b.DisplayName}, "primary_color": {b.PrimaryColor},
		"accent_color": {b.AccentColor}, "logo_url": {b.LogoURL}}}
	a.render(w, r, http.StatusOK, "branding", &brandingPage{Page: rq.page("Branding", "branding"), Form: f})
	return nil
}

func (a *Admin) handleBrandingSave(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "display_name", "primary_color", "accent_color", "logo_url")
	_, err := a.Branding.SetBranding(r.Context(), taruvi.Branding{DisplayName: f.Get("display_name"),
		PrimaryColor: f.Get("primary_color"), AccentColor: f.Get("accent_color"), LogoURL: f.Get("logo_url")})
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		a.render(w, r, http.StatusBadRequest, "branding", &brandingPage{Page: rq.page("Branding", "branding"), Form: f})
		return nil
	}
	return a.redirect(w, r, "/admin/branding/", "Branding saved.")
}
