package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/cache"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// cachingProcess is one process's view of a shared database, with the read
// cache on, listening for and publishing changes as `serve` does.
type cachingProcess struct {
	db       *postgres.DB
	projects *postgres.Projects
}

func newCachingProcess(t *testing.T, url string) *cachingProcess {
	t.Helper()
	return newObservedProcess(t, url, nil)
}

// newObservedProcess is newCachingProcess with observe counting the read
// cache's lookups.
func newObservedProcess(t *testing.T, url string, observe func(hit bool)) *cachingProcess {
	t.Helper()
	ctx := context.Background()
	// A minute: an answer still wrong after the polls below was served
	// from a cache that missed a write, not from one that timed out.
	db, err := postgres.Open(ctx, url, postgres.Options{MigrationSets: postgres.BuiltinMigrationSets(), ReadCacheTTL: time.Minute, ObserveReads: observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, _, err := db.MigratePublic(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := jobs.Migrate(ctx, db.Pool()); err != nil { // a new user's welcome email
		t.Fatal(err)
	}
	postgrestest.RunFeed(t, db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &cachingProcess{db: db, projects: postgres.NewProjects(db, testAuthz(db, log))}
}

func (p *cachingProcess) count(t *testing.T, ctx context.Context) int {
	t.Helper()
	_, total, err := p.projects.ListProjects(ctx, taruvi.ListQuery{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// eventually polls until the process lists want projects, for up to two
// seconds.
func (p *cachingProcess) eventually(t *testing.T, ctx context.Context, want int, why string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := p.count(t, ctx)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d projects listed, want %d", why, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadCache: pages are answered from memory until the tenant is
// written to, in this process or another; a page of tenant A is never an
// answer for tenant B, though the principals look alike.
func TestReadCache(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewScratch(t)
	one, two := newCachingProcess(t, url), newCachingProcess(t, url)
	a, b := postgrestest.NewTenant(t, one.db), postgrestest.NewTenant(t, one.db)
	ctxA := operator(taruvi.NewContextWithTenant(context.Background(), a))
	ctxB := operator(taruvi.NewContextWithTenant(context.Background(), b))
	create := func(p *cachingProcess, ctx context.Context, name string) {
		t.Helper()
		if _, err := p.projects.CreateProject(ctx, taruvi.ProjectCreate{Name: name}); err != nil {
			t.Fatal(err)
		}
	}

	// The second process writes, so no notification of its own can arrive
	// later and empty its cache.
	create(two, ctxA, "a1")
	if got := two.count(t, ctxA); got != 1 {
		t.Fatalf("tenant A lists %d projects, want 1", got)
	}
	if got := two.count(t, ctxB); got != 0 {
		t.Fatalf("tenant B lists %d projects after A's page was cached, want 0", got)
	}
	one.eventually(t, ctxA, 1, "the first process")

	// The page is served from memory: a row written behind the cache's back
	// (not through a scope, so no process hears of it) does not show.
	tx, err := one.db.Pool().Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `SET LOCAL search_path = `+a.Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `INSERT INTO projects (name) VALUES ('behind the cache')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := two.count(t, ctxA); got != 1 {
		t.Fatalf("a cached page lists %d projects, want the 1 it held", got)
	}

	// A write through one process shows at once in that process, and in
	// the other as soon as the notification arrives.
	create(one, ctxA, "a3")
	if got := one.count(t, ctxA); got != 3 {
		t.Fatalf("after its own write the process lists %d projects of A, want 3", got)
	}
	two.eventually(t, ctxA, 3, "after the other process wrote")
	create(two, ctxA, "a4")
	one.eventually(t, ctxA, 4, "after the second process wrote")

	// B's pages were never touched by A's writes, and stay B's.
	create(two, ctxB, "b1")
	one.eventually(t, ctxB, 1, "tenant B after its own write")
	if got := one.count(t, ctxA); got != 4 {
		t.Fatalf("tenant A lists %d projects after B's write, want 4", got)
	}
}

// TestPermissionCache: permission answers come from the cache until the
// tenant is written to; a grant shows at once, an answer of tenant A is
// never one for the same user id in tenant B.
func TestPermissionCache(t *testing.T) {
	t.Parallel()
	p := newCachingProcess(t, postgrestest.NewScratch(t))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	answers := cache.New(cache.Options{Feed: p.db.Feed(), ForgetOnWrite: []string{auth.AuthzNamespace}})
	authz := auth.NewAuthz(postgres.NewAuthStore(p.db), log, answers)
	users := testUsers(p.db, authz)

	member := func(tenant *taruvi.Tenant) (context.Context, *taruvi.User) {
		t.Helper()
		ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
		u, err := users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "member@example.test", Password: "member password"})
		if err != nil {
			t.Fatal(err)
		}
		return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: u.ID, Audience: tenant.Schema}), u
	}
	a, b := postgrestest.NewTenant(t, p.db), postgrestest.NewTenant(t, p.db)
	ctxA, userA := member(a)
	ctxB, userB := member(b)
	if userA.ID != userB.ID {
		t.Fatalf("want the same user id in both tenants, got %d and %d", userA.ID, userB.ID)
	}
	can := func(ctx context.Context) string {
		return taruvi.ErrorCode(authz.Can(ctx, taruvi.PermViewProject, taruvi.Object{}))
	}
	if got := can(ctxA); got != taruvi.EFORBIDDEN {
		t.Fatalf("before the grant: %q, want %s", got, taruvi.EFORBIDDEN)
	}
	if _, err := users.GrantPermission(operator(taruvi.NewContextWithTenant(context.Background(), a)),
		taruvi.ObjectGrant{UserID: &userA.ID, Permission: taruvi.PermViewProject}); err != nil {
		t.Fatal(err)
	}
	if got := can(ctxA); got != "" {
		t.Fatalf("after the grant: %q, want allowed", got)
	}
	if got := can(ctxB); got != taruvi.EFORBIDDEN {
		t.Fatalf("the same user id in tenant B: %q, want %s", got, taruvi.EFORBIDDEN)
	}

	// The answer is remembered: the grant removed behind the cache's back
	// still lets A's member through, until the tenant is written to.
	if _, err := p.db.Pool().Exec(context.Background(), `DELETE FROM `+a.Schema+`.user_permissions`); err != nil {
		t.Fatal(err)
	}
	if got := can(ctxA); got != "" {
		t.Fatalf("a remembered answer: %q, want allowed", got)
	}
	if _, err := users.CreateGroup(operator(taruvi.NewContextWithTenant(context.Background(), a)), "Any write"); err != nil {
		t.Fatal(err)
	}
	if got := can(ctxA); got != taruvi.EFORBIDDEN {
		t.Fatalf("after a write to the tenant: %q, want %s", got, taruvi.EFORBIDDEN)
	}
}
