// Package admin is the admin web UI under /admin/: the platform console on
// platform hosts and the tenant admin on tenant hosts. Pages are
// server-rendered from embedded html/template files with typed page
// structs; the essentials work without JavaScript, and htmx (vendored)
// only makes some forms update in place.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

// Check is one dependency the dashboard reports on.
type Check struct {
	Name   string
	Detail string // what serves it ("local disk", "in process")
	Ping   func(ctx context.Context) error
}

// Admin holds what the pages need.
type Admin struct {
	Sessions taruvi.BrowserSessionService
	Auth     taruvi.AuthService // the signed-in user's API keys
	Users    taruvi.UserService
	Tenants  taruvi.TenantService
	Platform taruvi.PlatformService
	History  taruvi.HistoryService
	Branding taruvi.BrandingService
	Outbox   taruvi.OutboxService
	Reports  taruvi.ReportService
	Checks   []Check
	Log      *slog.Logger

	// Secret signs session cookies and CSRF tokens; at least 32 bytes,
	// the same on every replica.
	Secret []byte
	// SessionTTL (TARUVI_ADMIN_SESSION_TTL) is how long a sign-in lasts.
	SessionTTL time.Duration
	// Modules add their pages, templates, navigation links, panels, home
	// page counts and object links to the tenant admin (Register). The
	// shell knows none of them otherwise.
	Modules []taruvi.Module

	views   *views
	nav     []taruvi.AdminNav
	panels  map[string][]taruvi.AdminPanel // by slot
	cards   []func(context.Context) ([]taruvi.AdminCard, error)
	objects map[string]taruvi.AdminObject // by object type
}

// Who may reach a route.
type access int

const (
	anyone   access = iota // the sign-in page
	signedIn               // any signed-in user of the host's scope
	platform               // platform admins on platform hosts
	tenant                 // users of the tenant on tenant hosts
)

// handler is the shape of every page handler; rq carries the session,
// the CSRF token and what the layout shows.
type handler func(w http.ResponseWriter, r *http.Request, rq *request) error

// Register adds every admin route to s: the core's table, then each
// module's tenant pages.
func (a *Admin) Register(s *web.Server) error {
	v, err := loadViews()
	if err != nil {
		return err
	}
	a.views, a.nav, a.panels, a.cards, a.objects = v, nil, map[string][]taruvi.AdminPanel{}, nil, map[string]taruvi.AdminObject{}
	a.registerCore(s)
	for _, m := range a.Modules {
		parts := m.Parts()
		if err := v.addModule(m.MigrationSet().Name, parts.AdminTemplates); err != nil {
			return fmt.Errorf("module %s: %w", m.MigrationSet().Name, err)
		}
		a.nav = append(a.nav, parts.AdminNav...)
		for _, p := range parts.AdminPanels {
			if p.Slot == "" || p.Render == nil {
				return fmt.Errorf("module %s: a panel wants a slot and a Render", m.MigrationSet().Name)
			}
			a.panels[p.Slot] = append(a.panels[p.Slot], p)
		}
		if parts.AdminCards != nil {
			a.cards = append(a.cards, parts.AdminCards)
		}
		for _, o := range parts.AdminObjects {
			if _, dup := a.objects[o.Type]; dup || o.Type == "" || !strings.HasPrefix(o.Href, "/admin/") || o.Name == nil {
				return fmt.Errorf("module %s: object type %q: want a new type, an href under /admin/ and a Name", m.MigrationSet().Name, o.Type)
			}
			a.objects[o.Type] = o
		}
		for _, p := range parts.AdminPages {
			if _, path, _ := strings.Cut(p.Pattern, " "); !strings.HasPrefix(path, "/admin/") || p.Handler == nil {
				return fmt.Errorf("module %s: page %q: want a handler and a path under /admin/", m.MigrationSet().Name, p.Pattern)
			}
			s.Handle(p.Pattern, a.wrapWith(tenant, p.Streamed, a.modulePage(p.Handler)))
		}
	}
	return nil
}

