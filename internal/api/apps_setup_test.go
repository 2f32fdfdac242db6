package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

// appStack is the API with the business apps (projects, tasks, history)
// wired as cmd/taruvi wires it, behind a real HTTP server.
type appStack struct {
	db     *postgres.DB
	auth   *postgres.Auth
	users  *postgres.Users
	url    string
	client *http.Client
}

func newAppStack(t *testing.T) *appStack {
	t.Helper()
	db := postgrestest.DB(t)
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(key)
	sealer, err := token.NewSealer(strings.Repeat("a", 40))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth := postgres.NewAuth(db, postgres.AuthOptions{
		Issuer:    token.NewIssuer("taruvi", keys, nil),
		Sealer:    sealer,
		Accounts:  redis.NewMemoryThrottle(100, time.Minute),
		Addresses: redis.NewMemoryThrottle(1000, time.Minute),
		Log:       log,
	})
	authz := postgres.NewAuthz(db, log)
	users := postgres.NewUsers(db, authz)
	server := web.NewServer(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"},
		TenantVersion: db.TenantVersion(), Auth: auth}, log, web.NewTenantCache(postgres.NewTenants(db), time.Minute))
	(&api.API{Auth: auth, Users: users, Keys: keys, Log: log, Projects: postgres.NewProjects(db, authz),
		Tasks: postgres.NewTasks(db, authz), History: postgres.NewHistory(db, authz)}).Register(server)
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	return &appStack{db: db, auth: auth, users: users, url: ts.URL, client: ts.Client()}
}

// appTenant is a fresh tenant of an appStack.
type appTenant struct {
	s      *appStack
	tenant *taruvi.Tenant
	ctx    context.Context
	host   string
}

func (s *appStack) newTenant(t *testing.T) *appTenant {
	t.Helper()
	ctx, tenant := postgrestest.TenantContext(t, s.db)
	return &appTenant{s: s, tenant: tenant, ctx: ctx, host: tenant.Schema + ".localhost"}
}

// operator is the tenant's context with the powers of the command line.
func (a *appTenant) operator() context.Context {
	return taruvi.NewContextWithPrincipal(a.ctx, &taruvi.Principal{Audience: a.tenant.Schema, IsOwner: true, IsAdmin: true})
}

// appUser is a user of a tenant and the Authorization header that signs
// them in.
type appUser struct {
	id   int64
	cred string
}

// ID is the user's id as text, for paths and bodies.
func (u appUser) ID() string { return strconv.FormatInt(u.id, 10) }

// member makes a user with an API key and the given model-wide
// permissions.
func (a *appTenant) member(t *testing.T, name string, perms ...string) appUser {
	t.Helper()
	u, err := a.s.users.CreateUser(a.operator(), taruvi.UserCreate{Email: name + "@example.test"})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	for _, perm := range perms {
		a.grant(t, taruvi.ObjectGrant{UserID: &u.ID, Permission: perm})
	}
	p := &taruvi.Principal{UserID: u.ID, Audience: a.tenant.Schema}
	key, err := a.s.auth.CreateAPIKey(taruvi.NewContextWithPrincipal(a.ctx, p), "tests", nil)
	if err != nil {
		t.Fatal(err)
	}
	return appUser{id: u.ID, cred: "Api-Key " + key.Key}
}

