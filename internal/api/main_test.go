package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

// platformHost is the host of the platform scope in every stack.
const platformHost = "localhost"

// clock is the time source of a stack's authentication service; tests move
// it forward to cross the refresh grace window or an expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink the server's goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// limits are a stack's login throttles: failures allowed per account and
// per client address (every request of a test comes from 127.0.0.1);
// perAddress, when set, turns rate limits on with that many requests a
// minute per address (and per user) in each route class; hasher, when
// set, runs the stack's password hashes.
type limits struct {
	account, address int
	perAddress       int
	hasher           *token.Hasher
}

var defaultLimits = limits{account: 5, address: 1000}

// stack is the identity stack of one test, wired as cmd/taruvi wires it,
// behind a real HTTP server.
type stack struct {
	db     *postgres.DB
	keys   *token.KeySet
	key    token.Key
	issuer *token.Issuer
	auth   *auth.Service
	authz  *auth.Authz
	sealer *token.Sealer // the server's: it mints refresh tokens of sessions that do not exist
	users  *auth.Users
	clock  *clock
	log    *syncBuffer
	url    string
	client *http.Client
}

// docRoute is a route of the tests only: it asks the authorizer whether
// the caller may change document {id}, as any handler guarding one object
// would.
const docRoute = "/api/test-docs/"

// newStack builds a stack with the given throttles; each extension adds to
// the API, an app for instance, before it is registered.
func newStack(t *testing.T, lim limits, extensions ...func(*stack, *api.API)) *stack {
	t.Helper()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return buildStack(t, lim, key, extensions...)
}

// replica is another server over the same database with the same keys
// and secret, as a second replica of a deployment.
func (s *stack) replica(t *testing.T) *stack {
	t.Helper()
	return buildStack(t, defaultLimits, s.key)
}

func buildStack(t *testing.T, lim limits, key token.Key, extensions ...func(*stack, *api.API)) *stack {
	t.Helper()
	db := postgrestest.DB(t)
	sealer, err := token.NewSealer(strings.Repeat("s", 40))
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{db: db, keys: token.NewKeySet(key), key: key, clock: &clock{now: time.Now()}, log: &syncBuffer{}, sealer: sealer}
	log := slog.New(slog.NewJSONHandler(s.log, nil))
	s.issuer = token.NewIssuer("taruvi", s.keys, nil)
	store := postgres.NewAuthStore(db)
	s.auth = auth.New(store, auth.Options{
		Issuer:    s.issuer,
		Sealer:    sealer,
		Hasher:    lim.hasher,
		Accounts:  redis.NewMemoryThrottle(lim.account, 15*time.Minute),
		Addresses: redis.NewMemoryThrottle(lim.address, 15*time.Minute),
		Log:       log,
		Now:       s.clock.Now,
	})
	s.authz = auth.NewAuthz(store, log, nil)
	s.users = auth.NewUsers(postgres.NewUsers(db, s.authz, s.auth.SessionsEnded), s.authz, lim.hasher)
	// Tenancy changes and revocations reach the caches through the
	// database's change feed, as in serve.
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Minute, db.Feed())
	db.Feed().Subscribe(postgres.RevocationSubscriber(s.auth.HandleRevocation, s.auth.ResetSessions))
	postgrestest.RunFeed(t, db)
	cfg := web.Config{
		BaseDomain:    "localhost",
		PlatformHosts: []string{platformHost},
		TenantVersion: db.TenantVersion(),
		Auth:          s.auth,
	}
	if n := lim.perAddress; n > 0 {
		cfg.Limiter = redis.NewMemoryLimiter()
		cfg.Limits = web.RateLimits{Window: time.Minute, Auth: n, API: n, Uploads: n}
	}
	server := web.NewServer(cfg, log, cache)
	a := &api.API{Auth: s.auth, Users: s.users, Keys: s.keys, Log: log, Tenants: postgres.NewTenants(db), BaseDomain: "localhost"}
	for _, extend := range extensions {
		extend(s, a)
	}
	a.Register(server)
	a.RegisterDocs(server)
	server.Handle("GET "+docRoute+"{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.authz.Can(r.Context(), taruvi.PermChangeUser, taruvi.Object{Type: "doc", ID: r.PathValue("id")}); err != nil {
			return err
		}
		web.WriteData(w, http.StatusOK, "Document.", map[string]string{"doc": r.PathValue("id")})
		return nil
	})
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	s.url, s.client = ts.URL, ts.Client()
	return s
}

