package web

import (
	"net"
	"net/http"
	"strings"

	"taruvi"
)

// authenticate turns the request's credential into its principal. A
// request without one goes on anonymously (handlers decide whether that is
// enough); a bad credential is refused here with 401, so no handler ever
// sees it. A token is only valid in the scope (tenant or platform) it was
// issued for: the scope is resolved before this runs. When a request
// carries several credentials, one is chosen (Credential) and the others
// are ignored; a bad chosen credential is refused, never passed over for
// another.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, value := Credential(r)
		if kind == "" || s.cfg.Auth == nil {
			next.ServeHTTP(w, r)
			return
		}
		var p *taruvi.Principal
		var err error
		if kind == CredentialSessionToken {
			p, err = s.cfg.Auth.AuthenticateSessionToken(r.Context(), value)
		} else {
			p, err = s.cfg.Auth.Authenticate(r.Context(), value)
		}
		if err != nil && (strings.HasPrefix(r.URL.Path, "/api/auth/jwt/") || strings.HasPrefix(r.URL.Path, "/_allauth/")) {
			// Signing in and refreshing must work while a client still
			// sends its expired credential; the allauth routes answer a
			// bad one themselves, in their own shape.
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

// The kinds of credential Credential returns.
const (
	CredentialAPIKey       = "api-key"       // Authorization: Api-Key <key>
	CredentialBearer       = "bearer"        // Authorization: Bearer <access token>
	CredentialOther        = "authorization" // an Authorization header of another scheme
	CredentialSessionToken = "session-token" // X-Session-Token: <session token>
)

// Credential returns the one credential of r the server goes by, and its
// kind: an API key, else an access token (both in Authorization, of which
// a request may send several), else a session token (X-Session-Token),
// else an Authorization header of any other scheme, which fails. value is
// the whole Authorization header value, or the session token. A request
// with none gives "", "".
func Credential(r *http.Request) (kind, value string) {
	var bearer, other string
	for _, v := range r.Header.Values("Authorization") {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
		switch {
		case strings.EqualFold(scheme, "Api-Key") && strings.TrimSpace(cred) != "":
			return CredentialAPIKey, v
		case strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(cred) != "" && bearer == "":
			bearer = v
		case other == "" && strings.TrimSpace(v) != "":
			other = v
		}
	}
	if bearer != "" {
		return CredentialBearer, bearer
	}
	if tok := strings.TrimSpace(r.Header.Get("X-Session-Token")); tok != "" {
		return CredentialSessionToken, tok
	}
	if other != "" {
		return CredentialOther, other
	}
	return "", ""
}

// ClientOf describes the caller of r for sessions and throttling.
func ClientOf(r *http.Request) taruvi.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return taruvi.Client{IP: ip, UserAgent: r.UserAgent()}
}
