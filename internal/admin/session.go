package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

// Cookie names. Both are host-only (no Domain attribute), so a tenant's
// cookie never travels to another tenant's host; and a session is looked
// up in the scope of the host it is presented to, so a cookie carried
// there by hand is still worthless.
const (
	sessionCookie = "taruvi_admin"
	loginCookie   = "taruvi_admin_login" // the nonce the sign-in form's CSRF token is tied to
	flashCookie   = "taruvi_admin_flash"
)

// request is what a page handler learns before it runs.
type request struct {
	session *taruvi.BrowserSession // nil on the sign-in page
	csrf    string
	tenant  *taruvi.Tenant // nil on platform hosts
	brand   taruvi.Branding
	flash   string
	nav     []taruvi.AdminNav // the modules' links
}

// Page is what the layout shows on every page; each page struct embeds it.
type Page struct {
	Title  string
	Nav    string // the active section
	CSRF   string
	User   *taruvi.Principal
	Tenant *taruvi.Tenant
	Brand  taruvi.Branding
	Flash  string
	// ModuleNav are the modules' links, before Users on tenant hosts.
	ModuleNav []taruvi.AdminNav
}

// page returns the layout's data for a page titled title in section nav.
func (rq *request) page(title, nav string) Page {
	p := Page{Title: title, Nav: nav, CSRF: rq.csrf, Tenant: rq.tenant, Brand: rq.brand, Flash: rq.flash, ModuleNav: rq.nav}
	if rq.session != nil {
		p.User = rq.session.Principal
	}
	return p
}

// sign returns the base64url HMAC-SHA256 of msg under the admin secret.
func (a *Admin) sign(msg string) string {
	m := hmac.New(sha256.New, a.Secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the synchronizer token of a session or of a sign-in nonce:
// derived from it under the secret, so it cannot be guessed without the
// cookie and needs no storage.
func (a *Admin) csrfToken(of string) string { return a.sign("csrf|" + of) }

// errForeignForm is the answer to a form that did not come from this
// site, or whose token has expired.
func errForeignForm() error {
	return taruvi.Errorf(taruvi.EFORBIDDEN, "The form has expired or did not come from this site; reload the page and try again.")
}

// checkCSRF refuses a POST whose token is not the session's (or, on the
// sign-in page, the nonce's). Every POST's origin is checked before, by
// wrapWith (checkOrigin).
func (a *Admin) checkCSRF(r *http.Request, rq *request, got string) error {
	want := rq.csrf
	if rq.session == nil {
		c, err := r.Cookie(loginCookie)
		if err != nil || c.Value == "" {
			return errForeignForm()
		}
		want = a.csrfToken("login|" + c.Value)
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errForeignForm()
	}
	return nil
}

// checkOrigin refuses a form not posted from a page of this site: its
// Origin, or without one its Referer, must have the scheme and host the
// request was made to. "null" (a sandboxed frame, a redirect from another
// site) is refused. A request with neither header (a client that sends
// none) is left to the token. A page of this host loaded over HTTPS
// posting to a server that sees HTTP is refused with the likely cause: a
// TLS-terminating proxy that TARUVI_TRUSTED_PROXIES does not name.
func checkOrigin(r *http.Request) error {
	source := r.Header.Get("Origin")
	if source == "" {
		source = r.Header.Get("Referer")
	}
	if source == "" {
		return nil
	}
	u, err := url.Parse(source)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return errForeignForm()
	}
	scheme := "http"
	if web.IsHTTPS(r) {
		scheme = "https"
	}
	switch {
	case strings.EqualFold(u.Scheme, scheme):
		return nil
	case scheme == "http" && strings.EqualFold(u.Scheme, "https"):
		return errHTTPSBehindUntrustedProxy()
	}
	return errForeignForm()
}

// errHTTPSBehindUntrustedProxy is the answer to a form of an HTTPS page
// that reached the server as HTTP.
func errHTTPSBehindUntrustedProxy() error {
	return taruvi.Errorf(taruvi.EFORBIDDEN, "This form was sent over HTTPS but reached the server as plain HTTP. "+
		"Behind a proxy that terminates TLS, TARUVI_TRUSTED_PROXIES must name that proxy so that its X-Forwarded-Proto is believed.")
}

// session returns the live session the request's cookie names in the
// host's scope.
func (a *Admin) session(r *http.Request) (*taruvi.BrowserSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Sign in.")
	}
	id, mac, ok := strings.Cut(c.Value, ".")
	scope := taruvi.ScopeKeyFromContext(r.Context())
	if !ok || !hmac.Equal([]byte(mac), []byte(a.sign("session|"+scope+"|"+id))) {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Sign in.")
	}
	return a.Sessions.FindSession(r.Context(), id)
}

