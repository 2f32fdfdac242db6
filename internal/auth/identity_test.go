package auth_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
)

// identity is the identity stack of one test over the shared database.
type identity struct {
	db    *postgres.DB
	auth  *auth.Service
	users *auth.Users
	now   time.Time
}

func newIdentity(t *testing.T) *identity {
	t.Helper()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return newReplica(t, token.NewKeySet(key))
}

// newReplica is one more replica of an identity stack signing with keys.
func newReplica(t *testing.T, keys *token.KeySet) *identity {
	t.Helper()
	db := postgrestest.DB(t)
	sealer, err := token.NewSealer(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	id := &identity{db: db, now: time.Now()}
	id.auth = auth.New(postgres.NewAuthStore(db), auth.Options{
		Issuer:    token.NewIssuer("taruvi", keys, nil),
		Sealer:    sealer,
		Accounts:  redis.NewMemoryThrottle(5, time.Minute),
		Addresses: redis.NewMemoryThrottle(50, time.Minute),
		Log:       log,
		Now:       func() time.Time { return id.now },
	})
	authz := auth.NewAuthz(postgres.NewAuthStore(db), log, nil)
	id.users = auth.NewUsers(postgres.NewUsers(db, authz, id.auth.SessionsEnded), authz, nil)
	return id
}

// operator is a context with the powers of the command line in a scope.
func operator(ctx context.Context) context.Context {
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: taruvi.AudienceFromContext(ctx), IsOwner: true, IsAdmin: true})
}

func TestLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	ctx, _ := postgrestest.TenantContext(t, id.db)
	if _, err := id.users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "Ann@Example.test", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	client := taruvi.Client{IP: "192.0.2.1"}
	if _, err := id.auth.Login(ctx, taruvi.Credentials{Email: "ann@example.test", Password: "wrong password"}, client); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	pair, err := id.auth.Login(ctx, taruvi.Credentials{Email: "ANN@example.test", Password: "correct horse"}, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err := id.auth.Authenticate(ctx, "Bearer "+pair.Access)
	if err != nil || p.Email != "Ann@Example.test" {
		t.Fatalf("authenticate: %+v, %v", p, err)
	}

	id.now = id.now.Add(2 * time.Second)
	next, err := id.auth.Refresh(ctx, pair.Refresh, client)
	if err != nil {
		t.Fatal(err)
	}
	id.now = id.now.Add(5 * time.Second)
	retry, err := id.auth.Refresh(ctx, pair.Refresh, client)
	if err != nil {
		t.Fatal(err)
	}
	if retry.Access != next.Access || retry.Refresh != next.Refresh {
		t.Fatalf("retry inside the grace window: got %+v, want the same pair %+v", retry, next)
	}
	id.now = id.now.Add(10 * time.Second)
	if _, err := id.auth.Refresh(ctx, pair.Refresh, client); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("reuse after the grace window: %v", err)
	}
	if _, err := id.auth.Refresh(ctx, next.Refresh, client); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("the family must be revoked after reuse: %v", err)
	}
	if _, err := id.auth.Authenticate(ctx, "Bearer "+next.Access); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("an access token of a revoked family: %v", err)
	}

	pair, err = id.auth.Login(ctx, taruvi.Credentials{Email: "ann@example.test", Password: "correct horse"}, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err = id.auth.Authenticate(ctx, "Bearer "+pair.Access)
	if err != nil {
		t.Fatal(err)
	}
	if err := id.auth.Logout(taruvi.NewContextWithPrincipal(ctx, p), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := id.auth.Authenticate(ctx, "Bearer "+pair.Access); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("access token after logout: %v", err)
	}
}

