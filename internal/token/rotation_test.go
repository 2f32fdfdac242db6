package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// After a rotation the new key signs and tokens of the old one still verify.
func TestRotation(t *testing.T) {
	t.Parallel()
	old := newKey(t, now.Add(-24*time.Hour))
	keys := token.NewKeySet(old)
	iss := token.NewIssuer(issuerName, keys, nil)
	before := sign(t, iss, tenantClaims("acme"))

	fresh := newKey(t, now)
	keys.Replace([]token.Key{old, fresh})
	if cur, _ := keys.Current(); cur.ID != fresh.ID {
		t.Fatalf("Current = %s, want the new key %s", cur.ID, fresh.ID)
	}
	after := sign(t, iss, tenantClaims("acme"))
	if kidOf(t, after) != fresh.ID || kidOf(t, before) != old.ID {
		t.Fatalf("kids = %s, %s; want %s, %s", kidOf(t, before), kidOf(t, after), old.ID, fresh.ID)
	}
	for _, tok := range []string{before, after} {
		if _, err := iss.Verify(context.Background(), tok, "acme", now); err != nil {
			t.Errorf("Verify after rotation: %v", err)
		}
	}

	// Once the old key is dropped, its tokens stop verifying.
	keys.Replace([]token.Key{fresh})
	_, err := iss.Verify(context.Background(), before, "acme", now)
	wantUnauthorized(t, err, "Invalid token.")
}

func kidOf(t testing.TB, tok string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// A key rotated on another replica is unknown here until the set reloads.
func TestVerifyReloadsUnknownKey(t *testing.T) {
	t.Parallel()
	old, rotated := newKey(t, now.Add(-time.Hour)), newKey(t, now)
	// The other replica signs with the rotated key.
	tok := sign(t, token.NewIssuer(issuerName, token.NewKeySet(rotated), nil), tenantClaims("acme"))

	keys := token.NewKeySet(old)
	var calls atomic.Int32
	var stored atomic.Pointer[[]token.Key] // what the key store holds
	stored.Store(&[]token.Key{old})
	iss := token.NewIssuer(issuerName, keys, func(context.Context) error {
		calls.Add(1)
		keys.Replace(*stored.Load())
		return nil
	})
	verify := func(at time.Time) error {
		_, err := iss.Verify(context.Background(), tok, "acme", at)
		return err
	}

	// The store does not have the key yet: one reload, then a refusal.
	wantUnauthorized(t, verify(now), "Invalid token.")
	if n := calls.Load(); n != 1 {
		t.Fatalf("reloads = %d, want 1", n)
	}
	// Within 10 s no second reload, even though the store has it now.
	stored.Store(&[]token.Key{old, rotated})
	wantUnauthorized(t, verify(now.Add(9*time.Second)), "Invalid token.")
	if n := calls.Load(); n != 1 {
		t.Fatalf("reloads within 10 s = %d, want 1", n)
	}
	// After 10 s the reload happens and finds the key.
	if err := verify(now.Add(11 * time.Second)); err != nil {
		t.Fatalf("Verify after reload: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("reloads = %d, want 2", n)
	}
	// A known kid never reloads.
	if err := verify(now.Add(time.Minute)); err != nil || calls.Load() != 2 {
		t.Fatalf("Verify = %v with %d reloads, want success and 2", err, calls.Load())
	}
}

// Concurrent requests with the same unknown kid share one reload.
func TestVerifyReloadOnceUnderLoad(t *testing.T) {
	t.Parallel()
	rotated := newKey(t, now)
	tok := sign(t, token.NewIssuer(issuerName, token.NewKeySet(rotated), nil), tenantClaims("acme"))
	keys := token.NewKeySet(newKey(t, now.Add(-time.Hour)))
	var calls atomic.Int32
	iss := token.NewIssuer(issuerName, keys, func(context.Context) error {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond) // a database round trip
		keys.Replace(append(keys.Keys(), rotated))
		return nil
	})
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = iss.Verify(context.Background(), tok, "acme", now.Add(time.Duration(i)*time.Millisecond))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Verify %d: %v", i, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("reloads = %d, want 1", n)
	}
}

// A failing reload is an internal error, not a verdict on the token.
func TestVerifyReloadError(t *testing.T) {
	t.Parallel()
	tok := sign(t, token.NewIssuer(issuerName, token.NewKeySet(newKey(t, now)), nil), tenantClaims("acme"))
	down := errors.New("database down")
	iss := token.NewIssuer(issuerName, token.NewKeySet(newKey(t, now)), func(context.Context) error { return down })
	_, err := iss.Verify(context.Background(), tok, "acme", now)
	if !errors.Is(err, down) || taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Errorf("error = %v (code %s), want the reload error as an internal error", err, taruvi.ErrorCode(err))
	}
}
