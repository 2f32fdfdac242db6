package auth

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// fakeSessions is a Store holding sessions in memory, for the rules of
// Refresh that a real database cannot be made to show on demand (an
// exchange refused though its token is current). The real-database tests
// (identity_test.go, the API's) remain the proof of the whole; methods a
// test does not expect are nil and panic.
type fakeSessions struct {
	Store
	mu       sync.Mutex
	sessions map[string]*taruvi.Session
	refuse   int // RotateRefresh refuses this many exchanges first
	finds    int // FindSessionPrincipal calls
}

func (f *fakeSessions) RotateRefresh(_ context.Context, sid string, hash, next []byte, jti string, iat, now, expires time.Time) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse > 0 {
		f.refuse--
		return 0, false, nil
	}
	s := f.sessions[sid]
	if s == nil || !live(s, now) || !bytes.Equal(s.RefreshHash, hash) {
		return 0, false, nil
	}
	s.PrevHash, s.RefreshHash, s.RotatedAt, s.NextJTI, s.NextIAT, s.ExpiresAt = s.RefreshHash, next, &now, jti, &iat, expires
	return s.UserID, true, nil
}

func (f *fakeSessions) FindSession(_ context.Context, sid string) (*taruvi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[sid]
	if !ok {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Not found.")
	}
	c := *s
	return &c, nil
}

func (f *fakeSessions) RevokeSessions(_ context.Context, sids []string, _ string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ended []string
	for _, sid := range sids {
		if s := f.sessions[sid]; s != nil && s.RevokedAt == nil {
			now := time.Now()
			s.RevokedAt, ended = &now, append(ended, sid)
		}
	}
	return ended, nil
}

func (f *fakeSessions) FindSessionPrincipal(_ context.Context, sid string) (taruvi.Principal, bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finds++
	s, ok := f.sessions[sid]
	if !ok {
		return taruvi.Principal{}, false, false, taruvi.Errorf(taruvi.ENOTFOUND, "Not found.")
	}
	return taruvi.Principal{UserID: s.UserID, Email: "ann@example.test"}, s.UserActive, s.RevokedAt != nil, nil
}

// refreshFixture is a service over fakeSessions with one live session of
// user 3 in tenant acme, its first refresh token, a clock and the log.
type refreshFixture struct {
	svc     *Service
	store   *fakeSessions
	ctx     context.Context
	now     time.Time
	refresh string
	log     *bytes.Buffer
}

func newRefreshFixture(t *testing.T) *refreshFixture {
	t.Helper()
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &refreshFixture{now: time.Now(), log: &bytes.Buffer{},
		ctx: taruvi.NewContextWithTenant(context.Background(), &taruvi.Tenant{ID: 7, Schema: "acme"})}
	sidBytes := newUUIDBytes()
	sid := formatUUID(sidBytes)
	f.refresh = token.NewRefreshToken(sealer, sidBytes)
	f.store = &fakeSessions{sessions: map[string]*taruvi.Session{sid: {ID: sid, UserID: 3, UserActive: true,
		RefreshHash: token.Hash(f.refresh), ExpiresAt: f.now.Add(time.Hour)}}}
	f.svc = New(f.store, Options{Issuer: token.NewIssuer("taruvi", token.NewKeySet(key), nil), Sealer: sealer,
		Log: slog.New(slog.NewTextHandler(f.log, nil)), Now: func() time.Time { return f.now }})
	return f
}

// TestRefreshGraceAndReuse: a retry of an exchange within the grace window
// gets the same pair; the same token after the window is a reuse, which
// ends the session, is logged, and makes this replica refuse the session's
// access tokens at once, without asking the store.
func TestRefreshGraceAndReuse(t *testing.T) {
	t.Parallel()
	f := newRefreshFixture(t)
	client := taruvi.Client{IP: "192.0.2.9"}
	first, err := f.svc.Refresh(f.ctx, f.refresh, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "Bearer "+first.Access); err != nil {
		t.Fatalf("the new access token: %v", err)
	}
	f.now = f.now.Add(5 * time.Second)
	retry, err := f.svc.Refresh(f.ctx, f.refresh, client)
	if err != nil {
		t.Fatalf("a retry within the grace window: %v", err)
	}
	if retry.Access != first.Access || retry.Refresh != first.Refresh {
		t.Fatal("a retry within the grace window got another pair")
	}
	f.now = f.now.Add(6 * time.Second)
	_, err = f.svc.Refresh(f.ctx, f.refresh, client)
	if taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED || !strings.Contains(err.Error(), "reused") {
		t.Fatalf("a reuse after the grace window: %v", err)
	}
	if !strings.Contains(f.log.String(), "event=refresh_token_reuse") {
		t.Errorf("no security event for the reuse in %q", f.log.String())
	}
	finds := f.store.finds
	if _, err := f.svc.Authenticate(f.ctx, "Bearer "+first.Access); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("the ended session's access token: %v", err)
	}
	if f.store.finds != finds {
		t.Error("the ended session was looked up again; want it refused from this replica's marks")
	}
	if _, err := f.svc.Refresh(f.ctx, first.Refresh, client); taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED {
		t.Fatalf("the successor of a reused token: %v", err)
	}
}

// TestRefreshCurrentTokenRefused: when the one-round-trip exchange refuses
// a token the session still holds as current (a concurrent exchange took
// the row and rolled back), Refresh exchanges it once more; refused twice,
// the session is taken as ended, and nothing is revoked.
func TestRefreshCurrentTokenRefused(t *testing.T) {
	t.Parallel()
	f := newRefreshFixture(t)
	f.store.refuse = 1
	if _, err := f.svc.Refresh(f.ctx, f.refresh, taruvi.Client{}); err != nil {
		t.Fatalf("refused once: %v", err)
	}
	f = newRefreshFixture(t)
	f.store.refuse = 2
	_, err := f.svc.Refresh(f.ctx, f.refresh, taruvi.Client{})
	if taruvi.ErrorCode(err) != taruvi.EUNAUTHORIZED || !strings.Contains(err.Error(), "Session ended") {
		t.Fatalf("refused twice: %v", err)
	}
	for _, s := range f.store.sessions {
		if s.RevokedAt != nil {
			t.Error("a refused exchange of the current token revoked the session")
		}
	}
}
