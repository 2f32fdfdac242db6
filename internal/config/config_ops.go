package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"taruvi"
)

// OpsConfig configures the cache, rate limits, HTTP security headers and the
// debug listener.
type OpsConfig struct {
	RedisURL       string         // TARUVI_REDIS_URL; empty: cache and rate limits in process only
	DebugAddr      string         // TARUVI_DEBUG_ADDR; empty: no /metrics and pprof listener
	TrustedProxies []netip.Prefix // TARUVI_TRUSTED_PROXIES, comma-separated IPs or CIDRs; default none
	CORSOrigins    []string       // TARUVI_CORS_ORIGINS, comma-separated origins allowed on every host; default none
	TLSCertFile    string         // TARUVI_TLS_CERT_FILE; with TLSKeyFile, serve HTTPS
	TLSKeyFile     string         // TARUVI_TLS_KEY_FILE
	SlowQuery      time.Duration  // TARUVI_SLOW_QUERY, default 200ms: slower statements are logged
	RateWindow     time.Duration  // TARUVI_RATE_LIMIT_WINDOW, default 1m: the window of every rate limit
	RateAuth       int            // TARUVI_RATE_LIMIT_AUTH, default 30 requests per window to /api/auth/ and /_allauth/ per address and per user
	RateAPI        int            // TARUVI_RATE_LIMIT_API, default 600 requests per window per address and per user
	RateUploads    int            // TARUVI_RATE_LIMIT_UPLOADS, default 60 uploads per window per address and per user
}

func opsVariables() []Variable {
	return []Variable{
		{Name: "TARUVI_REDIS_URL", Secret: true, Doc: "Redis URL (redis://[:password@]host:6379/0) shared by every replica for the cache, rate limits and throttles. Empty: all of them in process (one replica's view).",
			get: func(c *Config) string { return c.Ops.RedisURL }, set: setRedisURL},
		{Name: "TARUVI_DEBUG_ADDR", Doc: "Address of the debug listener with /metrics (Prometheus) and /debug/pprof/. Empty: none. Keep it off the public network.",
			get: func(c *Config) string { return c.Ops.DebugAddr }, set: setOptionalAddr(func(c *Config) *string { return &c.Ops.DebugAddr })},
		{Name: "TARUVI_TRUSTED_PROXIES", Doc: "Comma-separated addresses or CIDRs of proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (the client address for rate limits and logs; HSTS and Secure admin cookies behind a TLS proxy).",
			get: func(c *Config) string { return joinPrefixes(c.Ops.TrustedProxies) }, set: setTrustedProxies},
		{Name: "TARUVI_CORS_ORIGINS", Doc: "Comma-separated origins (https://app.example.com) allowed to call the API from a browser on every host; tenants add their own.",
			get: func(c *Config) string { return strings.Join(c.Ops.CORSOrigins, ",") }, set: setCORSOrigins},
		{Name: "TARUVI_TLS_CERT_FILE", Doc: "PEM certificate chain; with TARUVI_TLS_KEY_FILE, `serve` speaks HTTPS itself.",
			get: func(c *Config) string { return c.Ops.TLSCertFile }, set: func(c *Config, v string) error { c.Ops.TLSCertFile = v; return nil }},
		{Name: "TARUVI_TLS_KEY_FILE", Doc: "PEM private key of TARUVI_TLS_CERT_FILE.",
			get: func(c *Config) string { return c.Ops.TLSKeyFile }, set: func(c *Config, v string) error { c.Ops.TLSKeyFile = v; return nil }},
		{Name: "TARUVI_SLOW_QUERY", Default: "200ms", Doc: "Statements slower than this are logged with their SQL (never their arguments).",
			get: func(c *Config) string { return c.Ops.SlowQuery.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Ops.SlowQuery })},
		{Name: "TARUVI_RATE_LIMIT_WINDOW", Default: "1m", Doc: "The window of the rate limits below.",
			get: func(c *Config) string { return c.Ops.RateWindow.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.Ops.RateWindow })},
		{Name: "TARUVI_RATE_LIMIT_AUTH", Default: "30", Doc: "Requests to /api/auth/ and /_allauth/ per window, per client address and per user; 0 turns the limit off.",
			get: func(c *Config) string { return strconv.Itoa(c.Ops.RateAuth) }, set: setInt(func(c *Config) *int { return &c.Ops.RateAuth }, 0, 1_000_000)},
		{Name: "TARUVI_RATE_LIMIT_API", Default: "600", Doc: "Other API requests per window, per client address and per user or API key; 0 turns the limit off.",
			get: func(c *Config) string { return strconv.Itoa(c.Ops.RateAPI) }, set: setInt(func(c *Config) *int { return &c.Ops.RateAPI }, 0, 1_000_000)},
		{Name: "TARUVI_RATE_LIMIT_UPLOADS", Default: "60", Doc: "File uploads per window, per client address and per user; 0 turns the limit off.",
			get: func(c *Config) string { return strconv.Itoa(c.Ops.RateUploads) }, set: setInt(func(c *Config) *int { return &c.Ops.RateUploads }, 0, 1_000_000)},
	}
}

// TLS reports whether serve speaks HTTPS itself.
func (c OpsConfig) TLS() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

func setRedisURL(c *Config, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return fmt.Errorf("want a redis:// or rediss:// URL, got %q", maskSecret(v))
		}
	}
	c.Ops.RedisURL = v
	return nil
}

func setOptionalAddr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return fmt.Errorf("want host:port or :port, got %q", v)
			}
		}
		*field(c) = v
		return nil
	}
}

func setTrustedProxies(c *Config, v string) error {
	c.Ops.TrustedProxies = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("want IP addresses or CIDRs, got %q", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.Ops.TrustedProxies = append(c.Ops.TrustedProxies, p.Masked())
	}
	return nil
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func setCORSOrigins(c *Config, v string) error {
	c.Ops.CORSOrigins = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		origin, err := taruvi.NormalizeOrigin(s)
		if err != nil {
			return fmt.Errorf("%s", taruvi.ErrorMessage(err))
		}
		c.Ops.CORSOrigins = append(c.Ops.CORSOrigins, origin)
	}
	return nil
}
