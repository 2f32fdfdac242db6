package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes of the opaque credentials; they make a leaked token easy to
// recognise (by people and by secret scanners) and to tell apart.
const (
	RefreshTokenPrefix = "rt_"
	APIKeyPrefix       = "tk_"
)

const (
	secretBytes     = 32 // entropy of a refresh token or an API key secret
	secretLen       = 43 // secretBytes in unpadded base64url
	apiKeyIDBytes   = 6
	apiKeyIDLen     = 2 * apiKeyIDBytes // the public prefix, hex
	refreshTokenLen = len(RefreshTokenPrefix) + secretLen
	apiKeyLen       = len(APIKeyPrefix) + apiKeyIDLen + 1 + secretLen
)

// randomSecret returns secretBytes random bytes in unpadded base64url.
func randomSecret() string {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never fails; on a broken system it crashes the
	// program rather than return predictable bytes.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewRefreshToken returns a new random refresh token: "rt_" followed by 43
// base64url characters (256 bits).
func NewRefreshToken() string {
	return RefreshTokenPrefix + randomSecret()
}

// NextRefreshToken returns the token that replaces current when it is
// used. It is derived, not random: a retry of current within the grace
// window gets the same successor again without the successor being stored.
// Only a holder of the secret behind s can compute it.
func NextRefreshToken(s *Sealer, current string) string {
	return RefreshTokenPrefix + base64.RawURLEncoding.EncodeToString(s.MAC("refresh", []byte(current)))
}

// IsRefreshToken reports whether tok has the shape of a refresh token, so
// garbage can be refused before any lookup.
func IsRefreshToken(tok string) bool {
	return len(tok) == refreshTokenLen &&
		strings.HasPrefix(tok, RefreshTokenPrefix) &&
		isSecret(tok[len(RefreshTokenPrefix):])
}

// Hash returns the SHA-256 of token, the form in which refresh tokens and
// API keys are stored and looked up. A fast hash is right here: the tokens
// carry 256 random bits, so there is nothing to guess offline.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewAPIKey returns a new API key and its public prefix. The key is
// "tk_" + prefix + "_" + secret, where prefix is 12 random hex characters
// (shown in listings to recognise the key) and secret 43 base64url
// characters (256 bits).
func NewAPIKey() (prefix, key string) {
	b := make([]byte, apiKeyIDBytes)
	_, _ = rand.Read(b)
	prefix = hex.EncodeToString(b)
	return prefix, APIKeyPrefix + prefix + "_" + randomSecret()
}

// ParseAPIKey returns the public prefix of key, and false unless key has
// exactly the shape NewAPIKey gives: "tk_", 12 lowercase hex characters,
// "_", and 43 base64url characters that decode to 32 bytes.
func ParseAPIKey(key string) (prefix string, ok bool) {
	if len(key) != apiKeyLen || !strings.HasPrefix(key, APIKeyPrefix) {
		return "", false
	}
	rest := key[len(APIKeyPrefix):]
	prefix, secret := rest[:apiKeyIDLen], rest[apiKeyIDLen:]
	if !isLowerHex(prefix) || secret[0] != '_' || !isSecret(secret[1:]) {
		return "", false
	}
	return prefix, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isSecret reports whether s is the canonical unpadded base64url encoding
// of secretBytes bytes. The alphabet is checked first because the decoder
// skips line breaks; strict decoding then refuses a last character with
// stray low bits, so each secret has exactly one spelling.
func isSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == secretBytes
}
