package token_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

const issuerName = "https://taruvi.test"

// now is the fixed clock of these tests.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newKey returns a fresh signing key created at created.
func newKey(t testing.TB, created time.Time) token.Key {
	t.Helper()
	k, err := token.GenerateKey(created)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tenantClaims are valid claims of user 42 on tenant schema, whose id is
// 7 (or the platform).
func tenantClaims(schema string) token.Claims {
	tid := "7"
	if schema == taruvi.PlatformAudience {
		tid = ""
	}
	return token.Claims{
		Subject:   "42",
		Audience:  schema,
		TenantID:  tid,
		SessionID: "sess-1",
		ID:        "jti-1",
		IssuedAt:  now.Add(-time.Minute),
		ExpiresAt: now.Add(14 * time.Minute),
	}
}

func sign(t testing.TB, iss *token.Issuer, c token.Claims) string {
	t.Helper()
	s, err := iss.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// payload is claims in their wire form, for forging tokens by hand.
func payload(c token.Claims) map[string]any {
	return map[string]any{
		"iss": issuerName, "sub": c.Subject, "aud": c.Audience, "tid": c.TenantID,
		"sid": c.SessionID, "jti": c.ID, "iat": c.IssuedAt.Unix(), "exp": c.ExpiresAt.Unix(),
	}
}

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge assembles a token from a header and a payload and signs its signing
// input with signer.
func forge(t testing.TB, header, claims map[string]any, signer func(input []byte) []byte) string {
	t.Helper()
	input := b64json(t, header) + "." + b64json(t, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(signer([]byte(input)))
}

func edSigner(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

// tamperPayload re-encodes the payload of tok after edit, keeping the
// original header and signature.
func tamperPayload(t testing.TB, tok string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	parts[1] = b64json(t, m)
	return strings.Join(parts, ".")
}

// wantUnauthorized fails unless err is EUNAUTHORIZED with exactly msg.
func wantUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	var e *taruvi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *taruvi.Error", err)
	}
	if e.Code != taruvi.EUNAUTHORIZED || e.Message != msg {
		t.Fatalf("error = %s %q, want %s %q", e.Code, e.Message, taruvi.EUNAUTHORIZED, msg)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	key := newKey(t, now.Add(-time.Hour))
	iss := token.NewIssuer(issuerName, token.NewKeySet(key), nil)
	acme := sign(t, iss, tenantClaims("acme"))
	platform := sign(t, iss, tenantClaims(taruvi.PlatformAudience))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attacker := newKey(t, now)
	edHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": key.ID}
	withClaims := func(edit func(m map[string]any)) map[string]any {
		m := payload(tenantClaims("acme"))
		edit(m)
		return m
	}

	const (
		invalid = "Invalid token."
		expired = "Token expired."
		other   = "Token is for another tenant."
	)
	tests := []struct {
		name     string
		token    string
		audience string
		at       time.Time // zero: now
		want     string    // "" for success, else the error message
	}{
		{"valid tenant token", acme, "acme", now, ""},
		{"valid platform token", platform, taruvi.PlatformAudience, now, ""},
		{"expired", acme, "acme", now.Add(20 * time.Minute), expired},
		{"expired within the 5 s leeway", acme, "acme", now.Add(14*time.Minute + 4*time.Second), ""},
		{"expired past the leeway", acme, "acme", now.Add(14*time.Minute + 6*time.Second), expired},
		{"issued in the future", acme, "acme", now.Add(-2 * time.Minute), invalid},
		{"tampered payload", tamperPayload(t, acme, func(m map[string]any) { m["sub"] = "1" }), "acme", now, invalid},
		{"tampered audience", tamperPayload(t, acme, func(m map[string]any) { m["aud"], m["tid"] = "beta", "8" }), "beta", now, invalid},
		{"tampered signature", acme[:len(acme)-2] + flip(acme[len(acme)-2]) + acme[len(acme)-1:], "acme", now, invalid},
		{"signature removed", acme[:strings.LastIndex(acme, ".")+1], "acme", now, invalid},
		{"alg none", forge(t, map[string]any{"alg": "none", "typ": "JWT", "kid": key.ID}, payload(tenantClaims("acme")),
			func([]byte) []byte { return nil }), "acme", now, invalid},
		{"HS256 keyed with the public key", forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": key.ID}, payload(tenantClaims("acme")),
			func(in []byte) []byte { m := hmac.New(sha256.New, key.Public); m.Write(in); return m.Sum(nil) }), "acme", now, invalid},
		{"RS256", forge(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": key.ID}, payload(tenantClaims("acme")),
			func(in []byte) []byte {
				sum := sha256.Sum256(in)
				sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum[:])
				if err != nil {
					t.Fatal(err)
				}
				return sig
			}), "acme", now, invalid},
		{"missing kid", forge(t, map[string]any{"alg": "EdDSA", "typ": "JWT"}, payload(tenantClaims("acme")), edSigner(key.Private)), "acme", now, invalid},
		{"kid not a string", forge(t, map[string]any{"alg": "EdDSA", "kid": 7}, payload(tenantClaims("acme")), edSigner(key.Private)), "acme", now, invalid},
		{"unknown kid", forge(t, map[string]any{"alg": "EdDSA", "kid": attacker.ID}, payload(tenantClaims("acme")), edSigner(attacker.Private)), "acme", now, invalid},
		{"foreign key under a known kid", forge(t, edHeader, payload(tenantClaims("acme")), edSigner(attacker.Private)), "acme", now, invalid},
		{"tenant a on tenant b", acme, "beta", now, other},
		{"platform token on a tenant", platform, "acme", now, other},
		{"tenant token on the platform", acme, taruvi.PlatformAudience, now, other},
		{"tenant token on a tenant with a longer name", acme, "acme2", now, other},
		{"wrong issuer", sign(t, token.NewIssuer("https://elsewhere.test", token.NewKeySet(key), nil), tenantClaims("acme")), "acme", now, invalid},
		{"tid not a tenant id", forge(t, edHeader, withClaims(func(m map[string]any) { m["tid"] = "acme" }), edSigner(key.Private)), "acme", now, invalid},
		{"no tid on a tenant token", forge(t, edHeader, withClaims(func(m map[string]any) { delete(m, "tid") }), edSigner(key.Private)), "acme", now, invalid},
		{"tid on a platform token", forge(t, edHeader, withClaims(func(m map[string]any) { m["aud"] = "platform" }), edSigner(key.Private)), "platform", now, invalid},
		{"aud as an array", forge(t, edHeader, withClaims(func(m map[string]any) { m["aud"] = []string{"acme"} }), edSigner(key.Private)), "acme", now, invalid},
		{"no exp", forge(t, edHeader, withClaims(func(m map[string]any) { delete(m, "exp") }), edSigner(key.Private)), "acme", now, invalid},
		{"no iat", forge(t, edHeader, withClaims(func(m map[string]any) { delete(m, "iat") }), edSigner(key.Private)), "acme", now, invalid},
		{"no iss", forge(t, edHeader, withClaims(func(m map[string]any) { delete(m, "iss") }), edSigner(key.Private)), "acme", now, invalid},
		{"no sid", forge(t, edHeader, withClaims(func(m map[string]any) { delete(m, "sid") }), edSigner(key.Private)), "acme", now, invalid},
		{"sub not a user id", forge(t, edHeader, withClaims(func(m map[string]any) { m["sub"] = "admin" }), edSigner(key.Private)), "acme", now, invalid},
		{"exp not a number", forge(t, edHeader, withClaims(func(m map[string]any) { m["exp"] = "never" }), edSigner(key.Private)), "acme", now, invalid},
		{"exp fractional", forge(t, edHeader, withClaims(func(m map[string]any) { m["exp"] = float64(now.Unix()) + 600.5 }), edSigner(key.Private)), "acme", now, invalid},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + acme[strings.Index(acme, "."):], "acme", now, invalid},
		{"garbage", "garbage", "acme", now, invalid},
		{"three dots of garbage", "a.b.c", "acme", now, invalid},
		{"only dots", "..", "acme", now, invalid},
		{"two segments", acme[:strings.LastIndex(acme, ".")], "acme", now, invalid},
		{"four segments", acme + ".x", "acme", now, invalid},
		{"padded base64", strings.Replace(acme, ".", "==.", 1), "acme", now, invalid},
		{"oversized", acme + strings.Repeat("A", 5000), "acme", now, invalid},
		{"not UTF-8", "\xff\xfe.\x00.\x01", "acme", now, invalid},
		{"empty", "", "acme", now, invalid},
		{"empty audience", acme, "", now, invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := iss.Verify(context.Background(), tt.token, tt.audience, tt.at)
			if tt.want != "" {
				wantUnauthorized(t, err, tt.want)
				if c != (token.Claims{}) {
					t.Errorf("claims = %+v on failure, want zero", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Audience != tt.audience || c.Subject != "42" || c.Issuer != issuerName {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

// flip returns another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestSignRoundTrip(t *testing.T) {
	t.Parallel()
	iss := token.NewIssuer(issuerName, token.NewKeySet(newKey(t, now)), nil)
	in := tenantClaims("acme")
	in.IssuedAt = now.Add(-time.Minute + 300*time.Millisecond) // truncated to the second
	got, err := iss.Verify(context.Background(), sign(t, iss, in), "acme", now)
	if err != nil {
		t.Fatal(err)
	}
	want := tenantClaims("acme")
	want.Issuer = issuerName
	if got != want {
		t.Errorf("claims = %+v\nwant     %+v", got, want)
	}
	if id, ok := got.UserID(); !ok || id != 42 {
		t.Errorf("UserID = %d, %t; want 42, true", id, ok)
	}
}

// The refresh grace window hands out the same pair twice: signing the same
// claims with the same key must give the same string.
func TestSignDeterministic(t *testing.T) {
	t.Parallel()
	iss := token.NewIssuer(issuerName, token.NewKeySet(newKey(t, now)), nil)
	c := tenantClaims("acme")
	a, b := sign(t, iss, c), sign(t, iss, c)
	if a != b {
		t.Errorf("same claims signed twice:\n%s\n%s", a, b)
	}
	c.ID = "jti-2"
	if sign(t, iss, c) == a {
		t.Error("different claims gave the same token")
	}
}

func TestSignHeader(t *testing.T) {
	t.Parallel()
	key := newKey(t, now)
	tok := sign(t, token.NewIssuer(issuerName, token.NewKeySet(key), nil), tenantClaims("acme"))
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "EdDSA" || h["kid"] != key.ID {
		t.Errorf("header = %v, want alg EdDSA and kid %s", h, key.ID)
	}
}

func TestSignRefusesBadClaims(t *testing.T) {
	t.Parallel()
	iss := token.NewIssuer(issuerName, token.NewKeySet(newKey(t, now)), nil)
	tests := []struct {
		name string
		edit func(*token.Claims)
	}{
		{"no subject", func(c *token.Claims) { c.Subject = "" }},
		{"subject not a number", func(c *token.Claims) { c.Subject = "bob" }},
		{"subject zero", func(c *token.Claims) { c.Subject = "0" }},
		{"subject with a leading zero", func(c *token.Claims) { c.Subject = "042" }},
		{"no audience", func(c *token.Claims) { c.Audience, c.TenantID = "", "" }},
		{"tenant id not a number", func(c *token.Claims) { c.TenantID = "acme" }},
		{"tenant id zero", func(c *token.Claims) { c.TenantID = "0" }},
		{"tenant id with a leading zero", func(c *token.Claims) { c.TenantID = "07" }},
		{"platform with a tenant", func(c *token.Claims) { c.Audience = taruvi.PlatformAudience }},
		{"no session", func(c *token.Claims) { c.SessionID = "" }},
		{"no id", func(c *token.Claims) { c.ID = "" }},
		{"no expiry", func(c *token.Claims) { c.ExpiresAt = time.Time{} }},
		{"no issue time", func(c *token.Claims) { c.IssuedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tenantClaims("acme")
			tt.edit(&c)
			if tok, err := iss.Sign(c); err == nil {
				t.Errorf("Sign(%+v) = %s, want an error", c, tok)
			}
		})
	}
	t.Run("no signing key", func(t *testing.T) {
		t.Parallel()
		verifyOnly := newKey(t, now)
		verifyOnly.Private = nil
		for _, ks := range []*token.KeySet{token.NewKeySet(), token.NewKeySet(verifyOnly)} {
			if _, err := token.NewIssuer(issuerName, ks, nil).Sign(tenantClaims("acme")); err == nil {
				t.Error("Sign without a private key succeeded")
			}
		}
	})
}
