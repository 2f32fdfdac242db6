package auth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/redis/redistest"
	"taruvi/internal/token"
)

// countingThrottle is a throttle that counts the calls made to it before
// passing them on: each is a round trip to Redis in production.
type countingThrottle struct {
	taruvi.Throttle
	mu    sync.Mutex
	calls int
}

func (c *countingThrottle) count() {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
}

func (c *countingThrottle) Blocked(ctx context.Context, key string) time.Duration {
	c.count()
	return c.Throttle.Blocked(ctx, key)
}

func (c *countingThrottle) Fail(ctx context.Context, key string) {
	c.count()
	c.Throttle.Fail(ctx, key)
}

func (c *countingThrottle) Reset(ctx context.Context, key string) {
	c.count()
	c.Throttle.Reset(ctx, key)
}

func (c *countingThrottle) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls
	c.calls = 0
	return n
}

// newSignInAuth returns the sign-in service of db with a fresh signing key
// and the throttles given.
func newSignInAuth(t *testing.T, db *postgres.DB, hasher *token.Hasher, accounts, addresses taruvi.Throttle) *auth.Service {
	t.Helper()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	return auth.New(postgres.NewAuthStore(db), auth.Options{Issuer: token.NewIssuer("taruvi", token.NewKeySet(key), nil),
		Sealer: sealer, Hasher: hasher, Accounts: accounts, Addresses: addresses, Log: slog.New(slog.DiscardHandler)})
}

// newUsers returns the user service of db, hashing with hasher (nil: one
// of its own).
func newUsers(db *postgres.DB, hasher *token.Hasher, log *slog.Logger) *auth.Users {
	authz := auth.NewAuthz(postgres.NewAuthStore(db), log, nil)
	return auth.NewUsers(postgres.NewUsers(db, authz, nil), authz, hasher)
}

// TestSignInSameWorkUnknownOrKnown: a sign-in with an unknown email and
// one with a known email and a wrong password do the same work: one hash
// each, and the same calls to the throttles (round trips to Redis), so
// the time of the answer does not tell whether the account exists.
func TestSignInSameWorkUnknownOrKnown(t *testing.T) {
	t.Parallel()
	hasher := token.NewHasher(token.HasherOptions{})
	db := postgrestest.Open(t, postgres.Options{MaxConns: 4, MigrationSets: postgres.BuiltinMigrationSets()})
	srv := redistest.Start(t)
	rc, err := redis.Open(context.Background(), srv.URL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	accounts := &countingThrottle{Throttle: redis.NewThrottle(rc, "accounts", 1_000_000, time.Minute)}
	addresses := &countingThrottle{Throttle: redis.NewThrottle(rc, "addresses", 1_000_000, time.Minute)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	signin := newSignInAuth(t, db, hasher, accounts, addresses)
	ctx, _ := postgrestest.TenantContext(t, db)
	users := newUsers(db, hasher, log)
	if _, err := users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "ann@example.test", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	client := taruvi.Client{IP: "192.0.2.7"}
	// signIn returns the hashes and throttle calls one sign-in made, and
	// how long it took.
	signIn := func(email string) (hashes int64, calls int, took time.Duration) {
		before := hasher.Hashes()
		start := time.Now()
		_, err := signin.Login(ctx, taruvi.Credentials{Email: email, Password: "wrong horse battery"}, client)
		took = time.Since(start)
		if taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
			t.Fatalf("sign in as %s: %v, want UNAUTHORIZED", email, err)
		}
		return hasher.Hashes() - before, accounts.take() + addresses.take(), took
	}
	const rounds = 40
	var known, unknown []time.Duration
	for i := range rounds {
		// Alternate which goes first, so both see the same conditions.
		first, second := "ann@example.test", "nobody"+strings.Repeat("x", i%3)+"@example.test"
		if i%2 == 1 {
			first, second = second, first
		}
		fh, fc, ft := signIn(first)
		sh, sc, st := signIn(second)
		kh, kc, kt, uh, uc, ut := fh, fc, ft, sh, sc, st
		if i%2 == 1 {
			kh, kc, kt, uh, uc, ut = sh, sc, st, fh, fc, ft
		}
		if kh != 1 || uh != 1 {
			t.Fatalf("hashes: known email %d, unknown %d; want 1 each", kh, uh)
		}
		if kc != uc {
			t.Fatalf("throttle calls: known email %d, unknown %d; want the same", kc, uc)
		}
		known, unknown = append(known, kt), append(unknown, ut)
	}
	slices.Sort(known)
	slices.Sort(unknown)
	// Logged, not asserted: on two shared cores the noise of one hash is
	// larger than the difference looked for.
	t.Logf("median of %d sign-ins: known email, wrong password %v; unknown email %v",
		rounds, known[rounds/2], unknown[rounds/2])
}

// TestSignInRehashesOldParameters: a password hashed with other argon2id
// parameters than new hashes get (those of an earlier release) still
// signs in, and that sign-in stores a hash with the current parameters,
// which signs in as well; a wrong password changes nothing.
func TestSignInRehashesOldParameters(t *testing.T) {
	t.Parallel()
	db := postgrestest.Open(t, postgres.Options{MaxConns: 4, MigrationSets: postgres.BuiltinMigrationSets()})
	log := slog.New(slog.DiscardHandler)
	signin := newSignInAuth(t, db, nil, redis.NewMemoryThrottle(5, time.Minute), redis.NewMemoryThrottle(50, time.Minute))
	ctx, _ := postgrestest.TenantContext(t, db)
	const email, pw = "old@example.test", "correct horse battery"
	u, err := newUsers(db, nil, log).CreateUser(operator(ctx), taruvi.UserCreate{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding.EncodeToString
	old := fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", b64(salt), b64(argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)))
	stored := func() (hash string) {
		t.Helper()
		err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash)
		})
		if err != nil {
			t.Fatal(err)
		}
		return hash
	}
	err = db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, old)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	client := taruvi.Client{IP: "192.0.2.8"}
	if _, err := signin.Login(ctx, taruvi.Credentials{Email: email, Password: "wrong horse battery"}, client); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if got := stored(); got != old {
		t.Fatalf("a failed sign-in changed the hash to %s", got)
	}
	if !token.NeedsRehash(old) {
		t.Fatal("NeedsRehash says the old parameters are current")
	}
	for i := range 2 {
		if _, err := signin.Login(ctx, taruvi.Credentials{Email: email, Password: pw}, client); err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		got := stored()
		if got == old || token.NeedsRehash(got) {
			t.Fatalf("after sign-in %d the hash is %s, want one with the current parameters", i+1, got)
		}
		if ok, err := token.VerifyPassword(got, pw); !ok || err != nil {
			t.Fatalf("the new hash does not verify the password: %v %v", ok, err)
		}
	}
}
