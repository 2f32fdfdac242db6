package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/auth"
	"taruvi/internal/blob"
	"taruvi/internal/jobs"
	"taruvi/internal/modules"
	"taruvi/internal/modules/files"
	"taruvi/internal/modules/projects"
	"taruvi/internal/modules/tasks"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

// stack is the server of one test, wired as cmd/taruvi wires it, on a
// loopback port: the platform at localhost:<port>, tenants at
// <schema>.localhost:<port>.
type stack struct {
	db      *postgres.DB
	users   *auth.Users
	outbox  *postgres.Outbox
	reports *postgres.Reports
	blobs   taruvi.BlobStore
	spool   string // where an upload's file sent before its fields waits
	port    string
	routes  []string // every pattern the server has
}

// The scratch database is shared by the package's tests, and so is the
// (insert-only) jobs client that its stores enqueue through.
var (
	enqueuerOnce sync.Once
	jobClient    *jobs.Client
	enqueuerErr  error
)

func newStack(t testing.TB) *stack {
	t.Helper()
	db := postgrestest.DB(t)
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(strings.Repeat("s", 40))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	store := postgres.NewAuthStore(db)
	authn := auth.New(store, auth.Options{
		Issuer: token.NewIssuer("taruvi", token.NewKeySet(key), nil), Sealer: sealer,
		Accounts: redis.NewMemoryThrottle(50, time.Minute), Addresses: redis.NewMemoryThrottle(1000, time.Minute), Log: log,
	})
	authz := auth.NewAuthz(store, log, nil)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{db: db, users: auth.NewUsers(postgres.NewUsers(db, authz, authn.SessionsEnded), authz, nil), outbox: postgres.NewOutbox(db, authz), spool: t.TempDir()}
	spools, err := web.NewSpools(s.spool, 4)
	if err != nil {
		t.Fatal(err)
	}
	reports := postgres.NewReports(db, blobs)
	s.reports, s.blobs = reports, blobs
	enqueuerOnce.Do(func() {
		jobClient, enqueuerErr = jobs.New(db.Pool(), jobs.Config{Mode: jobs.InsertOnly, Log: log},
			jobs.Deps{Tenants: postgres.NewTenants(db), Outbox: s.outbox, Reports: reports, Maint: postgres.NewMaintenance(db, blobs, log)})
	})
	if enqueuerErr != nil {
		t.Fatal(enqueuerErr)
	}
	// The loopback address stands for a proxy that reports the scheme.
	server := web.NewServer(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"},
		TenantVersion: db.TenantVersion(), Auth: authn, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, log, web.NewTenantCache(postgres.NewTenants(db), 0, nil))
	// The platform's modules, as cmd/taruvi lists them: the shell's tests
	// walk their pages too.
	core := modules.Core{DB: db, Authz: authz, Blobs: blobs, MaxUploadBytes: 1 << 20, Spools: spools, Log: log}
	mods := modules.Build([]modules.Constructor{projects.New, tasks.New, files.New}, core)
	a := &admin.Admin{Sessions: authn, Auth: authn, Users: s.users, Tenants: postgres.NewTenants(db),
		Platform: postgres.NewConsole(db, authz), History: postgres.NewHistory(db, authz, taruvi.HistoryObjectTypes(mods), taruvi.HistoryFamilies(mods)...),
		Branding: postgres.NewBrandings(db, authz), Outbox: s.outbox, Reports: &jobs.Reports{Store: reports, Jobs: jobClient}, Log: log, Secret: []byte(strings.Repeat("k", 32)),
		SessionTTL: time.Hour,
		Checks:     []admin.Check{{Name: "storage", Detail: "local disk", Ping: blobs.Ping}},
		Modules:    mods}
	if err := a.Register(server); err != nil {
		t.Fatal(err)
	}
	s.routes = server.Routes()
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	_, s.port, _ = net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	return s
}

