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
	refreshShape = regexp.MustCompile(`^rt_[A-Za-z0-9_-]{43}$`)
	apiKeyShape  = regexp.MustCompile(`^tk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$`)
)

func TestNewRefreshToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		tok := token.NewRefreshToken()
		if !refreshShape.MatchString(tok) || !token.IsRefreshToken(tok) {
			t.Fatalf("refresh token %q has the wrong shape", tok)
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
	cur := token.NewRefreshToken()
	next := token.NextRefreshToken(s, cur)
	if !refreshShape.MatchString(next) || !token.IsRefreshToken(next) {
		t.Fatalf("successor %q has the wrong shape", next)
	}
	if next == cur {
		t.Fatal("the successor is the token itself")
	}
	// A retry (on any replica) derives the same successor.
	if again := token.NextRefreshToken(newSealer(t, secret), cur); again != next {
		t.Errorf("successor changed on retry: %s then %s", next, again)
	}
	if token.NextRefreshToken(s, next) == next || token.NextRefreshToken(s, token.NewRefreshToken()) == next {
		t.Error("different tokens share a successor")
	}
	if token.NextRefreshToken(newSealer(t, strings.Repeat("q", 32)), cur) == next {
		t.Error("the successor does not depend on the secret")
	}
}

func TestIsRefreshToken(t *testing.T) {
	t.Parallel()
	good := token.NewRefreshToken()
	for _, bad := range []string{
		"", "rt_", good[:len(good)-1], good + "A", "xx" + good[2:], "RT" + good[2:],
		good[:10] + "+" + good[11:], good[:10] + "=" + good[11:], good[:10] + "\n" + good[11:],
		"rt_" + strings.Repeat("A", 42) + "B", // stray low bits: not a canonical encoding
	} {
		if token.IsRefreshToken(bad) {
			t.Errorf("IsRefreshToken(%q) = true", bad)
		}
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	tok := token.NewRefreshToken()
	want := sha256.Sum256([]byte(tok))
	if got := token.Hash(tok); !bytes.Equal(got, want[:]) {
		t.Errorf("Hash = %x, want the SHA-256 %x", got, want)
	}
	if bytes.Equal(token.Hash(tok), token.Hash(token.NewRefreshToken())) {
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
		"refresh token":          token.NewRefreshToken(),
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