func TestTokenIsBoundToItsTenant(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	ctxA, _ := postgrestest.TenantContext(t, id.db)
	ctxB, _ := postgrestest.TenantContext(t, id.db)
	for _, ctx := range []context.Context{ctxA, ctxB} {
		if _, err := id.users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "same@example.test", Password: "password one"}); err != nil {
			t.Fatal(err)
		}
	}
	pair, err := id.auth.Login(ctxA, taruvi.Credentials{Email: "same@example.test", Password: "password one"}, taruvi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.auth.Authenticate(ctxB, "Bearer "+pair.Access); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("A's token on B: %v", err)
	}
	if _, err := id.auth.Refresh(ctxB, pair.Refresh, taruvi.Client{}); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("A's refresh token on B: %v", err)
	}
	pA, err := id.auth.Authenticate(ctxA, "Bearer "+pair.Access)
	if err != nil {
		t.Fatal(err)
	}
	key, err := id.auth.CreateAPIKey(taruvi.NewContextWithPrincipal(ctxA, pA), "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.auth.Authenticate(ctxB, "Api-Key "+key.Key); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("A's API key on B: %v", err)
	}
	if p, err := id.auth.Authenticate(ctxA, "Api-Key "+key.Key); err != nil || p.UserID != pA.UserID {
		t.Fatalf("A's API key on A: %+v %v", p, err)
	}
	if err := id.auth.RevokeAPIKey(taruvi.NewContextWithPrincipal(ctxA, pA), key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := id.auth.Authenticate(ctxA, "Api-Key "+key.Key); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("revoked key: %v", err)
	}
}

func TestCanThroughGroupsAndObjectGrants(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	ctx, _ := postgrestest.TenantContext(t, id.db)
	op := operator(ctx)
	u, err := id.users.CreateUser(op, taruvi.UserCreate{Email: "m@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	member := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: taruvi.AudienceFromContext(ctx), UserID: u.ID})
	authz := auth.NewAuthz(postgres.NewAuthStore(id.db), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err := authz.Can(member, taruvi.PermViewUser, taruvi.Object{}); taruvi.ErrorCode(err) != taruvi.EFORBIDDEN {
		t.Fatalf("member without permission: %v", err)
	}
	g, err := id.users.CreateGroup(op, "Viewers")
	if err != nil {
		t.Fatal(err)
	}
	if err := id.users.AddGroupMember(op, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := id.users.GrantPermission(op, taruvi.ObjectGrant{GroupID: &g.ID, Permission: taruvi.PermViewUser}); err != nil {
		t.Fatal(err)
	}
	if err := authz.Can(member, taruvi.PermViewUser, taruvi.Object{}); err != nil {
		t.Fatalf("through the group: %v", err)
	}
	if _, err := id.users.GrantPermission(op, taruvi.ObjectGrant{UserID: &u.ID, Permission: taruvi.PermChangeUser, ObjectType: "user", ObjectID: "7"}); err != nil {
		t.Fatal(err)
	}
	if err := authz.Can(member, taruvi.PermChangeUser, taruvi.Object{Type: "user", ID: "7"}); err != nil {
		t.Fatalf("object grant: %v", err)
	}
	if err := authz.Can(member, taruvi.PermChangeUser, taruvi.Object{Type: "user", ID: "8"}); taruvi.ErrorCode(err) != taruvi.EFORBIDDEN {
		t.Fatalf("object grant must let exactly one object through: %v", err)
	}
}

// TestRevocationReachesOtherReplicas: a password change on one replica
// makes the user's access tokens fail within a second on another replica,
// which had the session cached, through the notification alone.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(key)
	a, b := newReplica(t, keys), newReplica(t, keys)
	b.db.Feed().Subscribe(postgres.RevocationSubscriber(b.auth.HandleRevocation, b.auth.ResetSessions))
	postgrestest.RunFeed(t, b.db)

	ctx, _ := postgrestest.TenantContext(t, a.db)
	u, err := a.users.CreateUser(operator(ctx), taruvi.UserCreate{Email: "r@example.test", Password: "first password"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.auth.Login(ctx, taruvi.Credentials{Email: "r@example.test", Password: "first password"}, taruvi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, "Bearer "+pair.Access); err != nil {
		t.Fatalf("replica b before the change: %v", err)
	}
	start := time.Now()
	if err := a.users.SetPassword(operator(ctx), u.ID, "second password"); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := b.auth.Authenticate(ctx, "Bearer "+pair.Access)
		if taruvi.ErrorCode(err) == taruvi.EUNAUTHORIZED {
			t.Logf("replica b refused the token %v after the password change", time.Since(start))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("replica b still accepts the token a second after the password change: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
