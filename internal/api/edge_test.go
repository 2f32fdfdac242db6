package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/jobs"
	"taruvi/internal/modules"
	"taruvi/internal/modules/files"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

// withEverything registers the files, jobs, reports and outbox routes
// besides the apps, with a jobs client that only inserts: every route of
// the API has its service.
func withEverything(t *testing.T) func(*stack, *api.API) {
	return func(s *stack, a *api.API) {
		withApps(s, a)
		blobs, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		a.Modules = append(a.Modules, files.New(modules.Core{DB: s.db, Authz: s.authz, Blobs: blobs, MaxUploadBytes: 1 << 20, Log: a.Log}))
		reports := postgres.NewReports(s.db, blobs)
		client, err := jobs.New(s.db.Pool(), jobs.Config{Mode: jobs.InsertOnly, Log: a.Log},
			jobs.Deps{Tenants: postgres.NewTenants(s.db), Outbox: postgres.NewOutbox(s.db, nil), Reports: reports,
				Maint: postgres.NewMaintenance(s.db, blobs, nil)})
		if err != nil {
			t.Fatal(err)
		}
		a.Jobs, a.Reports, a.Outbox = client, &jobs.Reports{Store: reports, Jobs: client}, postgres.NewOutbox(s.db, s.authz)
	}
}

// badTexts are JSON string literals whose text PostgreSQL cannot store, or
// that encoding/json would silently change.
var badTexts = map[string]string{
	"NUL escape":     `"x\u0000y"`,
	"lone surrogate": `"x\ud800y"`,
	"low surrogate":  `"\udc00"`,
	"invalid UTF-8":  "\"x\xffy\"",
}

// docSchema is the part of an OpenAPI schema the body maker reads.
type docSchema struct {
	Ref        string               `json:"$ref"`
	Type       string               `json:"type"`
	Format     string               `json:"format"`
	Enum       []string             `json:"enum"`
	Properties map[string]docSchema `json:"properties"`
	Items      *docSchema           `json:"items"`
	Additional any                  `json:"additionalProperties"`
}

// writeOps builds the OpenAPI document from the route table and returns
// every operation that takes a body: "METHOD /path/" to its media type and
// schema, and the document's component schemas.
func writeOps(t *testing.T) (map[string]string, map[string]docSchema, map[string]docSchema) {
	t.Helper()
	srv := web.NewServer(web.Config{}, slog.New(slog.DiscardHandler), nil)
	a := &api.API{Modules: docModules()}
	a.Register(srv)
	a.RegisterDocs(srv)
	raw, err := api.OpenAPI(srv.Routes(), a.Modules...)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct{ Schema docSchema } `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct{ Schemas map[string]docSchema } `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	media, schemas := map[string]string{}, map[string]docSchema{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.RequestBody == nil {
				continue
			}
			for m, c := range op.RequestBody.Content {
				key := strings.ToUpper(method) + " " + path
				media[key], schemas[key] = m, c.Schema
			}
		}
	}
	if len(media) < 20 {
		t.Fatalf("only %d operations with a body in the document", len(media))
	}
	return media, schemas, doc.Components.Schemas
}

// resolveSchema follows a $ref into the components.
func resolveSchema(sc docSchema, components map[string]docSchema) docSchema {
	if name, ok := strings.CutPrefix(sc.Ref, "#/components/schemas/"); ok {
		return components[name]
	}
	return sc
}

// goodValue is a value of schema sc that a handler would take for name,
// ids, the objects' of ids.
func goodValue(name string, sc docSchema, ids map[string]string) any {
	switch {
	case sc.Type == "integer" || sc.Type == "number":
		for key, id := range ids {
			if strings.HasPrefix(name, strings.TrimSuffix(key, "s")) {
				return json.Number(id)
			}
		}
		return json.Number("1")
	case sc.Type == "boolean":
		return false
	case sc.Type == "array":
		return []any{}
	case sc.Type == "object":
		return map[string]any{}
	case len(sc.Enum) > 0:
		return sc.Enum[0]
	case strings.Contains(name, "email"):
		return "someone@example.test"
	case strings.Contains(name, "password"):
		return "correct horse battery"
	case name == "permission":
		return taruvi.PermViewProject
	case name == "object_type":
		return "project"
	case sc.Format == "date":
		return "2026-01-31"
	}
	return "text"
}

