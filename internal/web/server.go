// Package web is the HTTP plumbing shared by every surface: the server's
// middleware chain (request ids, access log, panic recovery, path
// normalisation, tenant resolution), error envelopes and health endpoints.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"taruvi"
)

// Config is what the server needs to know about its deployment.
type Config struct {
	BaseDomain        string   // <schema>.<BaseDomain> is a tenant host
	PlatformHosts     []string // hosts that serve the platform
	TrustTenantHeader bool     // X-Tenant selects the tenant
	TenantVersion     int      // newest tenant migration; older tenants answer 503
	// Auth authenticates the Authorization header; nil serves anonymous
	// requests only.
	Auth taruvi.AuthService

	// TrustedProxies may report the client's address (X-Forwarded-For)
	// and scheme (X-Forwarded-Proto).
	TrustedProxies []netip.Prefix
	// CORSOrigins may call the API from a browser on every host.
	CORSOrigins []string
	// Limiter enforces Limits; nil turns rate limits off.
	Limiter taruvi.RateLimiter
	Limits  RateLimits
	// Health lists the checks of GET /health/.
	Health []HealthCheck
	// Metrics observes requests; nil observes nothing.
	Metrics Observer
}

// Observer receives what the server measures, for metrics. Labels are
// route patterns and classes, never tenants or raw paths.
type Observer interface {
	ObserveRequest(route, method string, status int, d time.Duration)
	RateLimited(class, scope string)
}

// Server routes requests to the tenant they address and on to the handlers.
type Server struct {
	cfg     Config
	log     *slog.Logger
	tenants taruvi.TenantResolver
	mux     *http.ServeMux
	handler http.Handler
	routes  []string // every pattern registered, in order

	draining atomic.Bool // /health/ready answers 503
}

// HandlerFunc is the shape of every handler: an error return is rendered as
// an error envelope by one adapter, so no branch forgets to respond.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// NewServer returns a server resolving tenants through tenants (wrap it in a
// TenantCache). Surfaces register their routes with Handle.
func NewServer(cfg Config, log *slog.Logger, tenants taruvi.TenantResolver) *Server {
	s := &Server{cfg: cfg, log: log, tenants: tenants, mux: http.NewServeMux()}
	s.Handle("GET /health", s.handleHealth)
	s.Handle("GET /health/live", s.handleLive)
	s.Handle("GET /health/ready", s.handleReady)
	s.Handle("GET /api/tenant", s.handleTenant)

	// The chain, outermost last: security headers go on every response,
	// whoever writes it.
	var h http.Handler = http.HandlerFunc(s.route)
	h = s.rateLimit(h)
	h = s.authenticate(h)
	h = s.cors(h)
	h = s.resolveTenant(h)
	h = s.checkQuery(h)
	h = s.recoverPanics(h)
	h = s.accessLog(h)
	h = s.clientAddress(h)
	h = withRequestID(h)
	h = normalizePath(h)
	h = s.securityHeaders(h)
	s.handler = h
	return s
}

// Handle registers a handler for a ServeMux pattern written without a
// trailing slash ("GET /api/tenant"); requests match with or without one.
func (s *Server) Handle(pattern string, h HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, s.log, err)
		}
	})
}

// Routes returns every pattern registered, in order ("GET /api/tenant"),
// for the OpenAPI document and the test that holds the two together.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route dispatches to the mux, answering unknown routes and methods with
// envelopes rather than the mux's plain text.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		if scope := requestScopeFrom(r.Context()); scope != nil {
			scope.route = pattern
		}
		s.mux.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteJSON(w, http.StatusMethodNotAllowed, ErrorEnvelope{Status: "error", Code: taruvi.EBADREQUEST,
			Message: "Method " + r.Method + " is not allowed here.", RequestID: taruvi.RequestIDFromContext(r.Context())})
		return
	}
	WriteError(w, r, s.log, taruvi.Errorf(taruvi.ENOTFOUND, "No route for %s.", r.URL.Path))
}

func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) error {
	WriteData(w, http.StatusOK, "alive", map[string]string{"version": taruvi.Version})
	return nil
}

// TenantInfo is the body of GET /api/tenant/.
type TenantInfo struct {
	Scope         string   `json:"scope"` // "tenant" or "platform"
	Name          string   `json:"name"`
	Schema        string   `json:"schema,omitempty"`
	Status        string   `json:"status,omitempty"`
	SchemaVersion int      `json:"schema_version,omitempty"`
	Domains       []string `json:"domains,omitempty"`
	Version       string   `json:"version"`
	BaseDomain    string   `json:"base_domain,omitempty"`
}

func (s *Server) handleTenant(w http.ResponseWriter, r *http.Request) error {
	t := taruvi.TenantFromContext(r.Context())
	if t == nil {
		WriteData(w, http.StatusOK, "Platform", TenantInfo{Scope: "platform", Name: "Taruvi platform",
			Version: taruvi.Version, BaseDomain: s.cfg.BaseDomain})
		return nil
	}
	info := TenantInfo{Scope: "tenant", Name: t.Name, Schema: t.Schema, Status: t.Status,
		SchemaVersion: t.SchemaVersion, Version: taruvi.Version, Domains: []string{}}
	for _, d := range t.Domains {
		info.Domains = append(info.Domains, d.Domain)
	}
	WriteData(w, http.StatusOK, "Tenant", info)
	return nil
}
