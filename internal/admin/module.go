package admin

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
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