// url is the address of path on host (a tenant's schema, or "" for the
// platform).
func (s *stack) url(schema, path string) string {
	host := "localhost"
	if schema != "" {
		host = schema + ".localhost"
	}
	return "http://" + host + ":" + s.port + path
}

// newUser adds a user to the tenant (or a platform admin when tenant is
// nil) as the command line does, and returns its email and password.
func (s *stack) newUser(t testing.TB, tenant *taruvi.Tenant, owner bool) (string, string) {
	t.Helper()
	ctx := context.Background()
	if tenant != nil {
		ctx = taruvi.NewContextWithTenant(ctx, tenant)
	}
	ctx = taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: taruvi.AudienceFromContext(ctx), IsOwner: true, IsAdmin: true})
	email := "u" + randomHex(4) + "@example.test"
	password := "pw-" + randomHex(8)
	u, err := s.users.CreateUser(ctx, taruvi.UserCreate{Email: email, IsOwner: owner})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, cheapHash(password))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return email, password
}

// cheapHash is an argon2id hash of password with the least work the
// format allows (8 KiB, one pass). Sign-in reads the parameters from the
// stored hash, so signing in as a user of newUser costs next to nothing
// (the real parameters cost a quarter of a second a hash under -race);
// users created through the pages, as in TestBrowser, get real hashes.
func cheapHash(password string) string {
	salt := []byte("taruvi test salt")
	key := argon2.IDKey([]byte(password), salt, 1, 8, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// client is a cookie-keeping HTTP client that does not follow redirects
// and dials every host to the test server, as Chromium does for
// *.localhost.
func (s *stack) client(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+s.port)
		}}}
}

var csrfRE = `name="csrf" value="`

// csrfOf returns the first CSRF token in a page.
func csrfOf(t testing.TB, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, csrfRE)
	if !ok {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	token, _, _ := strings.Cut(rest, `"`)
	return token
}

func get(t testing.TB, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// signIn signs c in on schema's host (or the platform) and fails the test
// unless it lands on the admin.
func (s *stack) signIn(t testing.TB, c *http.Client, schema, email, password string) {
	t.Helper()
	_, page, _ := get(t, c, s.url(schema, "/admin/login/"))
	status, body, h := post(t, c, s.url(schema, "/admin/login/"), url.Values{"csrf": {csrfOf(t, page)}, "email": {email}, "password": {password}})
	if status != http.StatusSeeOther || h.Get("Location") != "/admin/" {
		t.Fatalf("sign in: status %d, location %q\n%s", status, h.Get("Location"), body)
	}
}

func TestSignedOutVisitorGoesToLogin(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	c := s.client(t)
	for _, path := range []string{"/admin/", "/admin", "/admin/tenants/"} {
		status, _, h := get(t, c, s.url("", path))
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/login/") {
			t.Errorf("GET %s: status %d, location %q; want 303 to the sign-in page", path, status, h.Get("Location"))
		}
	}
	status, page, h := get(t, c, s.url("", "/admin/login/"))
	if status != http.StatusOK || !strings.Contains(page, `name="email"`) || !strings.Contains(page, `name="password"`) {
		t.Fatalf("sign-in page: %d\n%s", status, page)
	}
	if !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(h.Get("Set-Cookie"), "SameSite=Lax") {
		t.Errorf("sign-in cookie %q: want HttpOnly and SameSite=Lax", h.Get("Set-Cookie"))
	}
	// The security headers reach the admin pages as every other answer.
	for _, name := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if h.Get(name) == "" {
			t.Errorf("sign-in page: no %s header", name)
		}
	}
}

