package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// contentSecurityPolicy allows the platform's own scripts, styles and
// requests only: no inline script, no framing, no plug-ins.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the response headers every response carries,
// whatever answers it (JSON, an error, the docs page, a file download, the
// admin pages). Handlers may tighten them; none loosens them. HSTS is sent
// only on HTTPS (IsHTTPS), seen directly or reported by a trusted proxy.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil && s.forwardedHTTPS(r) {
			r = r.WithContext(context.WithValue(r.Context(), forwardedHTTPSKey{}, true))
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if IsHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

type forwardedHTTPSKey struct{}

// IsHTTPS reports whether the client reached the server over HTTPS:
// directly, or through a trusted proxy that says so in X-Forwarded-Proto
// (which the server notes before any handler runs). It decides HSTS and
// the Secure attribute of cookies, and is the scheme of the site's origin.
func IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	forwarded, _ := r.Context().Value(forwardedHTTPSKey{}).(bool)
	return forwarded
}

// forwardedHTTPS reports whether a trusted proxy says in X-Forwarded-Proto
// that the client reached it over HTTPS.
func (s *Server) forwardedHTTPS(r *http.Request) bool {
	if !s.fromTrustedProxy(r.RemoteAddr) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

func (s *Server) fromTrustedProxy(remoteAddr string) bool {
	addr, ok := parseAddr(remoteAddr)
	return ok && s.trusted(addr)
}

func (s *Server) trusted(addr netip.Addr) bool {
	return slices.ContainsFunc(s.cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// parseAddr reads the address of "ip:port" or "ip".
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	return a.Unmap(), err == nil
}

// clientAddress replaces the request's RemoteAddr with the client's address
// when the request came through trusted proxies: the right-most address of
// X-Forwarded-For that is not itself a trusted proxy. A client can put
// anything in the header, but only the entries the trusted proxies appended
// are believed. Without trusted proxies the header is ignored.
func (s *Server) clientAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.cfg.TrustedProxies) == 0 || !s.fromTrustedProxy(r.RemoteAddr) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			addr, ok := parseAddr(hops[i])
			if !ok {
				break // a malformed entry: keep the proxy's own address
			}
			if !s.trusted(addr) {
				r2 := r.WithContext(r.Context())
				r2.RemoteAddr = net.JoinHostPort(addr.String(), "0")
				next.ServeHTTP(w, r2)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
