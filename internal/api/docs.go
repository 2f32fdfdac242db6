package api

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"taruvi"
	"taruvi/internal/web"
)

// docsFiles are the page, script and style sheet of the interactive
// documentation: nothing is fetched from elsewhere.
//
//go:embed docs
var docsFiles embed.FS

var docsPage = template.Must(template.ParseFS(docsFiles, "docs/index.html"))

// docsAssets are the files served under /api/docs/, with their types.
var docsAssets = map[string]string{
	"docs.css": "text/css; charset=utf-8",
	"docs.js":  "text/javascript; charset=utf-8",
}

func docsAssetNames() []string { return slices.Sorted(maps.Keys(docsAssets)) }

// RegisterDocs adds the OpenAPI document of every route s serves (GET
// /api/schema/) and the interactive documentation (GET /api/docs/) to s.
// The document is built on first request, once every route is registered.
func (a *API) RegisterDocs(s *web.Server) {
	schema := sync.OnceValues(func() ([]byte, error) { return OpenAPI(s.Routes(), a.Modules...) })
	s.Handle("GET /api/schema", func(w http.ResponseWriter, r *http.Request) error {
		doc, err := schema()
		if err != nil {
			return fmt.Errorf("build the OpenAPI document: %w", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		_, err = w.Write(doc)
		return err
	})
	s.Handle("GET /api/docs", handleDocsPage)
	s.Handle("GET /api/docs/{asset}", handleDocsAsset)
}

// docsLinks are the page's relative URLs of its assets and of the
// document, so that the page works under any prefix (/sites/<schema>/, a
// proxy's path).
type docsLinks struct {
	Assets string // prepended to "docs.js"
	Schema string // the document
}

// handleDocsPage serves the page. The browser resolves its relative URLs
// against the path it asked for, which may or may not end in slashes, so
// the links follow the path as sent, before normalisation.
func handleDocsPage(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.EscapedPath()
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		p = u.EscapedPath()
	}
	links := docsLinks{Assets: "docs/", Schema: "schema/"}
	if slashes := len(p) - len(strings.TrimRight(p, "/")); slashes > 0 {
		links = docsLinks{Assets: "", Schema: strings.Repeat("../", slashes) + "schema/"}
	}
	var page bytes.Buffer
	if err := docsPage.Execute(&page, links); err != nil {
		return fmt.Errorf("render the docs page: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(page.Bytes())
	return err
}

func handleDocsAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("asset")
	contentType, ok := docsAssets[name]
	if !ok {
		return taruvi.Errorf(taruvi.ENOTFOUND, "No file %q in the documentation.", name)
	}
	body, err := docsFiles.ReadFile("docs/" + name)
	if err != nil {
		return fmt.Errorf("read docs asset %s: %w", name, err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(body)
	return err
}
