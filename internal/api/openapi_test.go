package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/modules"
	"taruvi/internal/modules/apps"
	"taruvi/internal/modules/files"
	"taruvi/internal/modules/projects"
	"taruvi/internal/modules/tasks"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json from the routes")

const goldenPath = "testdata/openapi.golden.json"

// registered returns a server with every route serve has: the server's
// own, the API's and the documentation's.
func registered(cfg web.Config, tenants taruvi.TenantResolver) *web.Server {
	s := web.NewServer(cfg, slog.New(slog.DiscardHandler), tenants)
	a := &api.API{Modules: docModules()}
	a.Register(s)
	a.RegisterDocs(s)
	return s
}

func buildDocument(t *testing.T) []byte {
	t.Helper()
	doc, err := api.OpenAPI(registered(web.Config{}, nil).Routes(), docModules()...)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIDrift holds the route table and the operations table
// together: a route nobody documented, or an entry for a route that is
// gone, fails here.
func TestOpenAPIDrift(t *testing.T) {
	t.Parallel()
	routes := registered(web.Config{}, nil).Routes()
	ops := api.DocOperations(docModules())
	var undocumented, unrouted []string
	for _, r := range routes {
		if _, ok := ops[r]; !ok {
			undocumented = append(undocumented, r)
		}
	}
	for pattern := range ops {
		if !slices.Contains(routes, pattern) {
			unrouted = append(unrouted, pattern)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unrouted)
	if len(undocumented) > 0 {
		t.Errorf("routes without an operation (openapi_ops.go, or the module's routes):\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unrouted) > 0 {
		t.Errorf("operations (openapi_ops.go, or a module's routes) that no Register or RegisterDocs route serves:\n  %s", strings.Join(unrouted, "\n  "))
	}
	if len(routes) < 30 {
		t.Errorf("only %d routes registered: %v", len(routes), routes)
	}
}

// TestOpenAPIUnknownRoute checks the builder refuses to leave an API
// route out, and leaves other surfaces' routes alone.
func TestOpenAPIUnknownRoute(t *testing.T) {
	t.Parallel()
	routes := registered(web.Config{}, nil).Routes()
	if _, err := api.OpenAPI(append(routes, "GET /api/nowhere"), docModules()...); err == nil || !strings.Contains(err.Error(), "GET /api/nowhere") {
		t.Errorf("undocumented API route: err = %v, want one naming it", err)
	}
	doc, err := api.OpenAPI(append(routes, "GET /admin/projects"), docModules()...)
	if err != nil {
		t.Fatalf("an admin page: %v", err)
	}
	if bytes.Contains(doc, []byte("/admin/")) {
		t.Error("an admin page is in the API document")
	}
}

// TestOpenAPIOperations checks what each entry claims against what its
// handler must do: a route needing a credential answers 401, a JSON body
// can be malformed (400) or too large (413), an id can be unknown (404).
func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	for pattern, op := range api.DocOperations(docModules()) {
		has := func(s int) bool { return slices.Contains(op.Errors, s) }
		if op.Summary == "" {
			t.Errorf("%s: no summary", pattern)
		}
		if !slices.IsSorted(op.Errors) || len(slices.Compact(slices.Clone(op.Errors))) != len(op.Errors) {
			t.Errorf("%s: errors %v are not sorted and unique", pattern, op.Errors)
		}
		if !op.Public && !has(http.StatusUnauthorized) {
			t.Errorf("%s needs a credential but does not list 401", pattern)
		}
		if op.Request != nil && (!has(http.StatusBadRequest) || !has(http.StatusRequestEntityTooLarge)) {
			t.Errorf("%s takes a body but does not list 400 and 413", pattern)
		}
		if op.Request != nil && !op.Form && !has(http.StatusUnsupportedMediaType) {
			t.Errorf("%s takes a JSON body but does not list 415", pattern)
		}
		for _, p := range op.Path {
			if p.Kind == taruvi.KindInt && !has(http.StatusNotFound) {
				t.Errorf("%s takes an id (%s) but does not list 404", pattern, p.Name)
			}
		}
		if op.List != nil && op.Raw != nil {
			t.Errorf("%s: a list is always an envelope", pattern)
		}
	}
}

var templateRE = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIValid loads the document with an independent implementation
// of the specification and validates it, then checks what a validator may
// let pass: responses, path parameters and references.
func TestOpenAPIValid(t *testing.T) {
	t.Parallel()
	raw := buildDocument(t)
	spec, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if spec.OpenAPI != "3.0.3" || spec.Info.Title != "Taruvi" || spec.Info.Version != taruvi.Version {
		t.Errorf("openapi %q, info %+v", spec.OpenAPI, spec.Info)
	}
	for _, name := range []string{"bearerAuth", "apiKey", "sessionToken"} {
		if spec.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %s", name)
		}
	}
	count := 0
	for path, item := range spec.Paths.Map() {
		var inPath []string
		for _, m := range templateRE.FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		if strings.HasPrefix(path, "/api/") && !strings.HasSuffix(path, "/") && !strings.HasSuffix(path, "{asset}") {
			t.Errorf("%s: API paths end with a slash, as the SDKs call them", path)
		}
		for method, op := range item.Operations() {
			count++
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s: no responses", method, path)
				continue
			}
			ok := 0
			for code := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") {
					ok++
				}
			}
			// allauth's sign-out answers 401, "no longer authenticated",
			// and nothing else.
			want := 1
			if method == http.MethodDelete && path == "/_allauth/app/v1/auth/session" {
				want = 0
			}
			if ok != want {
				t.Errorf("%s %s: %d success responses, want %d", method, path, ok, want)
			}
			var declared []string
			for _, p := range op.Parameters {
				if p.Value.In == "path" {
					declared = append(declared, p.Value.Name)
				}
			}
			if !slices.Equal(declared, inPath) {
				t.Errorf("%s %s: path parameters declared %v, in the path %v", method, path, declared, inPath)
			}
		}
	}
	if want := len(api.DocOperations(docModules())); count != want {
		t.Errorf("%d operations in the document, %d in the table", count, want)
	}
	checkRefs(t, raw)
}

