package auth

import (
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"taruvi"
)

type sessionState int

const (
	sessionUnknown sessionState = iota
	sessionValid
	sessionRevoked
)

// sessionCache remembers, per "scope key|session id" (the scope key of a
// tenant names one incarnation of it: taruvi.Tenant.ScopeKey), whether a session is
// live (with its principal) or revoked, so that checking an access token
// costs no database round trip in the common case. Revocations arrive by
// NOTIFY from every replica and always win: a revoked mark is kept for the
// lifetime of an access token and is never overwritten by a lookup that
// raced with it.
type sessionCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	gen     uint64
	valid   map[string]cachedSession
	revoked map[string]time.Time // key -> when the mark may be forgotten
}

type cachedSession struct {
	p       *taruvi.Principal
	expires time.Time // when the entry is forgotten
	ends    time.Time // when the session expires; zero when not known
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, valid: map[string]cachedSession{}, revoked: map[string]time.Time{}}
}

// get returns the state of key, the generation a later put must match and,
// for a valid session, when it expires if its put said so.
func (c *sessionCache) get(key string) (*taruvi.Principal, sessionState, uint64, time.Time) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.revoked[key]; ok && now.Before(until) {
		return nil, sessionRevoked, c.gen, time.Time{}
	}
	if s, ok := c.valid[key]; ok && now.Before(s.expires) {
		return s.p, sessionValid, c.gen, s.ends
	}
	return nil, sessionUnknown, c.gen, time.Time{}
}

// put remembers a live session, unless the cache changed since get; when
// ends is not zero the session expires then, and so does the entry.
func (c *sessionCache) put(key string, p *taruvi.Principal, gen uint64, ends time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.revoked[key]; ok {
		return
	}
	if len(c.valid) >= c.max {
		clear(c.valid)
	}
	expires := time.Now().Add(c.ttl)
	if !ends.IsZero() && ends.Before(expires) {
		expires = ends
	}
	c.valid[key] = cachedSession{p: p, expires: expires, ends: ends}
}

func (c *sessionCache) revoke(key string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.valid, key)
	if len(c.revoked) >= c.max {
		for k, until := range c.revoked {
			if now.After(until) {
				delete(c.revoked, k)
			}
		}
	}
	c.revoked[key] = now.Add(c.ttl)
}

// apply handles a RevocationsChannel payload: "s|<scope>|<session id>"
// revokes a session, "u|<scope>|<user id>" forgets that user's sessions,
// "t|<scope>" forgets everything of a deleted tenant.
func (c *sessionCache) apply(payload string) {
	kind, rest, _ := strings.Cut(payload, "|")
	switch kind {
	case "s":
		c.revoke(rest)
	case "u":
		scope, uid, _ := strings.Cut(rest, "|")
		c.mu.Lock()
		c.gen++
		for k, s := range c.valid {
			if strings.HasPrefix(k, scope+"|") && strconv.FormatInt(s.p.UserID, 10) == uid {
				delete(c.valid, k)
			}
		}
		c.mu.Unlock()
	case "t":
		// Nothing of the scope can be asked for again (its key is never
		// reused), so its revoked marks go too.
		ofScope := func(k string) bool { return strings.HasPrefix(k, rest+"|") }
		c.mu.Lock()
		c.gen++
		maps.DeleteFunc(c.valid, func(k string, _ cachedSession) bool { return ofScope(k) })
		maps.DeleteFunc(c.revoked, func(k string, _ time.Time) bool { return ofScope(k) })
		c.mu.Unlock()
	}
}

// reset forgets the live sessions (revocations may have been missed);
// revoked marks stay.
func (c *sessionCache) reset() {
	c.mu.Lock()
	c.gen++
	clear(c.valid)
	c.mu.Unlock()
}