func TestLoginFormKeepsEmailAndShowsError(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, _ := s.newUser(t, nil, false)
	c := s.client(t)
	_, page, _ := get(t, c, s.url("", "/admin/login/"))
	status, body, _ := post(t, c, s.url("", "/admin/login/"), url.Values{"csrf": {csrfOf(t, page)}, "email": {email}, "password": {"wrong"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, `value="`+email+`"`) || !strings.Contains(body, "Invalid credentials.") {
		t.Fatalf("bad password: status %d\n%s", status, body)
	}
	// Without the token the sign-in form is refused even with the right cookie.
	status, _, _ = post(t, c, s.url("", "/admin/login/"), url.Values{"email": {email}, "password": {"wrong"}})
	if status != http.StatusForbidden {
		t.Errorf("sign-in without CSRF token: %d, want 403", status)
	}
}

func TestFormWithoutCSRFTokenIsRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, password := s.newUser(t, nil, false)
	c := s.client(t)
	s.signIn(t, c, "", email, password)
	schema := postgrestest.SchemaName()
	for name, form := range map[string]url.Values{
		"missing": {"schema": {schema}},
		"wrong":   {"schema": {schema}, "csrf": {"x" + strings.Repeat("A", 42)}},
	} {
		status, body, _ := post(t, c, s.url("", "/admin/tenants/"), form)
		if status != http.StatusForbidden {
			t.Errorf("%s token: status %d, want 403\n%s", name, status, body)
		}
	}
	if _, err := s.db.FindTenant(context.Background(), schema); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("tenant created without a CSRF token: %v", err)
	}
	_, page, _ := get(t, c, s.url("", "/admin/tenants/new/"))
	status, body, h := post(t, c, s.url("", "/admin/tenants/"), url.Values{"schema": {schema}, "csrf": {csrfOf(t, page)}})
	if status != http.StatusSeeOther {
		t.Fatalf("with the token: status %d\n%s", status, body)
	}
	t.Cleanup(func() { dropTenant(t, s.db, schema) })
	if h.Get("Location") != "/admin/tenants/"+schema+"/" {
		t.Errorf("location %q", h.Get("Location"))
	}
}

func TestSessionIsBoundToItsTenant(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	email, password := s.newUser(t, a, true)
	c := s.client(t)
	s.signIn(t, c, a.Schema, email, password)
	if status, body, _ := get(t, c, s.url(a.Schema, "/admin/users/")); status != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("own tenant: %d", status)
	}
	// The same cookie, carried to tenant B's host, and to the platform.
	u, _ := url.Parse(s.url(a.Schema, "/admin/"))
	for _, target := range []string{s.url(b.Schema, "/admin/users/"), s.url("", "/admin/tenants/")} {
		tu, _ := url.Parse(target)
		c.Jar.SetCookies(tu, c.Jar.Cookies(u))
		status, _, h := get(t, c, target)
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/login/") {
			t.Errorf("tenant A's cookie at %s: status %d, location %q; want the sign-in page", target, status, h.Get("Location"))
		}
	}
	// A member is refused the platform console on the platform host too.
	if status, _, _ := get(t, c, s.url(a.Schema, "/admin/tenants/")); status != http.StatusNotFound {
		t.Errorf("platform page on a tenant host: %d, want 404", status)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, password := s.newUser(t, nil, false)
	c := s.client(t)
	s.signIn(t, c, "", email, password)
	_, page, _ := get(t, c, s.url("", "/admin/"))
	u, _ := url.Parse(s.url("", "/admin/"))
	old := c.Jar.Cookies(u)
	if status, _, _ := post(t, c, s.url("", "/admin/logout/"), url.Values{"csrf": {csrfOf(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	c.Jar.SetCookies(u, old) // the old cookie, replayed
	if status, _, _ := get(t, c, s.url("", "/admin/")); status != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to sign in", status)
	}
}

func dropTenant(t testing.TB, db *postgres.DB, schema string) {
	ts := postgres.NewTenants(db)
	ctx := context.Background()
	_ = ts.SetTenantStatus(ctx, schema, taruvi.TenantSuspended)
	if err := ts.DeleteTenant(ctx, schema); err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("delete tenant %s: %v", schema, err)
	}
}