// owner makes a tenant owner who signs in with a password, for a JWT.
func (a *appTenant) owner(t *testing.T, name string) appUser {
	t.Helper()
	email := name + "@example.test"
	u, err := a.s.users.CreateUser(a.operator(), taruvi.UserCreate{Email: email, Password: "correct horse", IsOwner: true})
	if err != nil {
		t.Fatalf("create owner %s: %v", name, err)
	}
	pair, err := a.s.auth.Login(a.ctx, taruvi.Credentials{Email: email, Password: "correct horse"}, taruvi.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return appUser{id: u.ID, cred: "Bearer " + pair.Access}
}

// grant gives a permission as the operator.
func (a *appTenant) grant(t *testing.T, g taruvi.ObjectGrant) {
	t.Helper()
	if _, err := a.s.users.GrantPermission(a.operator(), g); err != nil {
		t.Fatalf("grant %+v: %v", g, err)
	}
}

// grantOn gives user a permission on one project.
func (a *appTenant) grantOn(t *testing.T, u appUser, perm, projectID string) {
	t.Helper()
	a.grant(t, taruvi.ObjectGrant{UserID: &u.id, Permission: perm, ObjectType: "project", ObjectID: projectID})
}

// call is one request of a scenario and what it must get back. Paths,
// credentials, bodies and fragments may name values saved by earlier calls
// as {{name}}, or {{q:name}} escaped for a query string.
type call struct {
	name   string
	method string
	path   string
	host   string
	cred   string
	body   string
	reqID  string // X-Request-ID
	status int
	want   []string // fragments the body must hold
	absent []string // fragments it must not hold
	// total, when not nil, is the list's total; values the list's items'
	// field, in order, as text.
	total  *int
	field  string
	values []string
	save   map[string]string // name -> dotted path in the body ("data.id")
}

// Fragments of error envelopes.
var (
	wantUnauthorized = []string{`"code":"UNAUTHORIZED"`}
	wantForbidden    = []string{`"code":"FORBIDDEN"`}
	wantNotFound     = []string{`"code":"NOT_FOUND"`}
	wantInvalid      = []string{`"code":"VALIDATION_ERROR"`}
	wantConflict     = []string{`"code":"CONFLICT"`}
)

// invalidField is the fragment set of a validation error naming field.
func invalidField(field string) []string {
	return []string{`"code":"VALIDATION_ERROR"`, `"errors":{`, `"` + field + `":"`}
}

func total(n int) *int { return &n }

var callVarRE = regexp.MustCompile(`\{\{(q:)?(\w+)\}\}`)

// run sends the calls in order, each a subtest, carrying saved values in
// vars.
func (s *appStack) run(t *testing.T, vars map[string]string, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			expand := func(text string) string {
				return callVarRE.ReplaceAllStringFunc(text, func(m string) string {
					sub := callVarRE.FindStringSubmatch(m)
					v, ok := vars[sub[2]]
					if !ok {
						t.Fatalf("%s is not set (an earlier call failed?)", m)
					}
					if sub[1] != "" {
						return url.QueryEscape(v)
					}
					return v
				})
			}
			status, body := s.send(t, c.method, c.host, expand(c.path), expand(c.cred), expand(c.body), c.reqID)
			short := body
			if len(short) > 800 {
				short = short[:800] + "..."
			}
			if status != c.status {
				t.Errorf("%s %s: status %d, want %d; body %s", c.method, c.path, status, c.status, short)
			}
			if status >= 400 && !strings.Contains(body, `"status":"error"`) {
				t.Errorf("not an error envelope: %s", short)
			}
			for _, f := range c.want {
				if f = expand(f); !strings.Contains(body, f) {
					t.Errorf("body lacks %s: %s", f, short)
				}
			}
			for _, f := range c.absent {
				if f = expand(f); strings.Contains(body, f) {
					t.Errorf("body has %s: %s", f, short)
				}
			}
			if c.total != nil || c.field != "" {
				checkList(t, body, c, expand)
			}
			for name, path := range c.save {
				v, err := jsonAt(body, path)
				if err != nil {
					t.Fatalf("save %s from %s: %v in %s", name, path, err, short)
				}
				vars[name] = v
			}
		})
	}
}

func checkList(t *testing.T, body string, c call, expand func(string) string) {
	t.Helper()
	var env struct {
		Total int              `json:"total"`
		Data  []map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("not a list: %v: %s", err, body)
	}
	if c.total != nil && env.Total != *c.total {
		t.Errorf("total %d, want %d", env.Total, *c.total)
	}
	if c.field == "" {
		return
	}
	got := []string{}
	for _, item := range env.Data {
		got = append(got, fmt.Sprint(item[c.field]))
	}
	want := []string{}
	for _, v := range c.values {
		want = append(want, expand(v))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s of the items: %q, want %q", c.field, got, want)
	}
}

// send makes one request with the given Host, Authorization and
// X-Request-ID (none when empty).
func (s *appStack) send(t *testing.T, method, host, path, cred, body, reqID string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	if reqID != "" {
		req.Header.Set("X-Request-ID", reqID)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return res.StatusCode, string(b)
}

// create sends a POST that must answer 201 and returns the new id.
func (s *appStack) create(t *testing.T, host, path, cred, body string) string {
	t.Helper()
	status, res := s.send(t, "POST", host, path, cred, body, "")
	if status != http.StatusCreated {
		t.Fatalf("POST %s %s: %d %s", path, body, status, res)
	}
	id, err := jsonAt(res, "data.id")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// jsonAt returns the value at a dotted path ("data.0.id") of a JSON
// document as text.
func jsonAt(body, path string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("no element %q in a list of %d", part, len(x))
			}
			v = x[i]
		default:
			return "", fmt.Errorf("no %q in %v", part, v)
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case nil:
		return "", fmt.Errorf("%s is missing or null", path)
	}
	b, err := json.Marshal(v)
	return string(b), err
}