// SessionPrincipal returns the principal of the live admin session that
// r's cookie names in the scope of r's host, or nil when there is none.
// It lets a handler outside the admin pages (River UI) accept a browser
// signed in to the admin UI, validated exactly as the pages validate it.
func (a *Admin) SessionPrincipal(r *http.Request) *taruvi.Principal {
	sess, err := a.session(r)
	if err != nil || sess.Principal == nil || sess.Principal.Audience != taruvi.AudienceFromContext(r.Context()) {
		return nil
	}
	return sess.Principal
}

func (a *Admin) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/admin", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: web.IsHTTPS(r), MaxAge: int(maxAge.Seconds())}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// loginPage is the sign-in form.
type loginPage struct {
	Page
	Form form
	Next string
}

func (a *Admin) handleLoginForm(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showLogin(w, r, rq, http.StatusOK, form{}, r.URL.Query().Get("next"))
}

func (a *Admin) showLogin(w http.ResponseWriter, r *http.Request, rq *request, status int, f form, next string) error {
	var b [18]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	a.setCookie(w, r, loginCookie, nonce, time.Hour)
	p := &loginPage{Page: rq.page("Sign in", "login"), Form: f, Next: safeNext(next)}
	p.CSRF = a.csrfToken("login|" + nonce)
	a.render(w, r, status, "login", p)
	return nil
}

func (a *Admin) handleLogin(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "email", "next")
	sess, err := a.Sessions.SignIn(r.Context(), taruvi.Credentials{Email: f.Get("email"), Password: r.PostFormValue("password")},
		web.ClientOf(r), a.SessionTTL)
	if err != nil {
		status := web.ErrorStatus(taruvi.ErrorCode(err))
		if !f.Fail(err) {
			return err
		}
		return a.showLogin(w, r, rq, status, f, f.Get("next"))
	}
	a.setCookie(w, r, loginCookie, "", -1)
	a.setCookie(w, r, sessionCookie, sess.ID+"."+a.sign("session|"+taruvi.ScopeKeyFromContext(r.Context())+"|"+sess.ID), a.SessionTTL)
	http.Redirect(w, r, safeNext(f.Get("next")), http.StatusSeeOther)
	return nil
}

func (a *Admin) handleLogout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := a.Sessions.SignOut(r.Context(), rq.session.ID); err != nil {
		return err
	}
	a.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/admin/login/", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect after sign-in on this site's admin.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

// redirect answers a form post with a redirect to target and a message
// that the next page shows once.
func (a *Admin) redirect(w http.ResponseWriter, r *http.Request, target, flash string) error {
	if flash != "" {
		a.setCookie(w, r, flashCookie, url.QueryEscape(flash), time.Minute)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// takeFlash reads and clears the one-time message.
func (a *Admin) takeFlash(w http.ResponseWriter, r *http.Request, rq *request) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return
	}
	if msg, err := url.QueryUnescape(c.Value); err == nil && len(msg) <= 300 {
		rq.flash = msg
	}
	a.setCookie(w, r, flashCookie, "", -1)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
