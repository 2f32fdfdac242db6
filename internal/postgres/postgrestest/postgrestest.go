// Package postgrestest gives tests a real, migrated PostgreSQL database and
// fresh tenants provisioned through the production code.
//
// Each test binary gets one scratch database on the server named by
// TARUVI_TEST_DATABASE_URL (default: the local server on 127.0.0.1:5432),
// created on first use and dropped by Main with the roles it created. A
// server that cannot be reached skips the tests, except under CI=true,
// where it fails them.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
)

// DefaultURL is the server tests use when TARUVI_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the server tests create databases on.
func AdminURL() string {
	if u := os.Getenv("TARUVI_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var (
	once     sync.Once
	shared   *postgres.DB
	setupErr error

	mu       sync.Mutex
	scratchs []*postgres.Scratch

	feedsMu    sync.Mutex
	feeds      = map[*postgres.DB]bool{} // whose change feed runs
	stopShared func()                    // stops the shared database's feed
)

// Main runs the tests of a package, then the cleanups (which remove what
// the tests shared, such as a built binary), and drops the scratch
// databases they made. Call it from TestMain:
// func TestMain(m *testing.M) { postgrestest.Main(m) }.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, cleanup := range cleanups {
		cleanup()
	}
	if stopShared != nil {
		stopShared()
	}
	if shared != nil {
		shared.Close()
	}
	mu.Lock()
	for _, s := range scratchs {
		if err := s.Drop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "postgrestest: drop", s.Name, err)
		}
	}
	mu.Unlock()
	os.Exit(code)
}

// unavailable fails the test under CI and skips it elsewhere.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("PostgreSQL for tests unavailable (%v); set TARUVI_TEST_DATABASE_URL or run `make test`, which starts one", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// NewScratch creates a database of its own for the test (not migrated),
// dropped after the package's tests. It returns the database's URL.
func NewScratch(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.CreateScratch(ctx, AdminURL(), "taruvi_test")
	if err != nil {
		unavailable(t, err)
	}
	mu.Lock()
	scratchs = append(scratchs, s)
	mu.Unlock()
	return s.URL
}

// Open returns a migrated database (public and river schemas) of the
// test's own with the given options (a test that adds a migration of its
// own uses this).
func Open(t testing.TB, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, _ := OpenURL(t, opts)
	return db
}

// OpenURL is Open that also returns the database's URL, for tests that
// connect again (as another process would).
func OpenURL(t testing.TB, opts postgres.Options) (*postgres.DB, string) {
	t.Helper()
	ctx := context.Background()
	url := NewScratch(t)
	db, err := Migrated(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, url
}

// Migrated opens the database at url with opts and applies the public and
// job-queue migrations, as `taruvi migrate` does before any tenant exists.
// A package that keeps one database for all its tests (closed from its
// TestMain) opens it with this.
func Migrated(ctx context.Context, url string, opts postgres.Options) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	if _, _, err := db.MigratePublic(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if _, _, err := jobs.Migrate(ctx, db.Pool()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// DB returns the package's shared, migrated database.
func DB(t testing.TB) *postgres.DB {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var s *postgres.Scratch
		if s, setupErr = postgres.CreateScratch(ctx, AdminURL(), "taruvi_test"); setupErr != nil {
			return
		}
		mu.Lock()
		scratchs = append(scratchs, s)
		mu.Unlock()
		db, err := Migrated(ctx, s.URL, postgres.Options{MaxConns: 32, MigrationSets: postgres.BuiltinMigrationSets()})
		if setupErr = err; err != nil {
			return
		}
		// RunFeed reads shared outside once: it is set under mu.
		mu.Lock()
		shared = db
		mu.Unlock()
	})
	if setupErr != nil {
		unavailable(t, setupErr)
	}
	return shared
}

// RunFeed runs db's change feed, as serve does, and returns once it
// listens. The feed of the shared database (DB) runs until the package's
// tests end, any other until the test does; a second call for the same
// database only waits for it.
func RunFeed(t testing.TB, db *postgres.DB) {
	t.Helper()
	feedsMu.Lock()
	if !feeds[db] {
		feeds[db] = true
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = db.Feed().Run(ctx, slog.New(slog.DiscardHandler))
		}()
		stop := func() {
			cancel()
			<-done
			feedsMu.Lock()
			delete(feeds, db)
			feedsMu.Unlock()
		}
		mu.Lock()
		isShared := db == shared
		mu.Unlock()
		if isShared {
			stopShared = stop
		} else {
			t.Cleanup(stop)
		}
	}
	feedsMu.Unlock()
	select {
	case <-db.Feed().Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the change feed did not start listening")
	}
}

// SchemaName returns a fresh, valid schema name: "t_" and 12 hex digits.
func SchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// NewTenant provisions a fresh tenant in db through the production code,
// and deletes it (schema and role) when the test ends.
func NewTenant(t testing.TB, db *postgres.DB) *taruvi.Tenant {
	t.Helper()
	ctx := context.Background()
	tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: SchemaName()})
	if err != nil {
		t.Fatalf("provision tenant: %v", err)
	}
	t.Cleanup(func() {
		s := postgres.NewTenants(db)
		if err := s.SetTenantStatus(ctx, tenant.Schema, taruvi.TenantSuspended); err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("suspend tenant %s: %v", tenant.Schema, err)
		}
		if err := s.DeleteTenant(ctx, tenant.Schema); err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("delete tenant %s: %v", tenant.Schema, err)
		}
	})
	return tenant
}

// TenantContext provisions a fresh tenant and returns a context that
// carries it, ready for InTenant.
func TenantContext(t testing.TB, db *postgres.DB) (context.Context, *taruvi.Tenant) {
	t.Helper()
	tenant := NewTenant(t, db)
	return taruvi.NewContextWithTenant(context.Background(), tenant), tenant
}