// checkRefs resolves every $ref of the document as a JSON pointer.
func checkRefs(t *testing.T, raw []byte) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				refs++
				if _, err := pointer(doc, ref); err != nil {
					t.Errorf("$ref %s: %v", ref, err)
				}
			}
			for _, child := range x {
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(doc)
	if refs < 50 {
		t.Errorf("only %d references: are the components used?", refs)
	}
}

func pointer(doc any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	v := doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is inside a non-object", part)
		}
		if v, ok = m[part]; !ok {
			return nil, fmt.Errorf("no %q", part)
		}
	}
	return v, nil
}

// TestOpenAPIResponsesMatchJSON checks the schemas derived from Go types
// against what encoding/json writes for those types: for every operation,
// a sample of its response type, in its envelope, must validate against
// the documented response. Objects are closed for the check, so a field
// the schema lacks fails too.
func TestOpenAPIResponsesMatchJSON(t *testing.T) {
	t.Parallel()
	spec, err := openapi3.NewLoader().LoadFromData(buildDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	for _, s := range spec.Components.Schemas {
		if s.Value.Type.Is("object") && len(s.Value.Properties) > 0 {
			s.Value.AdditionalProperties = openapi3.AdditionalProperties{Has: &closed}
		}
	}
	for pattern, op := range api.DocOperations(docModules()) {
		method, path, _ := strings.Cut(pattern, " ")
		item := spec.Paths.Find(api.DocumentPath(path, op.Exact))
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is not in the document", pattern)
			continue
		}
		o := item.GetOperation(method)
		status := op.Status
		if status == 0 {
			status = http.StatusOK
		}
		res := o.Responses.Status(status)
		if res == nil {
			t.Errorf("%s: no %d response", pattern, status)
			continue
		}
		media := res.Value.Content.Get("application/json")
		if media == nil && (op.Raw == nil || slices.Contains(op.Raw, "application/json")) {
			t.Errorf("%s: no JSON response", pattern)
			continue
		} else if media == nil {
			continue // text/html, scripts: no JSON to check
		}
		for _, fill := range []bool{false, true} {
			body := envelope(op, fill)
			if err := media.Schema.Value.VisitJSON(roundTrip(t, body)); err != nil {
				t.Errorf("%s (pointers set: %v): %s\ndoes not match its schema: %v", pattern, fill, mustJSON(body), err)
			}
		}
	}
	// Required is what encoding/json always writes: not omitempty fields,
	// and nothing in request bodies, which are decoded leniently.
	required := func(name string) []string {
		if s := spec.Components.Schemas[name]; s != nil {
			return s.Value.Required
		}
		t.Errorf("no schema %s", name)
		return nil
	}
	if r := required("APIKey"); slices.Contains(r, "key") || !slices.Contains(r, "id") || !slices.Contains(r, "expires_at") {
		t.Errorf("APIKey requires %v: want id and expires_at, not key (omitempty)", r)
	}
	if r := required("Credentials"); len(r) > 0 {
		t.Errorf("the login body requires %v", r)
	}
	// The check can fail: a wrong type in a sample is caught.
	user := spec.Components.Schemas["User"]
	if user == nil {
		t.Fatal("no User schema")
	}
	if err := user.Value.VisitJSON(map[string]any{"id": "one"}); err == nil {
		t.Error("a user with a string id validates")
	}
}

