package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/metrics"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// appsServer is the real server (every module of moduleList) over a
// database of the test's own, migrated with the modules' sets.
type appsServer struct {
	db   *postgres.DB
	base string // http://127.0.0.1:port
}

func startAppsServer(t *testing.T) *appsServer {
	t.Helper()
	db := postgrestest.Open(t, postgres.Options{MigrationSets: moduleMigrationSets()})
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serveWith(ctx, serveConfig(t, nil), serverLog(t), db, metrics.New(), func(a net.Addr) { addrs <- a },
			jobs.InsertOnly, moduleList())
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop")
		}
	})
	select {
	case addr := <-addrs:
		return &appsServer{db: db, base: "http://" + addr.String()}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not start")
	}
	return nil
}

// serverLog is the server's log: its errors (the internal errors behind
// a 500) go to the test's log, to say what a failure was.
func serverLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
}

// testWriter writes to a test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// siteOwner is a fresh tenant with an owner who signs in with a password.
type siteOwner struct {
	tenant          *taruvi.Tenant
	email, password string
	userID          int64
}

func (s *appsServer) newSite(t *testing.T, name string) *siteOwner {
	t.Helper()
	tn := postgrestest.NewTenant(t, s.db)
	users, _ := operatorUsers(s.db)
	ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tn),
		&taruvi.Principal{Audience: tn.Schema, IsOwner: true, IsAdmin: true})
	o := &siteOwner{tenant: tn, email: name + "@" + tn.Schema + ".test", password: "a tenant password"}
	u, err := users.CreateUser(ctx, taruvi.UserCreate{Email: o.email, Username: name, Password: o.password,
		FirstName: "Ada", LastName: "Lovelace", IsOwner: true})
	if err != nil {
		t.Fatal(err)
	}
	o.userID = u.ID
	return o
}

// sdkClient calls the server as a public SDK does: its base URL is the
// site's, http://host/sites/<tenant>/, and paths are joined to it as that
// SDK joins them; it sends exactly one credential and follows no redirect
// (a redirect is a failure: it turns a POST into a GET).
type sdkClient struct {
	name         string
	apiURL       string // the SDK's api_url / apiUrl
	join         func(apiURL, path string) string
	header, cred string // the credential's header and value
	host         string // the Host header, when not the URL's
}

// pyJoin joins as httpx does with base_url: one slash between the base
// and a path written /api/....
func pyJoin(apiURL, path string) string {
	return strings.TrimRight(apiURL, "/") + "/" + strings.TrimLeft(path, "/")
}

// jsJoin joins as the JS SDK's axios does: baseURL + "/" + an endpoint
// written without its leading slash.
func jsJoin(apiURL, path string) string {
	return strings.TrimSuffix(apiURL, "/") + "/" + strings.TrimPrefix(path, "/")
}

// rawJoin concatenates, as PY 0.2.1's storage did with f"{api_url}{path}":
// a base ending in / and a path starting with / give //.
func rawJoin(apiURL, path string) string { return apiURL + path }

