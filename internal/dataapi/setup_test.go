package dataapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/auth"
	"taruvi/internal/dataapi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

// tables is the test's definitions of datatables, per tenant and app, as
// the apps module would keep them.
type tables struct {
	mu   sync.Mutex
	defs map[string]*taruvi.Datatable // "<schema>/<app>/<name>"
}

func (ts *tables) Table(ctx context.Context, app, name string) (*taruvi.Datatable, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if d := ts.defs[taruvi.TenantFromContext(ctx).Schema+"/"+app+"/"+name]; d != nil {
		c := *d
		return &c, nil
	}
	return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Datatable %q not found.", name)
}

func (ts *tables) add(schema, app string, d *taruvi.Datatable) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.defs[schema+"/"+app+"/"+d.Name] = d
}

// dataModule serves the data API as the apps module will.
type dataModule struct{ svc *dataapi.Service }

func (m dataModule) MigrationSet() taruvi.MigrationSet { return taruvi.MigrationSet{Name: "data"} }
func (m dataModule) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: []taruvi.APITag{dataapi.APITag}, Routes: m.svc.Routes()}
}

// stack is the web stack of one test with the data API behind a real
// HTTP server.
type stack struct {
	db     *postgres.DB
	auth   *auth.Service
	authz  *auth.Authz
	users  *auth.Users
	tables *tables
	svc    *dataapi.Service
	server *web.Server
	url    string
	client *http.Client
}

func newStack(t testing.TB, opts ...dataapi.Option) *stack {
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
	keys := token.NewKeySet(key)
	store := postgres.NewAuthStore(db)
	s := &stack{db: db, tables: &tables{defs: map[string]*taruvi.Datatable{}}}
	s.auth = auth.New(store, auth.Options{Issuer: token.NewIssuer("taruvi", keys, nil), Sealer: sealer,
		Accounts: redis.NewMemoryThrottle(100, time.Minute), Addresses: redis.NewMemoryThrottle(1000, time.Minute), Log: log})
	s.authz = auth.NewAuthz(store, log, nil)
	s.users = auth.NewUsers(postgres.NewUsers(db, s.authz, s.auth.SessionsEnded), s.authz, nil)
	cache := web.NewTenantCache(postgres.NewTenants(db), time.Minute, db.Feed())
	postgrestest.RunFeed(t, db)
	s.server = web.NewServer(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"},
		TenantVersion: db.TenantVersion(), Auth: s.auth}, log, cache)
	s.svc = dataapi.New(db, s.authz, s.tables, opts...)
	a := &api.API{Auth: s.auth, Users: s.users, Keys: keys, Log: log, Tenants: postgres.NewTenants(db), BaseDomain: "localhost",
		Modules: []taruvi.Module{dataModule{s.svc}}}
	a.Register(s.server)
	a.RegisterDocs(s.server)
	ts := httptest.NewServer(s.server)
	t.Cleanup(ts.Close)
	s.url, s.client = ts.URL, ts.Client()
	return s
}

// tenant is a fresh tenant of the stack with its datatables.
type tenant struct {
	s      *stack
	tenant *taruvi.Tenant
	ctx    context.Context
	host   string
	owner  string // the owner's Authorization header
}

func (s *stack) newTenant(t testing.TB) *tenant {
	t.Helper()
	ctx, tn := postgrestest.TenantContext(t, s.db)
	tt := &tenant{s: s, tenant: tn, ctx: ctx, host: tn.Schema + ".localhost"}
	tt.owner = tt.user(t, "owner", true)
	return tt
}

// operator is the tenant's context with every power.
func (tt *tenant) operator() context.Context {
	return taruvi.NewContextWithPrincipal(tt.ctx, &taruvi.Principal{Audience: tt.tenant.Schema, IsOwner: true, IsAdmin: true})
}