// site is one scope of a stack: a tenant (ctx carries it) or the platform.
type site struct {
	tenant *taruvi.Tenant // nil on the platform
	ctx    context.Context
	host   string
}

// newTenant provisions a tenant through the production code.
func (s *stack) newTenant(t *testing.T) site {
	t.Helper()
	ctx, tenant := postgrestest.TenantContext(t, s.db)
	return site{tenant: tenant, ctx: ctx, host: tenant.Schema + ".localhost"}
}

// platform is the platform scope.
func (s *stack) platform() site {
	return site{ctx: context.Background(), host: platformHost}
}

// operator is the scope's context with the powers of the command line.
func (st site) operator() context.Context {
	return taruvi.NewContextWithPrincipal(st.ctx, &taruvi.Principal{
		Audience: taruvi.AudienceFromContext(st.ctx), IsOwner: true, IsAdmin: true})
}

// createUser makes a user in the site as the operator.
func (s *stack) createUser(t *testing.T, st site, in taruvi.UserCreate) *taruvi.User {
	t.Helper()
	u, err := s.users.CreateUser(st.operator(), in)
	if err != nil {
		t.Fatalf("create user %s: %v", in.Email, err)
	}
	return u
}

// uniqueEmail returns an address no other test uses, for the platform's
// admins, which all tests of the package share.
func uniqueEmail(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:]) + "@platform.test"
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   string
}

// request sends one request to the stack's server with the given Host and
// headers (an empty value is not sent) and reads the answer.
func (s *stack) request(t *testing.T, method, host, path string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for name, value := range header {
		if value != "" {
			req.Header.Set(name, value)
		}
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// textBody is body as a request body, none when empty.
func textBody(body string) io.Reader {
	if body == "" {
		return nil
	}
	return strings.NewReader(body)
}

// jsonType is the Content-Type of a JSON request body, none when empty.
func jsonType(body string) string {
	if body == "" {
		return ""
	}
	return "application/json"
}

// mustBeJSON fails the test unless the answer is JSON.
func (r response) mustBeJSON(t *testing.T, what string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
}

// do sends one request to the stack's server with the given Host and
// Authorization header (none when empty).
func (s *stack) do(t *testing.T, method, host, path, authorization, body string) response {
	t.Helper()
	return s.request(t, method, host, path, textBody(body), map[string]string{
		"Content-Type": jsonType(body), "Authorization": authorization})
}

// login signs in through the API and returns the pair.
func (s *stack) login(t *testing.T, host, email, password string) taruvi.TokenPair {
	t.Helper()
	res := s.do(t, "POST", host, "/api/auth/jwt/token", "", jsonBody(map[string]string{"email": email, "password": password}))
	if res.status != http.StatusOK {
		t.Fatalf("login %s on %s: %d %s", email, host, res.status, res.body)
	}
	var env struct{ Data taruvi.TokenPair }
	if err := json.Unmarshal([]byte(res.body), &env); err != nil || env.Data.Access == "" || env.Data.Refresh == "" {
		t.Fatalf("login %s: no pair in %s (%v)", email, res.body, err)
	}
	return env.Data
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func bearer(access string) string { return "Bearer " + access }

func id(n int64) string { return strconv.FormatInt(n, 10) }

// row is one request of a scenario and what it must get back. Path,
// credential, body and fragments may name values saved by earlier rows as
// {{name}}.
type row struct {
	name   string
	before func(vars map[string]string) // runs first: moves the clock, derives a value
	method string
	path   string
	host   string
	cred   string // the Authorization header; empty sends none
	body   string
	status int
	want   []string // fragments the body must contain
	absent []string // fragments it must not contain
	header []string // response headers that must be set
	// within, when set, repeats the request until it gets status or this
	// much time has passed: for what arrives by notification.
	within time.Duration
	save   map[string]string // name -> dotted path in the JSON body ("data.refresh")
}

// varRE matches {{name}} and {{q:name}} in the text of a scenario.
var varRE = regexp.MustCompile(`\{\{(q:)?(\w+)\}\}`)

// expandVars replaces {{name}} in text by vars[name], and {{q:name}} by it
// escaped for a query string; a name not set fails the test.
func expandVars(t *testing.T, vars map[string]string, text string) string {
	t.Helper()
	return varRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		v, ok := vars[sub[2]]
		if !ok {
			t.Fatalf("%s is not set (an earlier step failed?)", m)
		}
		if sub[1] != "" {
			return url.QueryEscape(v)
		}
		return v
	})
}

// shorten cuts a body to a length fit for a failure message.
func shorten(body string) string {
	if len(body) > 800 {
		return body[:800] + "..."
	}
	return body
}

// checkBody checks what every step of a scenario checks: the status, an
// error envelope on failure, and the fragments, expanded from vars, that
// body must and must not hold. what names the request in messages.
func checkBody(t *testing.T, what string, status, wantStatus int, body string, want, absent []string, vars map[string]string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d; body %s", what, status, wantStatus, shorten(body))
	}
	if status >= 400 && !strings.Contains(body, `"status":"error"`) {
		t.Errorf("not an error envelope: %s", shorten(body))
	}
	for _, f := range want {
		if f = expandVars(t, vars, f); !strings.Contains(body, f) {
			t.Errorf("body lacks %s: %s", f, shorten(body))
		}
	}
	for _, f := range absent {
		if f = expandVars(t, vars, f); strings.Contains(body, f) {
			t.Errorf("body has %s: %s", f, shorten(body))
		}
	}
}