// badBodies are JSON bodies for schema sc: for each property in turn, and
// each bad text, the property (or, for a map, one key and one value, for
// a list, one element) holds the bad text and the others good values.
func badBodies(sc docSchema, ids map[string]string) map[string]string {
	names := make([]string, 0, len(sc.Properties))
	for n := range sc.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	good := map[string]any{}
	for _, n := range names {
		good[n] = goodValue(n, sc.Properties[n], ids)
	}
	bodies := map[string]string{}
	for _, n := range names {
		for what, bad := range badTexts {
			raw := json.RawMessage(bad)
			variants := map[string]any{n: raw}
			switch sc.Properties[n].Type {
			case "object":
				variants = map[string]any{n + " value": map[string]any{"k": raw}, n + " key": json.RawMessage(`{` + bad + `:1}`)}
			case "array":
				variants = map[string]any{n: []any{raw}}
			case "integer", "number", "boolean":
				continue
			}
			for label, v := range variants {
				body := map[string]any{}
				for k, g := range good {
					body[k] = g
				}
				body[n] = v
				b, err := json.Marshal(body)
				if err != nil {
					panic(err)
				}
				// encoding/json would escape the invalid byte: put it back.
				bodies[label+", "+what] = strings.ReplaceAll(string(b), `\ufffd`, "\xff")
			}
		}
	}
	return bodies
}

// badForms are multipart bodies for schema sc: each field, and the file
// part's name, holding text PostgreSQL cannot store.
func badForms(sc docSchema) map[string][2]string {
	forms := map[string][2]string{}
	for what, bad := range map[string]string{"NUL": "x\x00y", "invalid UTF-8": "x\xffy"} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for name, p := range sc.Properties {
			if p.Format != "binary" {
				_ = mw.WriteField(name, bad)
			}
		}
		fw, _ := mw.CreateFormFile("file", bad+".txt")
		_, _ = fw.Write([]byte("content"))
		_ = mw.Close()
		forms[what] = [2]string{mw.FormDataContentType(), buf.String()}
	}
	return forms
}

// TestNoTextReachesTheDatabaseUnchecked posts, to every operation of the
// OpenAPI document that takes a body, on a tenant host and on the
// platform host, bodies whose text PostgreSQL cannot store (or that would
// be stored changed): each must be refused with a 4xx, never a 5xx and
// never taken.
func TestNoTextReachesTheDatabaseUnchecked(t *testing.T) {
	t.Parallel()
	s := newStack(t, appLimits, withEverything(t))
	as := &appStack{s}
	a := as.newTenant(t)
	// API keys, which neither a logout nor a password change ends.
	owner := a.owner(t, "olga")
	ownerKey := apiKey(t, as, a.host, owner.cred)
	admin := s.createUser(t, s.platform(), taruvi.UserCreate{Email: uniqueEmail("admin"), Password: "platform password"})
	adminKey := apiKey(t, as, platformHost, bearer(s.login(t, platformHost, admin.Email, "platform password").Access))
	// Each {id} names an object of its collection; the user is not the
	// owner, whom a PATCH could deactivate.
	ids := map[string]string{"users": a.member(t, "uma").ID()}
	ids["projects"] = as.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Apollo"}`)
	ids["tasks"] = as.create(t, a.host, "/api/tasks/", owner.cred, `{"project_id":`+ids["projects"]+`,"title":"Plan"}`)
	ids["groups"] = as.create(t, a.host, "/api/groups/", owner.cred, `{"name":"crew"}`)
	ids["api-keys"] = as.create(t, a.host, "/api/auth/api-keys/", owner.cred, `{"name":"ci"}`)
	ids["reports"] = sendOK(t, as, "POST", a.host, "/api/reports/", owner.cred, `{"project_id":`+ids["projects"]+`}`, "data.id")
	ids["jobs"] = sendOK(t, as, "GET", a.host, "/api/reports/"+ids["reports"]+"/", owner.cred, "", "data.job_id")

	media, schemas, components := writeOps(t)
	fill := strings.NewReplacer("{id}", "", "{user_id}", ids["users"], "{schema}", a.tenant.Schema)
	sites := []struct{ host, cred string }{{a.host, ownerKey}, {platformHost, adminKey}}
	requests := 0
	for op, mediaType := range media {
		method, path, _ := strings.Cut(op, " ")
		// {id} is the id of an object of the collection before it.
		if before, _, ok := strings.Cut(path, "/{id}"); ok {
			id := ids[before[strings.LastIndex(before, "/")+1:]]
			path = strings.Replace(path, "{id}", orDefault(id, "1"), 1)
		}
		path = fill.Replace(path)
		sc := resolveSchema(schemas[op], components)
		for _, site := range sites {
			check := func(what string, status int, body string) {
				requests++
				if status < 400 || status >= 500 {
					t.Errorf("%s %s on %s, %s: status %d, want a 4xx: %s", method, path, site.host, what, status, shorten(body))
				}
			}
			if mediaType == "multipart/form-data" {
				for what, form := range badForms(sc) {
					res := s.request(t, method, site.host, path, strings.NewReader(form[1]),
						map[string]string{"Content-Type": form[0], "Authorization": site.cred})
					check("form with "+what, res.status, res.body)
				}
				continue
			}
			for what, body := range badBodies(sc, ids) {
				res := s.do(t, method, site.host, path, site.cred, body)
				check(what, res.status, res.body)
			}
		}
	}
	if requests < 300 {
		t.Errorf("only %d requests sent", requests)
	}
}

