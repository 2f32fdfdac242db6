package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

var errNotBase64 = errors.New("not base64url")

// Prefixes of the opaque credentials; they make a leaked token easy to
// recognise (by people and by secret scanners) and to tell apart.
const (
	RefreshTokenPrefix = "rt_"
	SessionTokenPrefix = "st_"
	APIKeyPrefix       = "tk_"
)

const (
	secretBytes   = 32 // entropy of a refresh token or an API key secret
	secretLen     = 43 // secretBytes in unpadded base64url
	apiKeyIDBytes = 6
	apiKeyIDLen   = 2 * apiKeyIDBytes // the public prefix, hex
	apiKeyLen     = len(APIKeyPrefix) + apiKeyIDLen + 1 + secretLen
)

// randomSecret returns secretBytes random bytes in unpadded base64url.
func randomSecret() string {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never fails; on a broken system it crashes the
	// program rather than return predictable bytes.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// A refresh token names its session (the token family): "rt_" followed by
// the base64url encoding of the session id (16 bytes), a secret (32 bytes)
// and a tag (16 bytes). The tag is a MAC of the id and the secret, so only
// the server mints tokens that name a session: a token of a session that
// is not the session's current one is a genuine old token, a reuse, and
// never a guess that would let anyone end another user's session.
const (
	sessionIDBytes    = 16
	refreshTagBytes   = 16
	refreshBodyBytes  = sessionIDBytes + secretBytes + refreshTagBytes
	refreshTokenLen   = len(RefreshTokenPrefix) + (refreshBodyBytes*8+5)/6
	refreshTagPurpose = "refresh-token"
	refreshSuccessor  = "refresh"
	sessionTagPurpose = "session-token"
)

// NewRefreshToken returns the first refresh token of session: its id, 256
// random bits and the tag.
func NewRefreshToken(s *Sealer, session [16]byte) string {
	var secret [secretBytes]byte
	// crypto/rand.Read never fails (see randomSecret).
	_, _ = rand.Read(secret[:])
	return refreshToken(s, session, secret[:])
}

func refreshToken(s *Sealer, session [16]byte, secret []byte) string {
	return sessionBound(s, RefreshTokenPrefix, refreshTagPurpose, session, secret)
}

// sessionBound is a token of the shape of refresh tokens: prefix, then the
// base64url of session, secret and their tag for purpose.
func sessionBound(s *Sealer, prefix, purpose string, session [16]byte, secret []byte) string {
	b := make([]byte, 0, refreshBodyBytes)
	b = append(b, session[:]...)
	b = append(b, secret...)
	b = append(b, s.MAC(purpose, b)[:refreshTagBytes]...)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NextRefreshToken returns the token that replaces current, a token of
// session (as ParseRefreshToken found), when it is used: same session, and
// a secret derived from current, not random, so a retry of current within
// the grace window gets the same successor again without it being stored.
// Only a holder of the secret behind s can compute it.
func NextRefreshToken(s *Sealer, session [16]byte, current string) string {
	return refreshToken(s, session, s.MAC(refreshSuccessor, []byte(current)))
}

// ParseRefreshToken returns the session a refresh token names, and false
// unless tok has exactly the shape NewRefreshToken gives and a tag made
// with s's secret.
func ParseRefreshToken(s *Sealer, tok string) (session [16]byte, ok bool) {
	return parseSessionBound(s, RefreshTokenPrefix, refreshTagPurpose, tok)
}

// A session token is the credential of an app sign-in, sent as
// X-Session-Token: "st_" and the base64url of the session id, 256 random
// bits and a tag, like a refresh token but tagged for another purpose, so
// neither passes for the other. It is minted once per session and never
// rotates; the session stores its hash.

// NewSessionToken returns a new session token of session.
func NewSessionToken(s *Sealer, session [16]byte) string {
	var secret [secretBytes]byte
	// crypto/rand.Read never fails (see randomSecret).
	_, _ = rand.Read(secret[:])
	return sessionBound(s, SessionTokenPrefix, sessionTagPurpose, session, secret[:])
}

// ParseSessionToken returns the session a session token names, and false
// unless tok has exactly the shape NewSessionToken gives and a tag made
// with s's secret.
func ParseSessionToken(s *Sealer, tok string) (session [16]byte, ok bool) {
	return parseSessionBound(s, SessionTokenPrefix, sessionTagPurpose, tok)
}

func parseSessionBound(s *Sealer, prefix, purpose, tok string) (session [16]byte, ok bool) {
	if len(tok) != refreshTokenLen || !strings.HasPrefix(tok, prefix) {
		return session, false
	}
	b, err := decodeCanonical(tok[len(prefix):])
	if err != nil || len(b) != refreshBodyBytes {
		return session, false
	}
	body, tag := b[:sessionIDBytes+secretBytes], b[sessionIDBytes+secretBytes:]
	if !hmac.Equal(tag, s.MAC(purpose, body)[:refreshTagBytes]) {
		return session, false
	}
	copy(session[:], b)
	return session, true
}

// Hash returns the SHA-256 of token, the form in which refresh tokens and
// API keys are stored and compared. A fast hash is right here: the tokens
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
// of secretBytes bytes, so each secret has exactly one spelling.
func isSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	b, err := decodeCanonical(s)
	return err == nil && len(b) == secretBytes
}

// decodeCanonical decodes unpadded base64url, refusing every other spelling
// of the same bytes. The alphabet is checked first because the decoder
// skips line breaks; strict decoding then refuses a last character with
// stray low bits.
func decodeCanonical(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return nil, errNotBase64
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}
