package apps_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/auth"
	"taruvi/internal/modules"
	"taruvi/internal/modules/apps"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

func TestMain(m *testing.M) {
	postgrestest.Main(m, func() {
		if shared != nil {
			shared.Close()
		}
	})
}

var (
	once   sync.Once
	shared *postgres.DB
)

// database is the package's database, migrated with the built-in
// modules' sets and the apps module's.
func database(t *testing.T) *postgres.DB {
	t.Helper()
	once.Do(func() {
		ctx := context.Background()
		url := postgrestest.NewScratch(t)
		sets := append(postgres.BuiltinMigrationSets(), apps.New(modules.Core{}).MigrationSet())
		db, err := postgrestest.Migrated(ctx, url, postgres.Options{MaxConns: 16, MigrationSets: sets})
		if err != nil {
			t.Fatal(err)
		}
		shared = db
	})
	if shared == nil {
		t.Fatal("no database")
	}
	return shared
}

// testAuth signs requests in with "Test <user id> <owner|member>": the
// user of that id of the tenant the request addresses. Authentication is
// not what these tests test; permissions are, through the real Authz.
type testAuth struct{ taruvi.AuthService }

func (testAuth) Authenticate(ctx context.Context, header string) (*taruvi.Principal, error) {
	parts := strings.Fields(header)
	if len(parts) != 3 || parts[0] != "Test" {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Bad credential.")
	}
	id, _ := strconv.ParseInt(parts[1], 10, 64)
	return &taruvi.Principal{UserID: id, Audience: taruvi.AudienceFromContext(ctx), IsOwner: parts[2] == "owner"}, nil
}

// harness is a server of the apps module over the package's database.
type harness struct {
	db  *postgres.DB
	mod *apps.Module
	url string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := database(t)
	log := slog.New(slog.DiscardHandler)
	authz := auth.NewAuthz(postgres.NewAuthStore(db), log, nil)
	mod := apps.NewModule(modules.Core{DB: db, Authz: authz, Log: log})
	server := web.NewServer(web.Config{BaseDomain: "localhost", TenantVersion: db.TenantVersion(), Auth: testAuth{}},
		log, web.NewTenantCache(postgres.NewTenants(db), time.Minute, db.Feed()))
	(&api.API{Modules: []taruvi.Module{mod}, Log: log}).Register(server)
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	return &harness{db: db, mod: mod, url: ts.URL}
}

// tenant is a fresh tenant with an owner, a member holding apps.view_app
// and a member holding nothing.
type tenant struct {
	*taruvi.Tenant
	ctx                     context.Context
	owner, viewer, stranger string // credentials
}

func (h *harness) newTenant(t *testing.T) *tenant {
	t.Helper()
	ctx, tn := postgrestest.TenantContext(t, h.db)
	var ids [3]int64
	err := h.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for i, name := range []string{"owner", "viewer", "stranger"} {
			if err := tx.QueryRow(ctx, `INSERT INTO users (email, username, is_owner) VALUES ($1, $1, $2) RETURNING id`,
				name+"@example.test", i == 0).Scan(&ids[i]); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO user_permissions (user_id, permission_id)
			SELECT $1, id FROM permissions WHERE codename = 'apps.view_app'`, ids[1])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cred := func(i int, role string) string { return "Test " + strconv.FormatInt(ids[i], 10) + " " + role }
	return &tenant{Tenant: tn, ctx: ctx, owner: cred(0, "owner"), viewer: cred(1, "member"), stranger: cred(2, "member")}
}

// do sends a request to tn's host and returns the status and body.
func (h *harness) do(t *testing.T, tn *tenant, cred, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = tn.Schema + ".localhost"
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// scenario is one request and what its answer must and must not hold.
type scenario struct {
	name               string
	tn                 *tenant
	cred               string
	method, path, body string
	status             int
	want, never        string
}

func (h *harness) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, s := range scenarios {
		status, body := h.do(t, s.tn, s.cred, s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.want) || (s.never != "" && strings.Contains(body, s.never)) {
			t.Errorf("%s: %s %s: %d %.600s\nwant %d with %s and without %q", s.name, s.method, s.path, status, body, s.status, s.want, s.never)
		}
	}
}
