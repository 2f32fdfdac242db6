package token_test

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"taruvi/internal/token"
)

var (
	refreshShape = regexp.MustCompile(`^rt_[A-Za-z0-9_-]{86}$`)
	apiKeyShape  = regexp.MustCompile(`^tk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$`)
)

var session = [16]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}

func TestNewRefreshToken(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	seen := map[string]bool{}
	for range 100 {
		tok := token.NewRefreshToken(s, session)
		if !refreshShape.MatchString(tok) {
			t.Fatalf("refresh token %q has the wrong shape", tok)
		}
		if got, ok := token.ParseRefreshToken(s, tok); !ok || got != session {
			t.Fatalf("ParseRefreshToken(%q) = %x, %t; want %x, true", tok, got, ok, session)
		}
		if seen[tok] {
			t.Fatalf("refresh token %q came twice", tok)
		}
		seen[tok] = true
	}
}

func TestNextRefreshToken(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	cur := token.NewRefreshToken(s, session)
	next := token.NextRefreshToken(s, session, cur)
	if !refreshShape.MatchString(next) {
		t.Fatalf("successor %q has the wrong shape", next)
	}
	if got, ok := token.ParseRefreshToken(s, next); !ok || got != session {
		t.Fatalf("the successor names session %x (%t), want %x", got, ok, session)
	}
	if next == cur {
		t.Fatal("the successor is the token itself")
	}
	// A retry (on any replica) derives the same successor.
	if again := token.NextRefreshToken(newSealer(t, secret), session, cur); again != next {
		t.Errorf("successor changed on retry: %s then %s", next, again)
	}
	if token.NextRefreshToken(s, session, next) == next || token.NextRefreshToken(s, session, token.NewRefreshToken(s, session)) == next {
		t.Error("different tokens share a successor")
	}
	other := newSealer(t, strings.Repeat("q", 32))
	if _, ok := token.ParseRefreshToken(other, cur); ok {
		t.Error("a token made under one secret is accepted under another")
	}
}

// TestParseRefreshTokenRefuses: anything but a token the server made,
// unchanged, names no session; a changed session id in particular, so
// nobody can present an old-looking token for another user's session.
func TestParseRefreshTokenRefuses(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	good := token.NewRefreshToken(s, session)
	at := func(i int, c string) string { return good[:i] + c + good[i+1:] }
	flip := func(i int) string {
		if good[i] == 'A' {
			return at(i, "B")
		}
		return at(i, "A")
	}
	for name, bad := range map[string]string{
		"empty":             "",
		"prefix only":       "rt_",
		"one short":         good[:len(good)-1],
		"one long":          good + "A",
		"wrong scheme":      "xx" + good[2:],
		"upper-case scheme": "RT" + good[2:],
		"plus":              at(10, "+"),
		"padding":           at(10, "="),
		"line break":        at(10, "\n"),
		"stray low bits":    good[:len(good)-1] + "B",
		"other session":     flip(5),
		"other secret":      flip(40),
		"other tag":         flip(len(good) - 5),
		"API key":           func() string { _, k := token.NewAPIKey(); return k }(),
		"old-format (43)":   "rt_" + strings.Repeat("A", 43),
	} {
		if got, ok := token.ParseRefreshToken(s, bad); ok || got != [16]byte{} {
			t.Errorf("%s: ParseRefreshToken(%q) = %x, %t; want a refusal", name, bad, got, ok)
		}
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	tok := token.NewRefreshToken(s, session)
	want := sha256.Sum256([]byte(tok))
	if got := token.Hash(tok); !bytes.Equal(got, want[:]) {
		t.Errorf("Hash = %x, want the SHA-256 %x", got, want)
	}
	if bytes.Equal(token.Hash(tok), token.Hash(token.NewRefreshToken(s, session))) {
		t.Error("two tokens hash alike")
	}
}

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		prefix, key := token.NewAPIKey()
		m := apiKeyShape.FindStringSubmatch(key)
		if m == nil || m[1] != prefix {
			t.Fatalf("API key %q (prefix %q) has the wrong shape", key, prefix)
		}
		if got, ok := token.ParseAPIKey(key); !ok || got != prefix {
			t.Fatalf("ParseAPIKey(%q) = %q, %t; want %q, true", key, got, ok, prefix)
		}
		if seen[prefix] || seen[key] {
			t.Fatalf("API key %q came twice", key)
		}
		seen[prefix], seen[key] = true, true
	}
}

func TestParseAPIKeyRefuses(t *testing.T) {
	t.Parallel()
	_, key := token.NewAPIKey()
	at := func(i int, s string) string { return key[:i] + s + key[i+1:] }
	for name, bad := range map[string]string{
		"empty":                  "",
		"prefix only":            key[:15],
		"one short":              key[:len(key)-1],
		"one long":               key + "A",
		"wrong scheme":           "tx" + key[2:],
		"refresh token":          token.NewRefreshToken(newSealer(t, secret), session),
		"upper-case hex":         at(3, "A"),
		"non-hex prefix":         at(3, "g"),
		"no separator":           at(15, "-"),
		"bad secret character":   at(20, "+"),
		"padding":                at(len(key)-1, "="),
		"line break":             at(20, "\n"),
		"space":                  at(20, " "),
		"non-canonical encoding": key[:16] + strings.Repeat("A", 42) + "B",
		"Bearer prefix":          "Bearer " + key[7:],
	} {
		if p, ok := token.ParseAPIKey(bad); ok || p != "" {
			t.Errorf("%s: ParseAPIKey(%q) = %q, %t; want a refusal", name, bad, p, ok)
		}
	}
}

// TestSessionToken checks a session token's shape and round trip, and that
// a session token and a refresh token never pass for each other, nor a
// token with one character changed or tagged under another secret.
func TestSessionToken(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	shape := regexp.MustCompile(`^st_[A-Za-z0-9_-]{86}$`)
	tok := token.NewSessionToken(s, session)
	if !shape.MatchString(tok) {
		t.Fatalf("session token %q has the wrong shape", tok)
	}
	if got, ok := token.ParseSessionToken(s, tok); !ok || got != session {
		t.Fatalf("ParseSessionToken(%q) = %x, %t; want %x, true", tok, got, ok, session)
	}
	if tok == token.NewSessionToken(s, session) {
		t.Error("two session tokens of one session are equal")
	}
	if _, ok := token.ParseRefreshToken(s, tok); ok {
		t.Error("a session token passes for a refresh token")
	}
	if _, ok := token.ParseRefreshToken(s, "rt_"+tok[3:]); ok {
		t.Error("a session token renamed rt_ passes for a refresh token")
	}
	if _, ok := token.ParseSessionToken(s, "st_"+token.NewRefreshToken(s, session)[3:]); ok {
		t.Error("a refresh token renamed st_ passes for a session token")
	}
	flipped := []byte(tok)
	flipped[10] ^= 1
	if _, ok := token.ParseSessionToken(s, string(flipped)); ok {
		t.Error("a session token with a changed character passes")
	}
	other := strings.Repeat("7", len(secret))
	if _, ok := token.ParseSessionToken(newSealer(t, other), tok); ok {
		t.Error("a session token passes under another secret")
	}
}
