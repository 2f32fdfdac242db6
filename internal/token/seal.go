package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"taruvi"
)

// MinSecretLen is the least number of bytes TARUVI_SECRET_KEY must have.
const MinSecretLen = 32

// HKDF info strings. Changing one makes everything derived from it
// unreadable, so they are fixed forever.
const (
	sealInfo = "taruvi signing keys"
	macInfo  = "taruvi mac"
)

// Sealer encrypts secrets kept in the database (the private signing keys)
// and derives MACs, all from TARUVI_SECRET_KEY. It is safe for concurrent
// use.
type Sealer struct {
	aead    cipher.AEAD
	macRoot []byte // the key the per-purpose MAC keys are derived from
}

// NewSealer derives its keys from secret, the value of TARUVI_SECRET_KEY,
// which must be at least MinSecretLen bytes long. Seal uses AES-256-GCM
// with a key derived by HKDF-SHA256; MAC uses a separate key per purpose.
func NewSealer(secret string) (*Sealer, error) {
	if len(secret) < MinSecretLen {
		return nil, taruvi.Errorf(taruvi.EINVALID,
			"TARUVI_SECRET_KEY must be at least %d bytes long (it has %d).", MinSecretLen, len(secret))
	}
	prk, err := hkdf.Extract(sha256.New, []byte(secret), nil)
	if err != nil {
		return nil, fmt.Errorf("derive keys: %w", err)
	}
	key, err := hkdf.Expand(sha256.New, prk, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive sealing key: %w", err)
	}
	macRoot, err := hkdf.Expand(sha256.New, prk, macInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("derive MAC key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	return &Sealer{aead: aead, macRoot: macRoot}, nil
}

// Seal encrypts and authenticates plain. The result is a random nonce
// followed by the ciphertext; sealing the same input twice gives different
// results.
func (s *Sealer) Seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, nil), nil
}

// errOpen says why Open failed without guessing which of the two causes it
// was: GCM cannot tell them apart.
var errOpen = errors.New("open sealed data: authentication failed " +
	"(the data was altered, or sealed with another TARUVI_SECRET_KEY)")

// Open decrypts what Seal returned. It fails when sealed was altered, cut
// short, or sealed with another secret.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errOpen
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errOpen
	}
	return plain, nil
}

// MAC returns the HMAC-SHA256 of data under a key derived from the secret
// for purpose alone, so MACs made for one purpose are useless for another.
// It is deterministic: the same purpose and data always give the same MAC.
func (s *Sealer) MAC(purpose string, data []byte) []byte {
	// The purpose key is HMAC(root, purpose): a PRF keyed by a secret, so
	// keys of different purposes are independent.
	k := hmac.New(sha256.New, s.macRoot)
	k.Write([]byte(purpose))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(data)
	return m.Sum(nil)
}