// envelope is the body op answers with, around a sample of its data.
func envelope(op taruvi.Operation, fill bool) any {
	var data any
	if op.Response != nil {
		data = sample(reflect.TypeOf(op.Response), fill, 0).Interface()
	}
	switch {
	case op.Raw != nil:
		return data
	case op.List != nil:
		items := reflect.MakeSlice(reflect.SliceOf(reflect.TypeOf(op.Response)), 0, 1)
		items = reflect.Append(items, reflect.ValueOf(data))
		return map[string]any{"status": "success", "message": "Items.", "data": items.Interface(), "total": 1,
			"pagination": api.Pagination{Limit: 20, Count: 1, CurrentPage: 1, TotalPages: 1}}
	}
	return web.SuccessEnvelope{Status: "success", Message: "Done.", Data: data}
}

// sample makes a value of type t with every field, slice and map filled;
// pointer fields stay nil unless fill. Slice and map elements are always
// set: handlers never send null items.
func sample(t reflect.Type, fill bool, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth > 6 {
		return v
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return reflect.ValueOf(json.RawMessage(`{"name":"text","count":7}`))
	}
	switch t.Kind() {
	case reflect.Pointer:
		if fill || depth == 0 {
			p := reflect.New(t.Elem())
			p.Elem().Set(sample(t.Elem(), fill, depth+1))
			v.Set(p)
		}
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)))
			break
		}
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				v.Field(i).Set(sample(t.Field(i).Type, fill, depth+1))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(t, 1, 1))
		v.Index(0).Set(element(t.Elem(), fill, depth))
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(reflect.ValueOf("key").Convert(t.Key()), element(t.Elem(), fill, depth))
	case reflect.String:
		v.SetString("text")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf("anything"))
	}
	return v
}

