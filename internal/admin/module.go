package admin

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"taruvi"
)

// This file is what a module's admin pages use: a page handler gets its
// layout data with PageFor and renders with Render, and the shell around
// it (session, CSRF, errors) is the core's.

// moduleRequest carries the shell's state of a request to a module's page
// handler, which sees only the standard handler shape.
type moduleRequest struct {
	admin *Admin
	rq    *request
}

type moduleRequestKey struct{}

// modulePage adapts a module's page handler to the shell's.
func (a *Admin) modulePage(h func(http.ResponseWriter, *http.Request) error) handler {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		return h(w, r.WithContext(context.WithValue(r.Context(), moduleRequestKey{}, moduleRequest{admin: a, rq: rq})))
	}
}

// PageFor returns the layout's data for a module page titled title in
// the navigation section nav (an AdminNav key), with the signed-in user,
// the tenant's branding and the CSRF token its forms must post as "csrf".
// A page struct embeds it.
func PageFor(r *http.Request, title, nav string) Page {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return Page{Title: title, Nav: nav}
	}
	return mr.rq.page(title, nav)
}

// Render writes a module's page name ("<module>/<file name without
// .html>") with data and status. Outside a module page it is an error.
func Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return fmt.Errorf("render %s: not an admin page", name)
	}
	mr.admin.render(w, r, status, name, data)
	return nil
}

// Panels renders the panels every module adds to slot (taruvi.AdminPanel)
// for the page's object id, in the order of the list of modules, for a
// module page to show where the slot is. Outside a module page it is an
// error.
func Panels(r *http.Request, slot string, id int64) ([]template.HTML, error) {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return nil, fmt.Errorf("panels of %s: not an admin page", slot)
	}
	var out []template.HTML
	for _, p := range mr.admin.panels[slot] {
		var buf bytes.Buffer
		if err := p.Render(&buf, r, id); err != nil {
			return nil, err
		}
		// The panel's HTML comes from a template of its module, escaped
		// as it was rendered.
		out = append(out, template.HTML(buf.String()))
	}
	return out, nil
}

// RenderPanel writes the panel of a module's template name ("<module>/<file
// name without .html>", a file defining "panel") with data, for a
// taruvi.AdminPanel's Render. The panel has the layout's functions; data
// carries what it shows, PageFor(r, "", "").CSRF for its forms.
func RenderPanel(w io.Writer, r *http.Request, name string, data any) error {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return fmt.Errorf("render panel %s: not an admin page", name)
	}
	t, ok := mr.admin.views.pages[name]
	if !ok {
		return fmt.Errorf("no panel %q", name)
	}
	return t.ExecuteTemplate(w, "panel", data)
}

// addModule parses the *.html templates of a module's fsys, each against
// the layout, as pages "<module>/<name>". fsys may be nil.
func (v *views) addModule(module string, fsys fs.FS) error {
	if fsys == nil {
		return nil
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return err
	}
	for _, p := range names {
		t, err := template.Must(v.base.Clone()).ParseFS(fsys, p)
		if err != nil {
			return err
		}
		v.pages[module+"/"+strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return nil
}

// Redirect sends a module page's visitor to target (303) with a one-time
// message for the next page, as the core's forms do after a change.
// Outside a module page it is an error.
func Redirect(w http.ResponseWriter, r *http.Request, target, flash string) error {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return fmt.Errorf("redirect to %s: not an admin page", target)
	}
	return mr.admin.redirect(w, r, target, flash)
}

// Form is a posted form as a module's page shows it again: the values
// typed and what is wrong with each field (Fail).
type Form = form

// NewForm keeps the named fields of r's posted form.
func NewForm(r *http.Request, names ...string) Form { return newForm(r, names...) }

// ListView is a server-side list as a page shows it: its query and the
// links to other pages and orderings of it.
type ListView = listView

// ParseList reads a list's page, sort, search (q) and the named equality
// filters from r's query, checked against spec (400 naming what spec does
// not allow). Complete the view with WithTotal.
func ParseList(r *http.Request, spec taruvi.ListSpec, filters ...string) (taruvi.ListQuery, ListView, error) {
	return parseList(r, spec, filters...)
}

// WithTotal completes the view once the total is known.
func (v listView) WithTotal(total, pageSize int) listView { return v.withTotal(total, pageSize) }

// FormInt reads the posted field name as a whole number from 0 (0 when
// empty); anything else is a 400 naming the field.
func FormInt(r *http.Request, name string) (int64, error) { return formInt(r, name) }

// LocalNext is next when it is a path of the admin on this host, else
// "/admin/": where a form may send its user back to.
func LocalNext(next string) string { return safeNext(next) }

// PathID reads the positive integer path value name; anything else is
// 404.
func PathID(r *http.Request, name string) (int64, error) { return pathID(r, name) }

// UserNames maps the tenant's user ids to emails when the signed-in user
// may list users, for pages that name who did what; else it is empty.
func UserNames(r *http.Request) map[int64]string {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return map[int64]string{}
	}
	return mr.admin.userNames(r)
}

// CheckCSRF checks the CSRF token a Streamed page read from its form.
// Outside a module page every token is refused.
func CheckCSRF(r *http.Request, token string) error {
	mr, ok := r.Context().Value(moduleRequestKey{}).(moduleRequest)
	if !ok {
		return taruvi.Errorf(taruvi.EFORBIDDEN, "The form expired: reload the page and try again.")
	}
	return mr.admin.checkCSRF(r, mr.rq, token)
}

// SendAttachment streams body as a download named name, then closes it;
// size is nil when unknown.
func SendAttachment(w http.ResponseWriter, body io.ReadCloser, contentType string, size *int64, name string) {
	sendAttachment(w, body, contentType, size, name)
}

// FormErrorStatus is the status of a page shown again with a form error:
// 413 for a file too large, else 400.
func FormErrorStatus(err error) int { return web400(err) }
