package token

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Key is one Ed25519 signing key. ID is the "kid" that tokens signed with it
// carry in their header. A key without Private can verify but never sign.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	CreatedAt time.Time
}

// GenerateKey returns a new random Ed25519 key created at now. Its ID is the
// first 16 hex characters of the SHA-256 of the public key, so the same key
// always has the same ID.
func GenerateKey(now time.Time) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	return Key{ID: KeyID(pub), Private: priv, Public: pub, CreatedAt: now.UTC()}, nil
}

// KeyID derives the key ID of a public key: 16 hex characters.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// normalize fills Public from Private when it is missing and reports whether
// the key is usable: an ID, a public key of the right size and, when
// present, a private key of the right size matching it.
func (k Key) normalize() (Key, bool) {
	if len(k.Private) != 0 {
		if len(k.Private) != ed25519.PrivateKeySize {
			return k, false
		}
		pub, _ := k.Private.Public().(ed25519.PublicKey)
		if len(k.Public) == 0 {
			k.Public = pub
		} else if !pub.Equal(k.Public) {
			return k, false
		}
	}
	return k, k.ID != "" && len(k.Public) == ed25519.PublicKeySize
}

// KeySet holds the keys an Issuer signs and verifies with. It is safe for
// concurrent use; Replace swaps the whole set at once.
type KeySet struct {
	mu     sync.RWMutex
	keys   []Key // newest first
	byID   map[string]ed25519.PublicKey
	signer int // index in keys of the newest key with a private half, -1 if none
}

// NewKeySet returns a set holding keys. Keys that are malformed (no ID, a
// public or private key of the wrong size, halves that do not match) are
// left out.
func NewKeySet(keys ...Key) *KeySet {
	s := &KeySet{}
	s.Replace(keys)
	return s
}

// Replace makes keys the whole content of the set, leaving out malformed
// keys as NewKeySet does. When two keys share an ID the newer one wins.
func (s *KeySet) Replace(keys []Key) {
	valid := make([]Key, 0, len(keys))
	for _, k := range keys {
		if k, ok := k.normalize(); ok {
			valid = append(valid, k)
		}
	}
	// Newest first; ties broken by ID so the order never depends on input.
	slices.SortStableFunc(valid, func(a, b Key) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	byID := make(map[string]ed25519.PublicKey, len(valid))
	unique := valid[:0]
	signer := -1
	for _, k := range valid {
		if _, seen := byID[k.ID]; seen {
			continue
		}
		byID[k.ID] = k.Public
		if signer < 0 && len(k.Private) != 0 {
			signer = len(unique)
		}
		unique = append(unique, k)
	}
	valid = unique

	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.byID, s.signer = valid, byID, signer
}

// Current returns the key that signs new tokens: the newest by CreatedAt
// that has a private half. It reports false when the set has none.
func (s *KeySet) Current() (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.signer < 0 {
		return Key{}, false
	}
	return s.keys[s.signer], true
}

// Lookup returns the public key with the given ID.
func (s *KeySet) Lookup(kid string) (ed25519.PublicKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pub, ok := s.byID[kid]
	return pub, ok
}

// Keys returns a copy of the keys in the set, newest first.
func (s *KeySet) Keys() []Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.keys)
}

// jwk is one entry of a JSON Web Key Set (RFC 8037 for Ed25519).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public keys of the set as a JSON Web Key Set, newest
// first, for /.well-known/jwks.json:
//
//	{"keys":[{"kty":"OKP","crv":"Ed25519","x":"...","kid":"...","alg":"EdDSA","use":"sig"}]}
func (s *KeySet) JWKS() ([]byte, error) {
	s.mu.RLock()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(s.keys))}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(k.Public),
			Kid: k.ID,
			Alg: "EdDSA",
			Use: "sig",
		})
	}
	s.mu.RUnlock()

	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return b, nil
}