// user creates a user with the given permissions and returns the
// Authorization header of an API key of theirs.
func (tt *tenant) user(t testing.TB, name string, owner bool, perms ...string) string {
	t.Helper()
	u, err := tt.s.users.CreateUser(tt.operator(), taruvi.UserCreate{Email: name + "@example.test", IsOwner: owner})
	if err != nil {
		t.Fatal(err)
	}
	for _, perm := range perms {
		// The apps module's migration inserts the permissions; here the test does.
		tt.exec(t, `INSERT INTO permissions (codename, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, perm)
		if _, err := tt.s.users.GrantPermission(tt.operator(), taruvi.ObjectGrant{UserID: &u.ID, Permission: perm}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := tt.s.auth.CreateAPIKey(taruvi.NewContextWithPrincipal(tt.ctx, &taruvi.Principal{UserID: u.ID, Audience: tt.tenant.Schema}), "tests", nil)
	if err != nil {
		t.Fatal(err)
	}
	return "Api-Key " + key.Key
}

// exec runs a statement in the tenant, as its role.
func (tt *tenant) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	err := tt.s.db.InTenant(tt.ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// define creates a datatable's physical table with ddl and registers its
// definition (JSON, as the apps module stores it) under app.
func (tt *tenant) define(t testing.TB, app, physical, ddl, def string) {
	t.Helper()
	tt.exec(t, ddl)
	var d taruvi.Datatable
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		t.Fatal(err)
	}
	d.Table = physical
	tt.s.tables.add(tt.tenant.Schema, app, &d)
}

// do sends a request to the tenant's host and returns the status and body.
func (tt *tenant) do(t testing.TB, method, path, auth, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tt.s.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = tt.host
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := tt.s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// data decodes the data of a success envelope into v.
func data(t testing.TB, body string, v any) {
	t.Helper()
	var env struct {
		Status string
		Data   json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Status != "success" {
		t.Fatalf("not a success envelope: %v %.500s", err, body)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("data: %v %.500s", err, body)
	}
}

// The shop: customers (integer key, a unique email, a user), orders
// (uuid key, every field type, full-text search on note), lines (an
// order's, for populate two deep) and docs (a text key).
const (
	customersDDL = `CREATE TABLE dt_customers (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		name text NOT NULL, email text UNIQUE, tier text CHECK (tier IN ('gold', 'silver', 'bronze')), user_id bigint REFERENCES users (id))`
	customersDef = `{"name":"customers","schema":{"fields":[
		{"name":"id","type":"integer"},
		{"name":"name","type":"string","constraints":{"required":true,"maxLength":40}},
		{"name":"email","type":"string","constraints":{"unique":true}},
		{"name":"tier","type":"string","constraints":{"enum":["gold","silver","bronze"]}},
		{"name":"user_id","type":"integer"}],
		"primaryKey":"id",
		"foreignKeys":[{"fields":"user_id","reference":{"resource":"users","fields":"id"}}]}}`
	ordersDDL = `CREATE TABLE dt_orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
		customer_id bigint REFERENCES dt_customers (id) ON DELETE RESTRICT, total numeric CHECK (total >= 0), qty bigint, paid boolean,
		placed date, at timestamptz, tm time, ref uuid, meta jsonb, tags jsonb, note text,
		search_vector tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(note, '')), 'A')) STORED);
		CREATE INDEX dt_orders_search ON dt_orders USING gin (search_vector)`
	ordersDef = `{"name":"orders","schema":{"fields":[
		{"name":"customer_id","type":"integer"},
		{"name":"total","type":"number","constraints":{"minimum":0}},
		{"name":"qty","type":"integer"},
		{"name":"paid","type":"boolean"},
		{"name":"placed","type":"date"},
		{"name":"at","type":"datetime"},
		{"name":"tm","type":"time"},
		{"name":"ref","type":"uuid"},
		{"name":"meta","type":"object"},
		{"name":"tags","type":"array"},
		{"name":"note","type":"string"}],
		"foreignKeys":[{"fields":["customer_id"],"reference":{"resource":"customers"}}]},
		"search_fields":[{"field":"note","weight":"A"}]}`
	linesDDL = `CREATE TABLE dt_lines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		order_id uuid REFERENCES dt_orders (id) ON DELETE CASCADE, sku text)`
	linesDef = `{"name":"lines","schema":{"fields":[{"name":"id","type":"integer"},{"name":"order_id","type":"uuid"},{"name":"sku","type":"string"}],
		"primaryKey":["id"],"foreignKeys":[{"fields":"order_id","reference":{"resource":"orders","fields":["id"]}}]}}`
	docsDDL = `CREATE TABLE dt_docs (path text PRIMARY KEY, body text)`
	docsDef = `{"name":"docs","schema":{"fields":[{"name":"path","type":"string"},{"name":"body","type":"string"}],"primaryKey":"path"}}`
)

// shop defines the shop's tables in app "shop" of the tenant.
func (tt *tenant) shop(t testing.TB) {
	t.Helper()
	tt.define(t, "shop", "dt_customers", customersDDL, customersDef)
	tt.define(t, "shop", "dt_orders", ordersDDL, ordersDef)
	tt.define(t, "shop", "dt_lines", linesDDL, linesDef)
	tt.define(t, "shop", "dt_docs", docsDDL, docsDef)
}
