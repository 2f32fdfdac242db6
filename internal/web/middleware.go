package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"taruvi"
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// withRequestID takes a well-formed X-Request-ID from the client or makes
// one, puts it in the context and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(taruvi.NewContextWithRequestID(r.Context(), id)))
	})
}

// normalizePath merges repeated slashes, resolves dot segments and drops a
// trailing slash, so that
// /api/tenant, /api/tenant/ and //api//tenant/ reach the same route without
// a redirect (a 301 turns a POST into a GET in common clients).
func normalizePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// path.Clean merges slashes, resolves . and .. (which the mux
		// would otherwise answer with a redirect) and drops the trailing
		// slash.
		p := path.Clean("/" + r.URL.Path)
		if p != r.URL.Path {
			r.URL.Path, r.URL.RawPath = p, ""
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one JSON line per request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// The tenant is resolved further in; it reports back through this.
		scope := &requestScope{}
		next.ServeHTTP(sw, r.WithContext(withRequestScope(r.Context(), scope)))
		elapsed := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := scope.route
		if route == "" {
			if _, route = s.mux.Handler(r); route == "" {
				route = "unmatched"
			}
		}
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.ObserveRequest(route, r.Method, sw.status, elapsed)
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", taruvi.RequestIDFromContext(r.Context())),
			slog.String("method", r.Method),
			slog.String("host", r.Host),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.String("client_ip", ClientOf(r).IP),
			slog.String("tenant", scope.tenant),
			slog.Int64("user_id", scope.userID),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 envelope.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic", "request_id", taruvi.RequestIDFromContext(r.Context()),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			WriteError(w, r, s.log, taruvi.Errorf(taruvi.EINTERNAL, "Internal error."))
		}()
		next.ServeHTTP(w, r)
	})
}

// resolveTenant puts the tenant a request addresses into its context, in
// this order: a /sites/<schema>/ path prefix (stripped; for the API only,
// see servedUnderSites); an X-Tenant header
// when trusted; a platform host (no tenant); an explicitly mapped domain;
// <schema>.<base domain>. Anything else is 404; a suspended tenant is 403;
// a tenant behind on migrations is 503. Health endpoints need no tenant.
func (s *Server) resolveTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || strings.HasPrefix(r.URL.Path, "/health/") {
			next.ServeHTTP(w, r)
			return
		}
		t, err := s.tenantOf(r)
		if err == nil && t != nil {
			if scope := requestScopeFrom(r.Context()); scope != nil {
				scope.tenant = t.Schema
			}
			switch {
			case t.Status == taruvi.TenantSuspended:
				err = taruvi.Errorf(taruvi.EFORBIDDEN, "Tenant %q is suspended.", t.Schema)
			case t.SchemaVersion < s.cfg.TenantVersion:
				err = taruvi.Errorf(taruvi.EUNAVAILABLE, "Tenant %q is being upgraded; try again shortly.", t.Schema)
			}
		}
		if err != nil {
			WriteError(w, r, s.log, err)
			return
		}
		ctx := r.Context()
		if t != nil {
			ctx = taruvi.NewContextWithTenant(ctx, t)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tenantOf returns the tenant r addresses, nil for the platform.
func (s *Server) tenantOf(r *http.Request) (*taruvi.Tenant, error) {
	ctx := r.Context()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/sites/"); ok {
		schema, tail, _ := strings.Cut(rest, "/")
		if !servedUnderSites("/" + tail) {
			return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Only the API is served under /sites/<tenant>/; open other pages on the tenant's own host.")
		}
		r.URL.Path, r.URL.RawPath = "/"+tail, ""
		return s.findSchema(r, schema)
	}
	if name := r.Header.Get("X-Tenant"); name != "" && s.cfg.TrustTenantHeader {
		return s.findSchema(r, strings.ToLower(strings.TrimSpace(name)))
	}
	host := taruvi.NormalizeHost(r.Host)
	if slices.Contains(s.cfg.PlatformHosts, host) {
		return nil, nil
	}
	t, err := s.tenants.FindTenantByDomain(ctx, host)
	if taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return t, err
	}
	if label, ok := strings.CutSuffix(host, "."+s.cfg.BaseDomain); ok && !strings.Contains(label, ".") {
		return s.findSchema(r, label)
	}
	return nil, taruvi.Errorf(taruvi.ENOTFOUND, "No tenant is served at host %q.", host)
}

// servedUnderSites reports whether path may be reached under a
// /sites/<schema>/ prefix: the API, the allauth-style sign-in
// (/_allauth/) and the /.well-known/ documents that SDKs fetch. Pages for browsers (the admin) are served on the tenant's own
// hosts only, where their cookies and origin belong to that tenant alone;
// under the prefix any host would show one tenant's branded pages.
func servedUnderSites(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/.well-known/") ||
		strings.HasPrefix(path, "/_allauth/")
}

func (s *Server) findSchema(r *http.Request, schema string) (*taruvi.Tenant, error) {
	if taruvi.ValidateSchemaName(schema) != nil {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
	}
	t, err := s.tenants.FindTenant(r.Context(), schema)
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", schema)
	}
	return t, err
}