// registerCore adds the core's admin routes to s. The whole table is here.
func (a *Admin) registerCore(s *web.Server) {
	route := func(pattern string, who access, h handler) { s.Handle(pattern, a.wrap(who, h)) }
	s.Handle("GET /admin/static/{file}", a.handleStatic)
	route("GET /admin/login", anyone, a.handleLoginForm)
	route("POST /admin/login", anyone, a.handleLogin)
	route("POST /admin/logout", signedIn, a.handleLogout)
	route("GET /admin", signedIn, a.handleHome)

	route("GET /admin/tenants", platform, a.handleTenantList)
	route("GET /admin/tenants/new", platform, a.handleTenantNew)
	route("POST /admin/tenants", platform, a.handleTenantCreate)
	route("GET /admin/tenants/{schema}", platform, a.handleTenantGet)
	route("POST /admin/tenants/{schema}/status", platform, a.handleTenantStatus)
	route("GET /admin/tenants/{schema}/delete", platform, a.handleTenantDeleteConfirm)
	route("POST /admin/tenants/{schema}/delete", platform, a.handleTenantDelete)
	route("POST /admin/tenants/{schema}/domains", platform, a.handleDomainAdd)
	route("POST /admin/domains/remove", platform, a.handleDomainRemove)
	route("GET /admin/admins", platform, a.handleUserList)
	route("POST /admin/admins", platform, a.handleUserCreate)
	route("GET /admin/audit", platform, a.handlePlatformHistory)

	route("GET /admin/users", tenant, a.handleUserList)
	route("POST /admin/users", tenant, a.handleUserCreate)
	route("GET /admin/users/{id}", tenant, a.handleUserGet)
	route("POST /admin/users/{id}", tenant, a.handleUserUpdate)
	route("POST /admin/users/{id}/password", tenant, a.handleUserPassword)
	route("GET /admin/groups", tenant, a.handleGroupList)
	route("POST /admin/groups", tenant, a.handleGroupCreate)
	route("POST /admin/groups/{id}/members", tenant, a.handleGroupMemberAdd)
	route("POST /admin/groups/{id}/delete", tenant, a.handleGroupDelete)
	route("GET /admin/grants", tenant, a.handleGrantList)
	route("POST /admin/grants", tenant, a.handleGrantCreate)
	route("POST /admin/grants/revoke", tenant, a.handleGrantRevoke)
	route("GET /admin/history/{type}/{id}", tenant, a.handleHistory)
	route("GET /admin/keys", signedIn, a.handleKeyList)
	route("POST /admin/keys", signedIn, a.handleKeyCreate)
	route("POST /admin/keys/{id}/revoke", signedIn, a.handleKeyRevoke)
	route("GET /admin/outbox", tenant, a.handleOutboxList)
	route("POST /admin/reports", tenant, a.handleReportCreate)
	route("GET /admin/reports/{id}", tenant, a.handleReportGet)
	route("GET /admin/reports/{id}/download", tenant, a.handleReportDownload)
	route("GET /admin/branding", tenant, a.handleBrandingForm)
	route("POST /admin/branding", tenant, a.handleBrandingSave)
}

// wrap turns a page handler into a web handler: security headers, the
// session (a signed-out visitor goes to the sign-in page), the posted
// form's text and CSRF on every POST, who may see the page, and errors rendered as HTML pages.
func (a *Admin) wrap(who access, h handler) web.HandlerFunc { return a.wrapWith(who, false, h) }

// wrapWith is wrap for a handler that checks the CSRF token itself when
// streamed is true: an upload reads it from the multipart stream. The
// origin of every POST is checked here (checkOrigin), before its body is
// read.
func (a *Admin) wrapWith(who access, streamed bool, h handler) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		setSecurityHeaders(w)
		rq := &request{tenant: taruvi.TenantFromContext(r.Context()), nav: a.nav}
		if who != anyone {
			sess, err := a.session(r)
			if err != nil {
				a.toLogin(w, r)
				return nil
			}
			rq.session = sess
			rq.csrf = a.csrfToken("session|" + sess.ID)
			r = r.WithContext(taruvi.NewContextWithPrincipal(r.Context(), sess.Principal))
		}
		err := a.admit(r, rq, who)
		if err == nil && r.Method == http.MethodPost {
			err = checkOrigin(r)
		}
		if err == nil && r.Method == http.MethodPost && !streamed {
			if err = parseForm(r); err == nil {
				err = a.checkCSRF(r, rq, r.PostFormValue("csrf"))
			}
		}
		if err == nil && rq.tenant != nil {
			rq.brand, err = a.Branding.FindBranding(r.Context())
		}
		if err == nil && r.Method == http.MethodGet {
			a.takeFlash(w, r, rq)
		}
		if err == nil {
			err = h(w, r, rq)
		}
		if err != nil {
			a.renderError(w, r, rq, err)
		}
		return nil
	}
}

// admit refuses a page to whoever may not see it.
func (a *Admin) admit(r *http.Request, rq *request, who access) error {
	p := taruvi.PrincipalFromContext(r.Context())
	switch {
	case who == platform && rq.tenant != nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "This page exists on platform hosts only.")
	case who == platform && (p == nil || !p.IsAdmin):
		return taruvi.Errorf(taruvi.EFORBIDDEN, "Only platform admins may use the platform console.")
	case who == tenant && rq.tenant == nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "This page exists on tenant hosts only.")
	}
	return nil
}

// toLogin sends a signed-out visitor to the sign-in page, remembering
// where they wanted to go.
func (a *Admin) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/admin/login/"
	if r.Method == http.MethodGet && r.URL.Path != "/admin" {
		target += "?next=" + urlQueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// renderError shows err as a page with its status; internal errors are
// logged once here and shown without detail.
func (a *Admin) renderError(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	code := taruvi.ErrorCode(err)
	if code == taruvi.EUNAUTHORIZED {
		a.toLogin(w, r)
		return
	}
	if code == taruvi.EINTERNAL {
		a.Log.ErrorContext(r.Context(), "internal error", "request_id", taruvi.RequestIDFromContext(r.Context()),
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	var te *taruvi.Error
	page := &errorPage{Page: rq.page("Error", ""), Status: web.ErrorStatus(code), Message: taruvi.ErrorMessage(err),
		RequestID: taruvi.RequestIDFromContext(r.Context())}
	if errors.As(err, &te) {
		page.Fields = te.Fields
	}
	a.render(w, r, page.Status, "error", page)
}

// errorPage is the page of a refused or failed request.
type errorPage struct {
	Page
	Status    int
	Message   string
	Fields    map[string]string
	RequestID string
}

// setSecurityHeaders keeps admin pages out of caches and frames and allows
// scripts and styles from this host only (inline style attributes carry
// the tenant's colours).
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}