// apiKey makes an API key with cred on host and returns its credential.
func apiKey(t *testing.T, s *appStack, host, cred string) string {
	t.Helper()
	return "Api-Key " + sendOK(t, s, "POST", host, "/api/auth/api-keys/", cred, `{"name":"edge"}`, "data.key")
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// sendOK sends a request that must succeed and returns the value at path
// in its body.
func sendOK(t *testing.T, s *appStack, method, host, path, cred, body, at string) string {
	t.Helper()
	status, res := s.send(t, method, host, path, cred, body, "")
	if status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, res)
	}
	v, err := lookup(res, at)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJSONContentType: a JSON endpoint reads a body only when it says it
// is JSON; an empty body needs no Content-Type.
func TestJSONContentType(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "correct horse"})
	body := credentials("ann@example.test", "correct horse")
	unsupported := []string{`"code":"UNSUPPORTED_MEDIA_TYPE"`, `"message":"Send the body as JSON, with Content-Type: application/json."`}
	tests := []struct {
		name, contentType string
		body              string
		status            int
		want              []string
	}{
		{"application/json", "application/json", body, 200, signedIn},
		{"with a charset", "application/json; charset=utf-8", body, 200, signedIn},
		{"in capitals", "Application/JSON", body, 200, signedIn},
		{"a +json type", "application/vnd.taruvi+json", body, 200, signedIn},
		{"no Content-Type", "", body, 415, unsupported},
		{"text/plain", "text/plain", body, 415, unsupported},
		{"a form", "application/x-www-form-urlencoded", body, 415, unsupported},
		{"multipart", "multipart/form-data; boundary=x", body, 415, unsupported},
		{"malformed", "application/json; charset", body, 415, unsupported},
		{"json as a suffix only", "application/+json", body, 415, unsupported},
		{"text/json", "text/json", body, 415, unsupported},
		{"empty, no type", "", "", 400, []string{`"message":"The body must be a JSON object."`}},
		{"empty, text/plain", "text/plain", "", 400, []string{`"message":"The body must be a JSON object."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := s.request(t, "POST", a.host, loginPath, textBody(tt.body), map[string]string{"Content-Type": tt.contentType})
			checkBody(t, tt.name, res.status, tt.status, res.body, tt.want, nil, nil)
			res.mustBeJSON(t, tt.name)
		})
	}
	// Without a body, no Content-Type is needed: logout, a revocation.
	pair := s.login(t, a.host, "ann@example.test", "correct horse")
	created := s.do(t, "POST", a.host, "/api/auth/api-keys/", bearer(pair.Access), `{"name":"ci"}`)
	keyID, err := lookup(created.body, "data.id")
	if err != nil {
		t.Fatalf("create a key: %v: %s", err, created.body)
	}
	for _, req := range []struct{ method, path string }{
		{"DELETE", "/api/auth/api-keys/" + keyID + "/"},
		{"POST", logoutPath},
	} {
		res := s.request(t, req.method, a.host, req.path, nil, map[string]string{"Authorization": bearer(pair.Access)})
		if res.status != http.StatusOK {
			t.Errorf("%s %s without a body: %d %s", req.method, req.path, res.status, res.body)
		}
	}
}

// TestQueryStringAtTheEdge: a list whose query string Go would read in
// part is refused, not answered with the filter dropped.
func TestQueryStringAtTheEdge(t *testing.T) {
	t.Parallel()
	s, a := newAppTenant(t)
	owner := a.owner(t, "olga")
	s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Live","status":"active"}`)
	s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Old","status":"archived"}`)
	s.run(t, nil, []call{
		{name: "filter", method: "GET", path: "/api/projects/?status=archived", host: a.host, cred: owner.cred,
			status: 200, total: total(1), field: "name", values: []string{"Old"}},
		{name: "semicolon", method: "GET", path: "/api/projects/?status=archived;x=1", host: a.host, cred: owner.cred,
			status: 400, want: []string{`"code":"BAD_REQUEST"`, "semicolon"}},
		{name: "semicolon as separator", method: "GET", path: "/api/projects/?page=1;status=archived", host: a.host, cred: owner.cred,
			status: 400, want: []string{`"code":"BAD_REQUEST"`, "semicolon"}},
		{name: "malformed escape", method: "GET", path: "/api/projects/?status=archived&name=%zz", host: a.host, cred: owner.cred,
			status: 400, want: []string{`"code":"BAD_REQUEST"`, `%zz`}},
		{name: "escaped semicolon is text", method: "GET", path: "/api/projects/?name=a%3Bb", host: a.host, cred: owner.cred,
			status: 200, total: total(0)},
		{name: "on a write too", method: "DELETE", path: "/api/projects/1/?x;y", host: a.host, cred: owner.cred,
			status: 400, want: []string{"semicolon"}},
		{name: "on the sign-in", method: "POST", path: loginPath + "?a;b", host: a.host, body: `{}`,
			status: 400, want: []string{"semicolon"}},
	})
}