func element(t reflect.Type, fill bool, depth int) reflect.Value {
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		p.Elem().Set(sample(t.Elem(), fill, depth+1))
		return p
	}
	return sample(t, fill, depth+1)
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(mustJSON(v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestOpenAPIGolden compares the document with the reviewed copy in
// testdata; `go test ./internal/api -run OpenAPI -update` rewrites it.
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	got := buildDocument(t)
	if again := buildDocument(t); !bytes.Equal(got, again) {
		t.Fatal("two builds of the document differ")
	}
	if *update {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("the document differs from %s at line %d:\n got: %s\nwant: %s\n(review, then run with -update)", goldenPath, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("the document differs from %s in length: %d lines, want %d (review, then run with -update)", goldenPath, len(gl), len(wl))
	}
}

// TestDocsPage loads the documentation as a browser would, on the platform
// host, on a tenant host and under a tenant's /sites/<schema>/ prefix, with
// and without the trailing slash: every URL in the page is relative and
// resolves to the asset or document under the same prefix.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	tenant := postgrestest.NewTenant(t, db)
	s := registered(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"}, TenantVersion: db.TenantVersion()},
		web.NewTenantCache(postgres.NewTenants(db), time.Minute, nil))
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)

	sites := []struct{ name, host, prefix string }{
		{"platform", "localhost", ""},
		{"tenant host", tenant.Schema + ".localhost", ""},
		{"tenant prefix", "localhost", "/sites/" + tenant.Schema},
	}
	for _, site := range sites {
		for _, page := range []string{"/api/docs/", "/api/docs", "/api/docs//", "//api//docs/"} {
			t.Run(site.name+page, func(t *testing.T) {
				t.Parallel()
				pageURL := ts.URL + site.prefix + page
				res := get(t, site.host, pageURL)
				if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") ||
					res.header.Get("X-Content-Type-Options") != "nosniff" {
					t.Fatalf("GET %s: %d %v", pageURL, res.status, res.header)
				}
				links := pageLinks(t, res.body)
				want := map[string]string{"docs.js": "/api/docs/docs.js", "docs.css": "/api/docs/docs.css", "schema": "/api/schema/"}
				for key, wantPath := range want {
					link, ok := links[key]
					if !ok {
						t.Fatalf("the page has no link to %s: %s", key, res.body)
					}
					resolved := resolve(t, pageURL, link)
					if clean := normalized(resolved.Path); clean != site.prefix+strings.TrimSuffix(wantPath, "/") {
						t.Errorf("%q on %s resolves to %s, want %s%s", link, page, resolved.Path, site.prefix, wantPath)
					}
					got := get(t, site.host, resolved.String())
					checkAsset(t, key, got)
				}
			})
		}
	}
	for _, path := range []string{"/api/schema", "/api/schema/"} {
		res := get(t, "localhost", ts.URL+path)
		checkAsset(t, "schema", res)
	}
	res := get(t, "localhost", ts.URL+"/api/docs/index.html")
	if res.status != http.StatusNotFound || !strings.Contains(res.body, `"code":"NOT_FOUND"`) {
		t.Errorf("an unknown asset: %d %s", res.status, res.body)
	}
}

var linkRE = regexp.MustCompile(`(?:href|src|data-schema)="([^"]*)"`)

// pageLinks returns the page's URLs by what they name, failing on any
// that is not relative.
func pageLinks(t *testing.T, page string) map[string]string {
	t.Helper()
	links := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(page, -1) {
		u, err := url.Parse(m[1])
		if err != nil || u.IsAbs() || u.Host != "" || strings.HasPrefix(m[1], "/") {
			t.Errorf("link %q is not relative to the page", m[1])
		}
		switch {
		case strings.HasSuffix(m[1], "docs.js"):
			links["docs.js"] = m[1]
		case strings.HasSuffix(m[1], "docs.css"):
			links["docs.css"] = m[1]
		case strings.HasSuffix(m[1], "schema/"):
			links["schema"] = m[1]
		}
	}
	return links
}

func resolve(t *testing.T, base, ref string) *url.URL {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r)
}

// normalized is a path as the server routes it: repeated and trailing
// slashes dropped.
func normalized(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return strings.TrimSuffix(p, "/")
}

func checkAsset(t *testing.T, key string, res docsResponse) {
	t.Helper()
	wantType := map[string]string{"docs.js": "text/javascript", "docs.css": "text/css", "schema": "application/json"}[key]
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), wantType) {
		t.Errorf("%s: %d %q, want 200 %s", key, res.status, res.header.Get("Content-Type"), wantType)
	}
	if res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options: nosniff", key)
	}
	if strings.Contains(res.body, "http://") || strings.Contains(res.body, "https://") {
		t.Errorf("%s refers to another site", key)
	}
	if key == "schema" {
		var doc struct {
			OpenAPI string                     `json:"openapi"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal([]byte(res.body), &doc); err != nil || doc.OpenAPI != "3.0.3" || doc.Paths["/api/users/{id}/"] == nil {
			t.Errorf("schema: openapi %q, %d paths, err %v", doc.OpenAPI, len(doc.Paths), err)
		}
	}
}

type docsResponse struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, host, rawURL string) docsResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return docsResponse{status: res.StatusCode, header: res.Header, body: string(b)}
}

// docModules are the platform's modules as `taruvi openapi` builds them:
// enough to describe their routes, serving nothing.
func docModules() []taruvi.Module {
	return modules.Build([]modules.Constructor{projects.New, tasks.New, files.New, apps.New}, modules.Core{})
}
