package web

import (
	"net/http"
	"slices"
	"strings"

	"taruvi"
)

// CORS answers browsers calling the API from another origin. An origin is
// allowed when it is in the global list (TARUVI_CORS_ORIGINS) or in the
// addressed tenant's own list; a preflight from any other origin is refused
// with 403, and other requests from it get no Access-Control headers (the
// browser then withholds the response). Credentials travel in the
// Authorization or X-Session-Token header, never in cookies, so Allow-Credentials is not sent.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := s.originAllowed(r, strings.ToLower(origin))
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			w.Header().Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			if !allowed {
				WriteError(w, r, s.log, taruvi.Errorf(taruvi.EFORBIDDEN, "Origin %q may not call this API.", origin))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID, X-Session-Token, X-Taruvi-Client")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers",
				"X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Content-Disposition")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) originAllowed(r *http.Request, origin string) bool {
	if slices.Contains(s.cfg.CORSOrigins, origin) {
		return true
	}
	t := taruvi.TenantFromContext(r.Context())
	return t != nil && slices.Contains(t.CORSOrigins, origin)
}
