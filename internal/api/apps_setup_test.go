package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/modules"
	"taruvi/internal/modules/files"
	"taruvi/internal/modules/projects"
	"taruvi/internal/modules/tasks"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// appStack is the identity stack with the business apps (projects, tasks,
// history) registered too, as cmd/taruvi wires them.
type appStack struct {
	*stack
}

// appLimits are the login throttles of an appStack: loose enough that no
// test of the apps meets them.
var appLimits = limits{account: 100, address: 1000}

func newAppStack(t *testing.T) *appStack {
	t.Helper()
	return &appStack{newStack(t, appLimits, withApps)}
}

// withApps registers the projects and tasks modules and the history.
func withApps(s *stack, a *api.API) {
	core := modules.Core{DB: s.db, Authz: s.authz, Log: a.Log}
	a.Modules = append(a.Modules, projects.New(core), tasks.New(core))
	// The history of every built-in module's objects: newFileStack adds
	// the files module after this.
	builtin := modules.Build([]modules.Constructor{projects.New, tasks.New, files.New}, modules.Core{})
	a.History = postgres.NewHistory(s.db, s.authz, taruvi.HistoryObjectTypes(builtin))
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

// newAppTenant is a fresh appStack and a tenant of it.
func newAppTenant(t *testing.T) (*appStack, *appTenant) {
	t.Helper()
	s := newAppStack(t)
	return s, s.newTenant(t)
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

// run sends the calls in order, each a subtest, carrying saved values in
// vars.
func (s *appStack) run(t *testing.T, vars map[string]string, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			expand := func(text string) string { return expandVars(t, vars, text) }
			status, body := s.send(t, c.method, c.host, expand(c.path), expand(c.cred), expand(c.body), c.reqID)
			checkBody(t, c.method+" "+c.path, status, c.status, body, c.want, c.absent, vars)
			if c.total != nil || c.field != "" {
				checkList(t, body, c, expand)
			}
			saveValues(t, body, c.save, vars)
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
// X-Request-ID (none when empty); the answer must be JSON.
func (s *appStack) send(t *testing.T, method, host, path, cred, body, reqID string) (int, string) {
	t.Helper()
	res := s.request(t, method, host, path, textBody(body), map[string]string{
		"Content-Type": jsonType(body), "Authorization": cred, "X-Request-ID": reqID})
	res.mustBeJSON(t, method+" "+path)
	return res.status, res.body
}

// create sends a POST that must answer 201 and returns the new id.
func (s *appStack) create(t *testing.T, host, path, cred, body string) string {
	t.Helper()
	status, res := s.send(t, "POST", host, path, cred, body, "")
	if status != http.StatusCreated {
		t.Fatalf("POST %s %s: %d %s", path, body, status, res)
	}
	id, err := lookup(res, "data.id")
	if err != nil {
		t.Fatal(err)
	}
	return id
}
