package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"taruvi"
)

//go:embed templates static
var files embed.FS

// views are the parsed pages and the static assets with their
// content-hashed names.
type views struct {
	pages  map[string]*template.Template
	base   *template.Template // the layout, which every page is parsed against
	assets map[string]asset   // by hashed name: app.3f2a9c1b.css
	urls   map[string]string
}

type asset struct {
	body        []byte
	contentType string
}

func loadViews() (*views, error) {
	v := &views{pages: map[string]*template.Template{}, assets: map[string]asset{}, urls: map[string]string{}}
	statics, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range statics {
		body, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		v.assets[hashed] = asset{body: body, contentType: mime.TypeByExtension(ext)}
		v.urls[e.Name()] = "/admin/static/" + hashed
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if u, ok := v.urls[name]; ok {
				return u, nil
			}
			return "", fmt.Errorf("no static asset %q", name)
		},
		"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"status": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"ptr": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"join":  strings.Join,
		"inc":   func(n int) int { return n + 1 },
		"dec":   func(n int) int { return n - 1 },
		"owner": func(p *taruvi.Principal) bool { return p != nil && (p.IsOwner || p.IsAdmin) },
	}
	base, err := template.New("layout").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	v.base = base
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	return v, nil
}

// render writes page name with data and status. The page is rendered to a
// buffer first so that a template error is a clean 500, not half a page.
func (a *Admin) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := a.views.pages[name]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("no page %q", name)
	} else {
		err = t.ExecuteTemplate(&buf, "layout", data)
	}
	if err != nil {
		a.Log.ErrorContext(r.Context(), "render page", "page", name, "error", err,
			"request_id", taruvi.RequestIDFromContext(r.Context()))
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// handleStatic serves an asset by its hashed name, cached for a year: a
// changed file has another name.
func (a *Admin) handleStatic(w http.ResponseWriter, r *http.Request) error {
	as, ok := a.views.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", as.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(as.body)
	return nil
}
