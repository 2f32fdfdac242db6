package web

import (
	"net"
	"net/http"
	"strings"

	"taruvi"
)

// authenticate turns an Authorization header into the request's principal.
// A request without one goes on anonymously (handlers decide whether that
// is enough); a bad credential is refused here with 401, so no handler ever
// sees it. A token is only valid in the scope (tenant or platform) it was
// issued for: the scope is resolved before this runs.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" || s.cfg.Auth == nil {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.cfg.Auth.Authenticate(r.Context(), header)
		if err != nil && strings.HasPrefix(r.URL.Path, "/api/auth/jwt/") {
			// Signing in and refreshing must work while a client still
			// sends its expired access token.
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			if taruvi.ErrorCode(err) == taruvi.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="taruvi"`)
			}
			WriteError(w, r, s.log, err)
			return
		}
		if scope := requestScopeFrom(r.Context()); scope != nil {
			scope.userID = p.UserID
		}
		next.ServeHTTP(w, r.WithContext(taruvi.NewContextWithPrincipal(r.Context(), p)))
	})
}

// ClientOf describes the caller of r for sessions and throttling.
func ClientOf(r *http.Request) taruvi.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return taruvi.Client{IP: ip, UserAgent: r.UserAgent()}
}
