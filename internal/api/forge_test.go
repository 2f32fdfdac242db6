package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"taruvi/internal/token"
)

// Forgeries of access tokens: what an attacker holding a real token (and
// the published public key) can make of it.

var seg = base64.RawURLEncoding

// split returns the decoded header and claims of a JWT and its signature
// segment.
func split(t *testing.T, jwt string) (header, claims map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := seg.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims, parts[2]
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return seg.EncodeToString(b)
}

// kidOf is the key id in a token's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := split(t, jwt)
	kid, _ := h["kid"].(string)
	if kid == "" {
		t.Fatalf("token has no kid: %v", h)
	}
	return kid
}

// withSubject keeps header and signature and changes the claimed user.
func withSubject(t *testing.T, jwt, sub string) string {
	t.Helper()
	h, c, sig := split(t, jwt)
	c["sub"] = sub
	return encode(t, h) + "." + encode(t, c) + "." + sig
}

// withFlippedSignature changes one character of the signature.
func withFlippedSignature(t *testing.T, jwt string) string {
	t.Helper()
	i := strings.LastIndexByte(jwt, '.') + 5
	c := byte('A')
	if jwt[i] == 'A' {
		c = 'B'
	}
	return jwt[:i] + string(c) + jwt[i+1:]
}

// algNone re-issues the claims unsigned, with "alg":"none".
func algNone(t *testing.T, jwt string) string {
	t.Helper()
	h, c, _ := split(t, jwt)
	h["alg"] = "none"
	return encode(t, h) + "." + encode(t, c) + "."
}

// hs256 signs the claims with HMAC-SHA256 keyed by secret: the classic
// attack of a verifier that takes its algorithm from the token and its key
// from the public key.
func hs256(t *testing.T, jwt string, secret []byte) string {
	t.Helper()
	h, c, _ := split(t, jwt)
	h["alg"] = "HS256"
	signing := encode(t, h) + "." + encode(t, c)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return signing + "." + seg.EncodeToString(m.Sum(nil))
}

// resign signs the claims of jwt again with the stack's own issuer and
// key, valid from iat to exp: a token the server itself could have made.
func (s *stack) resign(t *testing.T, jwt string, iat, exp time.Time) string {
	t.Helper()
	_, c, _ := split(t, jwt)
	str := func(k string) string { v, _ := c[k].(string); return v }
	out, err := s.issuer.Sign(token.Claims{
		Subject: str("sub"), Audience: str("aud"), TenantID: str("tid"), SessionID: str("sid"),
		ID: str("jti"), IssuedAt: iat, ExpiresAt: exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claim is one claim of a token as text.
func claim(t *testing.T, jwt, name string) string {
	t.Helper()
	_, c, _ := split(t, jwt)
	switch v := c[name].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