// saveValues stores in vars the values at the dotted paths of save
// (name -> path) in body.
func saveValues(t *testing.T, body string, save, vars map[string]string) {
	t.Helper()
	for name, path := range save {
		v, err := lookup(body, path)
		if err != nil {
			t.Fatalf("save %s from %s: %v in %s", name, path, err, shorten(body))
		}
		vars[name] = v
	}
}

// scenario runs rows in order, each as a subtest, carrying saved values.
type scenario struct {
	s    *stack
	vars map[string]string
}

func (s *stack) scenario(vars map[string]string) *scenario {
	if vars == nil {
		vars = map[string]string{}
	}
	return &scenario{s: s, vars: vars}
}

func (sc *scenario) run(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.before != nil {
				r.before(sc.vars)
			}
			path, cred, body := expandVars(t, sc.vars, r.path), expandVars(t, sc.vars, r.cred), expandVars(t, sc.vars, r.body)
			res := sc.s.do(t, r.method, r.host, path, cred, body)
			for deadline := time.Now().Add(r.within); res.status != r.status && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				res = sc.s.do(t, r.method, r.host, path, cred, body)
			}
			sc.check(t, r, res)
		})
	}
}

func (sc *scenario) check(t *testing.T, r row, res response) {
	t.Helper()
	checkBody(t, r.method+" "+r.path+" on "+r.host, res.status, r.status, res.body, r.want, r.absent, sc.vars)
	res.mustBeJSON(t, r.method+" "+r.path)
	if res.status >= 400 && !strings.Contains(res.body, `"request_id":"`) {
		t.Errorf("error response has no request id: %s", shorten(res.body))
	}
	for _, h := range r.header {
		if res.header.Get(h) == "" {
			t.Errorf("response has no %s header", h)
		}
	}
	saveValues(t, res.body, r.save, sc.vars)
}

// lookup returns the value at a dotted path ("data.0.id") of a JSON
// document as text.
func lookup(body, path string) (string, error) {
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
