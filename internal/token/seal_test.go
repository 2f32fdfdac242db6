package token_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/token"
)

const secret = "0123456789abcdef0123456789abcdef" // 32 bytes, the minimum

func newSealer(t testing.TB, secret string) *token.Sealer {
	t.Helper()
	s, err := token.NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSealerShortSecret(t *testing.T) {
	t.Parallel()
	for _, short := range []string{"", "x", secret[:31]} {
		_, err := token.NewSealer(short)
		if taruvi.ErrorCode(err) != taruvi.EINVALID || !strings.Contains(taruvi.ErrorMessage(err), "TARUVI_SECRET_KEY") {
			t.Errorf("NewSealer(%d bytes) = %v, want EINVALID naming TARUVI_SECRET_KEY", len(short), err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	plain := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Seed()
	a, err := s.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("sealing twice gave the same bytes; the nonce is not random")
	}
	if bytes.Contains(a, plain) {
		t.Error("the sealed bytes contain the plain text")
	}
	for _, sealed := range [][]byte{a, b} {
		got, err := s.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open = %x, %v; want %x", got, err, plain)
		}
	}
	// A second sealer from the same secret (another replica, a restart)
	// opens it too.
	if got, err := newSealer(t, secret).Open(a); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open with the same secret = %x, %v", got, err)
	}
	if got, err := s.Open(mustSeal(t, s, nil)); err != nil || len(got) != 0 {
		t.Errorf("Open(Seal(empty)) = %x, %v", got, err)
	}
}

func mustSeal(t *testing.T, s *token.Sealer, plain []byte) []byte {
	t.Helper()
	sealed, err := s.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	sealed := mustSeal(t, s, []byte("private key bytes"))
	flipped := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name   string
		sealer *token.Sealer
		sealed []byte
	}{
		{"another secret", newSealer(t, strings.Repeat("z", 32)), sealed},
		{"tampered nonce", s, flipped(0)},
		{"tampered ciphertext", s, flipped(14)},
		{"tampered tag", s, flipped(len(sealed) - 1)},
		{"truncated", s, sealed[:len(sealed)-1]},
		{"shorter than a nonce and tag", s, sealed[:20]},
		{"empty", s, nil},
		{"extended", s, append(bytes.Clone(sealed), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := tt.sealer.Open(tt.sealed); err == nil {
				t.Errorf("Open = %q, want an error", got)
			}
		})
	}
}

func TestMAC(t *testing.T) {
	t.Parallel()
	s := newSealer(t, secret)
	data := []byte("rt_abc")
	a := s.MAC("refresh", data)
	if len(a) != 32 {
		t.Fatalf("MAC has %d bytes, want 32", len(a))
	}
	if !bytes.Equal(a, newSealer(t, secret).MAC("refresh", data)) {
		t.Error("MAC is not deterministic across sealers of one secret")
	}
	for name, other := range map[string][]byte{
		"another purpose": s.MAC("api", data),
		"another input":   s.MAC("refresh", []byte("rt_abd")),
		"another secret":  newSealer(t, secret+"!").MAC("refresh", data),
	} {
		if bytes.Equal(a, other) {
			t.Errorf("%s gave the same MAC", name)
		}
	}
}