var noRedirects = &http.Client{Timeout: 20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends method path (query included) with body (JSON when not
// empty) and returns the status and body.
func (c *sdkClient) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.join(c.apiURL, path), r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if c.host != "" {
		req.Host = c.host
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.header != "" {
		req.Header.Set(c.header, c.cred)
	}
	req.Header.Set("X-Taruvi-Client", "taruvi-"+c.name+"/test")
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		t.Errorf("%s %s: a redirect (%d to %s); the SDKs would lose the request", method, path, resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.StatusCode, string(b)
}

// must calls and fails the test unless the status is want; it returns
// the body.
func (c *sdkClient) must(t *testing.T, want int, method, path, body string) string {
	t.Helper()
	status, out := c.call(t, method, path, body)
	if status != want {
		t.Fatalf("%s: %s %s: %d %.800s, want %d", c.name, method, path, status, out, want)
	}
	return out
}

// envelope is the API's success or error envelope.
type envelope struct {
	Status     string          `json:"status"`
	Message    string          `json:"message"`
	Code       string          `json:"code"`
	Data       json.RawMessage `json:"data"`
	Total      *int            `json:"total"`
	Pagination map[string]any  `json:"pagination"`
	Errors     map[string]any  `json:"errors"`
}

func decodeEnvelope(t *testing.T, body string) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("not an envelope: %v %.500s", err, body)
	}
	return env
}

// into decodes the data of a success envelope into v.
func into(t *testing.T, body string, v any) {
	t.Helper()
	env := decodeEnvelope(t, body)
	if env.Status != "success" {
		t.Fatalf("not a success: %.500s", body)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("data: %v %.500s", err, body)
	}
}

// appLogin signs in through the allauth app login of the site's api_url
// and returns meta's session and access tokens.
func appLogin(t *testing.T, apiURL string, join func(string, string) string, email, password string) (session, access string) {
	t.Helper()
	anon := &sdkClient{name: "login", apiURL: apiURL, join: join}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	out := anon.must(t, 200, "POST", "_allauth/app/v1/auth/login", string(body))
	var res struct {
		Meta struct {
			SessionToken string `json:"session_token"`
			AccessToken  string `json:"access_token"`
		} `json:"meta"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Meta.SessionToken == "" || res.Meta.AccessToken == "" {
		t.Fatalf("login: %v %s, want meta.session_token and meta.access_token", err, out)
	}
	return res.Meta.SessionToken, res.Meta.AccessToken
}

// siteClients signs the site's owner in and returns a JS client (session
// token) and a Python client (Bearer access token), both on
// http://host/sites/<tenant>/.
func (s *appsServer) siteClients(t *testing.T, o *siteOwner) (js, py *sdkClient) {
	t.Helper()
	apiURL := s.base + "/sites/" + o.tenant.Schema + "/"
	session, access := appLogin(t, apiURL, jsJoin, o.email, o.password)
	js = &sdkClient{name: "js", apiURL: apiURL, join: jsJoin, header: "X-Session-Token", cred: session}
	py = &sdkClient{name: "python", apiURL: strings.TrimSuffix(apiURL, "/"), join: pyJoin, header: "Authorization", cred: "Bearer " + access}
	return js, py
}

// contactsTable is the JS live test's table: an integer id, name, a
// unique email and description, with a flag for boolean filters.
const contactsTable = `{"name":"contacts","schema":{"primaryKey":"id","fields":[
	{"name":"id","type":"integer"},
	{"name":"name","type":"string","constraints":{"required":true}},
	{"name":"email","type":"string","constraints":{"unique":true}},
	{"name":"description","type":"string"},
	{"name":"active","type":"boolean","default":true}]}}`

// TestDatatablesAsTheSDKsCallThem runs the JS live test's database steps,
// and the Python SDK's, over the real server: sign-in through the allauth
// path under /sites/<tenant>/, then one client with the session token and
// another with the Bearer access token, each joining paths as its SDK does.
func TestDatatablesAsTheSDKsCallThem(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "ada")
	js, py := s.siteClients(t, o)

	// The session and the signed-in user.
	js.must(t, 200, "GET", "_allauth/app/v1/auth/session", "")
	for _, c := range []*sdkClient{js, py} {
		var me map[string]any
		into(t, c.must(t, 200, "GET", "/api/users/me/", ""), &me)
		if fmt.Sprint(me["id"]) != fmt.Sprint(o.userID) || me["email"] != o.email || me["username"] != "ada" ||
			me["first_name"] != "Ada" || me["last_name"] != "Lovelace" {
			t.Errorf("%s: /api/users/me/: %v", c.name, me)
		}
	}

	// An app, its settings, a table.
	py.must(t, 201, "POST", "/api/apps/", `{"name":"Test App","slug":"test-app"}`)
	var settings map[string]any
	into(t, js.must(t, 200, "GET", "api/apps/test-app/settings/", ""), &settings)
	want := []string{"display_name", "icon", "icon_url", "primary_color", "secondary_color", "icon_background_color", "category",
		"documentation_url", "support_email", "default_frontend_worker_url", "default_frontend_worker_slug", "created_at", "updated_at"}
	var got []string
	for k := range settings {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("settings' keys: %v, want exactly %v", got, want)
	}
	js.must(t, 404, "GET", "api/apps/no-such-app/settings/", "")
	py.must(t, 201, "POST", "/api/apps/test-app/datatables/", contactsTable)

	const rows = "api/apps/test-app/datatables/contacts/data/"
	// Three rows in one request (JS's bulk create).
	var created []map[string]any
	into(t, js.must(t, 201, "POST", rows, `[{"name":"sdk-a","email":"a@sdk.test","description":"first","active":true},
		{"name":"sdk-b","email":"b@sdk.test","description":"second","active":false},
		{"name":"sdk-c","email":"c@sdk.test","description":"third","active":true}]`), &created)
	if len(created) != 3 {
		t.Fatalf("bulk create: %v", created)
	}
	ids := make([]string, 3)
	for i, r := range created {
		ids[i] = fmt.Sprint(r["id"])
	}

	// Page 2 of size 2, ordered by id: one row, total 3, in both clients.
	for _, c := range []*sdkClient{js, py} {
		env := decodeEnvelope(t, c.must(t, 200, "GET", "/"+rows+"?name__startswith=sdk-&ordering=id&page=2&page_size=2", ""))
		var page []map[string]any
		_ = json.Unmarshal(env.Data, &page)
		if env.Status != "success" || env.Total == nil || *env.Total != 3 || len(page) != 1 || fmt.Sprint(page[0]["id"]) != ids[2] {
			t.Errorf("%s: page 2 of 2: %+v", c.name, env)
		}
		for k, v := range map[string]any{"offset": 2.0, "limit": 2.0, "count": 1.0, "current_page": 2.0, "total_pages": 2.0,
			"has_next": false, "has_previous": true} {
			if env.Pagination[k] != v {
				t.Errorf("%s: pagination.%s = %v, want %v", c.name, k, env.Pagination[k], v)
			}
		}
	}
	// The count: JS's _count=true, Python's with page_size=1 and True.
	for _, q := range []string{"?_count=true", "?_count=True&page_size=1", "?_count=true&name__startswith=sdk-"} {
		env := decodeEnvelope(t, py.must(t, 200, "GET", "/"+rows+q, ""))
		if env.Total == nil || *env.Total != 3 {
			t.Errorf("count %s: %+v", q, env)
		}
	}
	// Booleans as true and True.
	for _, q := range []string{"?active=false", "?active=False", "?active__ne=True", "?active=FALSE"} {
		env := decodeEnvelope(t, py.must(t, 200, "GET", "/"+rows+q, ""))
		if env.Total == nil || *env.Total != 1 || !strings.Contains(string(env.Data), `"sdk-b"`) {
			t.Errorf("boolean filter %s: %s", q, env.Data)
		}
	}

	// An or tree in both forms selects two rows; ANDed with a flat filter
	// it selects one.
	jsTree := `[{"operator":"or","value":[{"field":"email","operator":"eq","value":"a@sdk.test"},{"field":"name","operator":"eq","value":"sdk-c"}]}]`
	pyTree := `{"or":[{"email":"a@sdk.test"},{"name":"sdk-c"}]}`
	for _, tt := range []struct {
		c     *sdkClient
		query string
		total int
	}{
		{js, "?filters=" + url.QueryEscape(jsTree), 2},
		{py, "?filters=" + url.QueryEscape(pyTree), 2},
		{js, "?filters=" + url.QueryEscape(jsTree) + "&description=third", 1},
		{py, "?filters=" + url.QueryEscape(pyTree) + "&description=first", 1},
	} {
		env := decodeEnvelope(t, tt.c.must(t, 200, "GET", "/"+rows+tt.query, ""))
		if env.Total == nil || *env.Total != tt.total || strings.Contains(string(env.Data), `"sdk-b"`) {
			t.Errorf("%s: tree %s: %s total %v, want %d without sdk-b", tt.c.name, tt.query, env.Data, env.Total, tt.total)
		}
	}

	// A PATCH of one row.
	var patched map[string]any
	into(t, js.must(t, 200, "PATCH", rows+ids[0]+"/", `{"description":"patched"}`), &patched)
	if patched["description"] != "patched" || patched["name"] != "sdk-a" {
		t.Errorf("patch: %v", patched)
	}

	// An upsert on the unique email updates one row: {count: 1, records}.
	var up struct {
		Count   *int             `json:"count"`
		Records []map[string]any `json:"records"`
	}
	out := js.must(t, 200, "POST", rows+"upsert/?unique_fields=email", `{"email":"b@sdk.test","name":"sdk-b2"}`)
	var raw map[string]json.RawMessage
	into(t, out, &raw)
	into(t, out, &up)
	if len(raw) != 2 || up.Count == nil || *up.Count != 1 || len(up.Records) != 1 || up.Records[0]["name"] != "sdk-b2" ||
		fmt.Sprint(up.Records[0]["id"]) != ids[1] {
		t.Errorf("upsert on email: %s, want data exactly {count: 1, records: [the row of b@sdk.test]}", out)
	}
	env := decodeEnvelope(t, py.must(t, 200, "GET", "/"+rows+"?_count=true", ""))
	if env.Total == nil || *env.Total != 3 {
		t.Errorf("rows after the upsert: %+v, want 3", env.Total)
	}

	// A bulk PATCH: {count, records}.
	up.Count, up.Records = nil, nil
	out = py.must(t, 200, "PATCH", "/"+rows, fmt.Sprintf(`[{"id":%s,"description":"bulk 1"},{"id":%s,"description":"bulk 3"}]`, ids[0], ids[2]))
	into(t, out, &up)
	if up.Count == nil || *up.Count != 2 || len(up.Records) != 2 {
		t.Errorf("bulk patch: %s", out)
	} else {
		for _, r := range up.Records {
			if d := fmt.Sprint(r["description"]); d != "bulk 1" && d != "bulk 3" {
				t.Errorf("bulk patch: a record %v", r)
			}
		}
	}

	// A duplicate email: 409 CONFLICT, for either client.
	for _, c := range []*sdkClient{js, py} {
		status, out := c.call(t, "POST", "/"+rows, `{"name":"dup","email":"a@sdk.test"}`)
		if env := decodeEnvelope(t, out); status != 409 || env.Status != "error" || env.Code != "CONFLICT" {
			t.Errorf("%s: duplicate email: %d %s, want 409 CONFLICT", c.name, status, out)
		}
	}

	// Delete, then the row is 404, for a read, a change and a delete.
	js.must(t, 200, "DELETE", rows+ids[1]+"/", "")
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		body := ""
		if m == "PATCH" {
			body = `{"description":"x"}`
		}
		status, out := py.call(t, m, "/"+rows+ids[1]+"/", body)
		if env := decodeEnvelope(t, out); status != 404 || env.Code != "NOT_FOUND" {
			t.Errorf("%s of a deleted row: %d %s, want 404 NOT_FOUND", m, status, out)
		}
	}

	// Paths with and without their trailing slash, and with //, answer
	// the same without a redirect.
	raw2 := &sdkClient{name: "py-0.2.1", apiURL: js.apiURL, join: rawJoin, header: js.header, cred: js.cred}
	for _, tt := range []struct {
		c    *sdkClient
		path string
	}{
		{js, "api/apps/test-app/datatables/contacts/data"},
		{js, "api/apps/test-app/datatables/contacts/data?ordering=id"},
		{raw2, "/api/apps/test-app/datatables/contacts/data/"},
		{raw2, "//api/apps/test-app/datatables//contacts/data/"},
		{js, "api/apps/test-app//datatables/contacts/data/" + ids[0]},
		{raw2, "/api/users/me"},
		{js, "api/apps/test-app/settings"},
	} {
		status, out := tt.c.call(t, "GET", tt.path, "")
		if status != 200 || !strings.Contains(out, `"status":"success"`) {
			t.Errorf("GET %s: %d %.300s, want 200", tt.c.join(tt.c.apiURL, tt.path), status, out)
		}
	}
	// A POST through // and without a trailing slash creates (no redirect turned it into a GET).
	if status, out := raw2.call(t, "POST", "/api/apps/test-app/datatables/contacts/data", `{"name":"sdk-d","email":"d@sdk.test"}`); status != 201 {
		t.Errorf("POST without a trailing slash: %d %s", status, out)
	}
	if status, out := raw2.call(t, "POST", "//api/apps/test-app/datatables/contacts/data/", `{"name":"sdk-e","email":"e@sdk.test"}`); status != 201 {
		t.Errorf("POST through //: %d %s", status, out)
	}

	// Record ids arrive encoded as one segment (encodeURIComponent,
	// quote(id, safe="")): on a uuid-keyed table the key reads back
	// through its encoding, and an id holding %2F is a 4xx, never a 5xx
	// or another route. (Datatables take uuid or integer keys only, so no
	// key of theirs holds a slash.)
	py.must(t, 201, "POST", "/api/apps/test-app/datatables/", `{"name":"docs","schema":{"fields":[{"name":"body","type":"string"}]}}`)
	const docs = "api/apps/test-app/datatables/docs/data/"
	var doc map[string]any
	into(t, js.must(t, 201, "POST", docs, `{"body":"hello"}`), &doc)
	key := fmt.Sprint(doc["id"])
	var row map[string]any
	into(t, js.must(t, 200, "GET", docs+url.PathEscape(key)+"/", ""), &row)
	if row["body"] != "hello" {
		t.Errorf("GET by uuid: %v", row)
	}
	for _, id := range []string{"a%2Fb", key + "%2Fx", "..%2F..%2Fsettings", "1%2F2"} {
		for _, path := range []string{docs + id + "/", rows + id + "/"} {
			status, out := js.call(t, "GET", path, "")
			if env := decodeEnvelope(t, out); status < 400 || status >= 500 || env.Status != "error" {
				t.Errorf("GET %s: %d %.300s, want a 4xx error", path, status, out)
			}
		}
	}

	// Signing out (allauth answers 401, no session) ends the session
	// token: the JS client is then refused.
	js.must(t, 401, "DELETE", "_allauth/app/v1/auth/session", "")
	if status, _ := js.call(t, "GET", rows, ""); status != 401 {
		t.Errorf("the session token after sign-out: %d, want 401", status)
	}
}
