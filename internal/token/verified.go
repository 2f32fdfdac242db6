package token

import (
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature and claims were checked,
// keyed by the exact token text and audience, until they expire, so a
// client's repeated requests cost a map lookup instead of an Ed25519
// verification. Expiry is still checked on every hit (with the same
// leeway), and so is that the signing key is still in the set;
// revocation is the session cache's business, not this one's.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[verifiedKey]verifiedEntry
}

type verifiedEntry struct {
	claims Claims
	kid    string // the key that signed; a hit needs it still in the set
}

type verifiedKey struct{ token, audience string }

// maxVerified bounds the cache; when full it starts over.
const maxVerified = 50_000

func (c *verifiedCache) get(token, audience string, now time.Time, keys *KeySet) (Claims, bool) {
	c.mu.Lock()
	e, ok := c.entries[verifiedKey{token, audience}]
	c.mu.Unlock()
	if ok {
		if _, known := keys.Lookup(e.kid); !known {
			return Claims{}, false
		}
	}
	claims := e.claims
	// Times are checked again on every hit, as a full verification would.
	if !ok || !now.Before(claims.ExpiresAt.Add(leeway)) || now.Before(claims.IssuedAt.Add(-leeway)) {
		return Claims{}, false
	}
	return claims, true
}

func (c *verifiedCache) put(token, audience, kid string, claims Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxVerified {
		c.entries = make(map[verifiedKey]verifiedEntry)
	}
	c.entries[verifiedKey{token, audience}] = verifiedEntry{claims: claims, kid: kid}
}
