package web

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"taruvi"
)

// RateLimits are the limits per Window of each route class, applied per
// client address and per user (or API key); 0 turns a class off.
type RateLimits struct {
	Window  time.Duration
	Auth    int // /api/auth/ and /_allauth/: sign-in, refresh, logout
	API     int // every other route but health
	Uploads int // POST /api/files/
}

// tenantQuotaWindow is the window of a tenant's request quota, which is set
// in requests per minute.
const tenantQuotaWindow = time.Minute

// routeClass names the class of r's route and its per-window limit.
func (l RateLimits) routeClass(r *http.Request) (string, int) {
	switch p := r.URL.Path; {
	case p == "/health" || strings.HasPrefix(p, "/health/"):
		return "", 0
	case strings.HasPrefix(p, "/api/auth/"), strings.HasPrefix(p, "/_allauth/"):
		return "auth", l.Auth
	case r.Method == http.MethodPost && p == "/api/files":
		return "uploads", l.Uploads
	default:
		return "api", l.API
	}
}

// AppLoginPath is the allauth-style sign-in of app clients (the SDKs).
const AppLoginPath = "/_allauth/app/v1/auth/login"

// isSignIn reports whether r signs in or refreshes a session, which a
// tenant's quota never refuses.
func isSignIn(r *http.Request) bool {
	switch r.URL.Path {
	case "/api/auth/jwt/token", "/api/auth/jwt/refresh", "/admin/login", AppLoginPath:
		return r.Method == http.MethodPost
	}
	return false
}

// rateLimit refuses a request over any of its limits with 429
// RATE_LIMITED and Retry-After: the client address's and the user's limit
// of the route's class, then the tenant's quota, which counts signed-in
// requests only and never refuses a sign-in. Every answer carries the
// tightest limit in RateLimit-Limit, -Remaining and -Reset. The limiter
// is shared through Redis when configured; a limiter error lets the
// request through (availability wins over counting).
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class, limit := s.cfg.Limits.routeClass(r)
		if s.cfg.Limiter == nil || class == "" {
			next.ServeHTTP(w, r)
			return
		}
		type check struct {
			scope, key string
			limit      taruvi.RateLimit
		}
		window := s.cfg.Limits.Window
		var checks []check
		p := taruvi.PrincipalFromContext(r.Context())
		if limit > 0 {
			checks = append(checks, check{"ip", "ip:" + class + ":" + ClientOf(r).IP, taruvi.RateLimit{Limit: limit, Window: window}})
			if p != nil {
				who := "u" + strconv.FormatInt(p.UserID, 10)
				if p.APIKeyID != 0 {
					who = "k" + strconv.FormatInt(p.APIKeyID, 10)
				}
				checks = append(checks, check{"user", "user:" + class + ":" + taruvi.ScopeKeyFromContext(r.Context()) + ":" + who, taruvi.RateLimit{Limit: limit, Window: window}})
			}
		}
		// The quota is the tenant's signed-in users' budget: anonymous
		// requests meet the per-address limit only, so strangers cannot
		// use it up, and signing in never counts against it.
		if t := taruvi.TenantFromContext(r.Context()); t != nil && t.RequestQuota > 0 && p != nil && !isSignIn(r) {
			checks = append(checks, check{"tenant", "tenant:" + t.ScopeKey(), taruvi.RateLimit{Limit: t.RequestQuota, Window: tenantQuotaWindow}})
		}
		var tightest *taruvi.RateDecision
		for _, c := range checks {
			d, err := s.cfg.Limiter.Allow(r.Context(), c.key, c.limit)
			if err != nil {
				s.log.WarnContext(r.Context(), "rate limiter failed; request let through", "error", err)
				continue
			}
			if tightest == nil || d.Remaining < tightest.Remaining || !d.Allowed {
				tightest = &d
			}
			if !d.Allowed {
				if s.cfg.Metrics != nil {
					s.cfg.Metrics.RateLimited(class, c.scope)
				}
				setRateLimitHeaders(w, d)
				msg := "Too many requests; try again later."
				if c.scope == "tenant" {
					msg = "This tenant's request quota is used up; try again later."
				}
				WriteError(w, r, s.log, &taruvi.Error{Code: taruvi.ERATELIMITED, Message: msg, RetryAfter: max(d.RetryAfter, time.Second)})
				return
			}
		}
		if tightest != nil {
			setRateLimitHeaders(w, *tightest)
		}
		next.ServeHTTP(w, r)
	})
}

// setRateLimitHeaders writes the RateLimit-* headers of the IETF draft
// (seconds rounded up).
func setRateLimitHeaders(w http.ResponseWriter, d taruvi.RateDecision) {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(d.ResetAfter.Seconds()))))
}
