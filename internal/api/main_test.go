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
	"regexp"
	"strconv"
	"strings"
	"sync"
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
// per client address (every request of a test comes from 127.0.0.1).
type limits struct {
	account, address int
}

var defaultLimits = limits{account: 5, address: 1000}

// stack is the identity stack of one test, wired as cmd/taruvi wires it,
// behind a real HTTP server.
type stack struct {
	db     *postgres.DB
	keys   *token.KeySet
	key    token.Key
	issuer *token.Issuer
	auth   *postgres.Auth
	authz  *postgres.Authz
	users  *postgres.Users
	clock  *clock
	log    *syncBuffer
	url    string
	client *http.Client
}

// docRoute is a route of the tests only: it asks the authorizer whether
// the caller may change document {id}, as any handler guarding one object
// would.
const docRoute = "/api/test-docs/"

func newStack(t *testing.T, lim limits) *stack {
	t.Helper()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return buildStack(t, lim, key)
}

// replica is another server over the same database with the same keys
// and secret, as a second replica of a deployment.
func (s *stack) replica(t *testing.T) *stack {
	t.Helper()
	return buildStack(t, defaultLimits, s.key)
}

func buildStack(t *testing.T, lim limits, key token.Key) *stack {
	t.Helper()
	db := postgrestest.DB(t)
	sealer, err := token.NewSealer(strings.Repeat("s", 40))
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{db: db, keys: token.NewKeySet(key), key: key, clock: &clock{now: time.Now()}, log: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(s.log, nil))
	s.issuer = token.NewIssuer("taruvi", s.keys, nil)
	s.auth = postgres.NewAuth(db, postgres.AuthOptions{
		Issuer:    s.issuer,
		Sealer:    sealer,
		Accounts:  redis.NewMemoryThrottle(lim.account, 15*time.Minute),
		Addresses: redis.NewMemoryThrottle(lim.address, 15*time.Minute),
		Log:       log,
		Now:       s.clock.Now,
	})
	s.authz = postgres.NewAuthz(db, log)
	s.users = postgres.NewUsers(db, s.authz)
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Minute)
	// Revocations reach the session cache by notification, as in serve.
	listenCtx, stopListening := context.WithCancel(context.Background())
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		db.Listen(listenCtx, log, map[string]func(string){
			postgres.TenancyChannel:     func(string) { cache.Invalidate() },
			postgres.RevocationsChannel: s.auth.HandleRevocation,
		}, func() {
			cache.Invalidate()
			s.auth.ResetSessions()
		})
	}()
	t.Cleanup(func() {
		stopListening()
		<-listening
	})
	server := web.NewServer(web.Config{
		BaseDomain:    "localhost",
		PlatformHosts: []string{platformHost},
		TenantVersion: db.TenantVersion(),
		Auth:          s.auth,
	}, log, cache)
	(&api.API{Auth: s.auth, Users: s.users, Keys: s.keys, Log: log}).Register(server)
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

// do sends one request to the stack's server with the given Host and
// Authorization header (none when empty).
func (s *stack) do(t *testing.T, method, host, path, authorization, body string) response {
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
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
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
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
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
	bug    string                       // a known bug in the code under test: the row is skipped with this reason
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

var varRE = regexp.MustCompile(`\{\{(\w+)\}\}`)

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

func (sc *scenario) expand(t *testing.T, text string) string {
	t.Helper()
	return varRE.ReplaceAllStringFunc(text, func(m string) string {
		v, ok := sc.vars[m[2:len(m)-2]]
		if !ok {
			t.Fatalf("%s is not set (an earlier row failed?)", m)
		}
		return v
	})
}

func (sc *scenario) run(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.bug != "" {
				t.Skip("known bug: " + r.bug)
			}
			if r.before != nil {
				r.before(sc.vars)
			}
			path, cred, body := sc.expand(t, r.path), sc.expand(t, r.cred), sc.expand(t, r.body)
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
	short := res.body
	if len(short) > 600 {
		short = short[:600] + "..."
	}
	if res.status != r.status {
		t.Errorf("%s %s on %s: status %d, want %d; body %s", r.method, r.path, r.host, res.status, r.status, short)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if res.status >= 400 && (!strings.Contains(res.body, `"status":"error"`) || !strings.Contains(res.body, `"request_id":"`)) {
		t.Errorf("error response is not an envelope with a request id: %s", short)
	}
	for _, f := range r.want {
		if f = sc.expand(t, f); !strings.Contains(res.body, f) {
			t.Errorf("body lacks %s: %s", f, short)
		}
	}
	for _, f := range r.absent {
		if f = sc.expand(t, f); strings.Contains(res.body, f) {
			t.Errorf("body has %s: %s", f, short)
		}
	}
	for _, h := range r.header {
		if res.header.Get(h) == "" {
			t.Errorf("response has no %s header", h)
		}
	}
	for name, path := range r.save {
		v, err := lookup(res.body, path)
		if err != nil {
			t.Fatalf("save %s from %s: %v in %s", name, path, err, short)
		}
		sc.vars[name] = v
	}
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
