// Package config reads the platform's configuration from TARUVI_*
// environment variables into one Config struct. It is read once, in
// cmd/taruvi, and plain values are passed down from there.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"taruvi"
)

// Config is the whole configuration. Each field names its variable, unit and
// default in its comment; Variables documents them for `taruvi config` and
// the README.
type Config struct {
	DatabaseURL       string        // TARUVI_DATABASE_URL; empty: `taruvi dev` starts a private PostgreSQL
	HTTPAddr          string        // TARUVI_HTTP_ADDR, default ":8000"
	BaseDomain        string        // TARUVI_BASE_DOMAIN, default "localhost": <schema>.<base> is a tenant host
	PlatformHosts     []string      // TARUVI_PLATFORM_HOSTS, comma-separated, default "localhost,127.0.0.1,::1"
	TrustTenantHeader bool          // TARUVI_TRUST_TENANT_HEADER, default false: X-Tenant selects the tenant only when true
	LogFormat         string        // TARUVI_LOG_FORMAT, "json" (default) or "text"
	LogLevel          string        // TARUVI_LOG_LEVEL, "debug", "info" (default), "warn" or "error"
	DBMaxConns        int           // TARUVI_DB_MAX_CONNS, default 0: four connections per CPU core
	MigrateWorkers    int           // TARUVI_MIGRATE_WORKERS, default 8 tenants migrated at once
	LockTimeout       time.Duration // TARUVI_LOCK_TIMEOUT, default 5s: a tenant migration waiting longer for a lock fails
	ShutdownTimeout   time.Duration // TARUVI_SHUTDOWN_TIMEOUT, default 15s: requests in flight may finish within it
	DataDir           string        // TARUVI_DATA_DIR, default ".taruvi": the dev PostgreSQL and local state
	SecretKey         string        // TARUVI_SECRET_KEY: seals signing keys and derives refresh tokens; 32+ characters
	JWTIssuer         string        // TARUVI_JWT_ISSUER, default "taruvi": the iss claim
	JWTSigningKey     string        // TARUVI_JWT_SIGNING_KEY: an Ed25519 private key in PKCS#8 PEM; empty: keys live in the database
	AccessTokenTTL    time.Duration // TARUVI_ACCESS_TOKEN_TTL, default 15m
	RefreshTokenTTL   time.Duration // TARUVI_REFRESH_TOKEN_TTL, default 168h (7 days)
	StorageDir        string        // TARUVI_STORAGE_DIR, default "<TARUVI_DATA_DIR>/storage": local blob store
	MaxUploadBytes    int64         // TARUVI_MAX_UPLOAD_BYTES, default 104857600 (100 MiB)
	UploadTempDir     string        // TARUVI_UPLOAD_TEMP_DIR, default "": the system's temporary folder
	UploadSpools      int           // TARUVI_UPLOAD_SPOOLS, default 4 uploads waiting on disk at once
	ReadCacheTTL      time.Duration // TARUVI_READ_CACHE_TTL, default 2s; 0 turns the read cache off
	S3                S3Config      // TARUVI_S3_*: when TARUVI_S3_BUCKET is set, files go to S3 instead of the disk
	Jobs              JobsConfig    // background jobs and email (config_jobs.go)
	Ops               OpsConfig     // cache, rate limits, HTTP security, metrics (config_ops.go)
	Admin             AdminConfig   // the admin web UI (config_admin.go)
}

// S3Config is an S3-compatible object store.
type S3Config struct {
	Endpoint  string // TARUVI_S3_ENDPOINT, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000
	Region    string // TARUVI_S3_REGION, default "us-east-1"
	Bucket    string // TARUVI_S3_BUCKET
	AccessKey string // TARUVI_S3_ACCESS_KEY
	SecretKey string // TARUVI_S3_SECRET_KEY
	PathStyle bool   // TARUVI_S3_PATH_STYLE, default false (true for MinIO and most self-hosted stores)
}

// Variable documents one environment variable.
type Variable struct {
	Name    string
	Default string
	Secret  bool
	Doc     string
	get     func(*Config) string
	set     func(*Config, string) error
}

// Variables lists every variable Load reads, in the order `taruvi config`
// prints them.
func Variables() []Variable {
	vars := coreVariables()
	vars = append(vars, jobsVariables()...)
	vars = append(vars, opsVariables()...)
	return append(vars, adminVariables()...)
}

func coreVariables() []Variable {
	return []Variable{
		{Name: "TARUVI_DATABASE_URL", Secret: true, Doc: "PostgreSQL URL (postgres://user:pass@host:5432/db). Empty: `taruvi dev` starts a private server under TARUVI_DATA_DIR; the other commands refuse to start.",
			get: func(c *Config) string { return c.DatabaseURL }, set: setDatabaseURL},
		{Name: "TARUVI_HTTP_ADDR", Default: ":8000", Doc: "Address `taruvi serve` listens on.",
			get: func(c *Config) string { return c.HTTPAddr }, set: setAddr},
		{Name: "TARUVI_BASE_DOMAIN", Default: "localhost", Doc: "Tenant hosts are <schema>.<base domain> unless a domain is mapped explicitly.",
			get: func(c *Config) string { return c.BaseDomain }, set: setBaseDomain},
		{Name: "TARUVI_PLATFORM_HOSTS", Default: "localhost,127.0.0.1,::1", Doc: "Comma-separated hosts that serve the platform (operators) rather than a tenant.",
			get: func(c *Config) string { return strings.Join(c.PlatformHosts, ",") }, set: setPlatformHosts},
		{Name: "TARUVI_TRUST_TENANT_HEADER", Default: "false", Doc: "When true, an X-Tenant header selects the tenant (for local proxies; never enable on the open internet).",
			get: func(c *Config) string { return strconv.FormatBool(c.TrustTenantHeader) }, set: setBool(func(c *Config) *bool { return &c.TrustTenantHeader })},
		{Name: "TARUVI_LOG_FORMAT", Default: "json", Doc: "json or text.",
			get: func(c *Config) string { return c.LogFormat }, set: setOneOf(func(c *Config) *string { return &c.LogFormat }, "json", "text")},
		{Name: "TARUVI_LOG_LEVEL", Default: "info", Doc: "debug, info, warn or error.",
			get: func(c *Config) string { return c.LogLevel }, set: setOneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{Name: "TARUVI_DB_MAX_CONNS", Default: "0", Doc: "Connections for tenant requests, in lanes of two that each tenant homes to (see docs/architecture.md); the platform, migrations and notifications have a pool of the same size beside them. 0 means four per CPU core (more only queue inside PostgreSQL: see docs/benchmarks.md).",
			get: func(c *Config) string { return strconv.Itoa(c.DBMaxConns) }, set: setInt(func(c *Config) *int { return &c.DBMaxConns }, 0, 1000)},
		{Name: "TARUVI_MIGRATE_WORKERS", Default: "8", Doc: "Tenants `taruvi migrate` upgrades at once (the --workers default).",
			get: func(c *Config) string { return strconv.Itoa(c.MigrateWorkers) }, set: setInt(func(c *Config) *int { return &c.MigrateWorkers }, 1, 256)},
		{Name: "TARUVI_LOCK_TIMEOUT", Default: "5s", Doc: "How long a tenant migration waits for a table lock before that tenant fails (Go duration).",
			get: func(c *Config) string { return c.LockTimeout.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.LockTimeout })},
		{Name: "TARUVI_SHUTDOWN_TIMEOUT", Default: "15s", Doc: "How long `serve` lets requests in flight finish after SIGTERM (Go duration).",
			get: func(c *Config) string { return c.ShutdownTimeout.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{Name: "TARUVI_DATA_DIR", Default: ".taruvi", Doc: "Folder for local state: the private PostgreSQL of `taruvi dev`.",
			get: func(c *Config) string { return c.DataDir }, set: func(c *Config, v string) error { c.DataDir = v; return nil }},
		{Name: "TARUVI_SECRET_KEY", Secret: true, Doc: "At least 32 random characters. Seals the JWT signing keys stored in the database and derives refresh tokens; keep it stable across replicas and restarts. Required by `serve`; `taruvi dev` makes one under TARUVI_DATA_DIR.",
			get: func(c *Config) string { return c.SecretKey }, set: setSecretKey},
		{Name: "TARUVI_JWT_ISSUER", Default: "taruvi", Doc: "The `iss` claim of access tokens.",
			get: func(c *Config) string { return c.JWTIssuer }, set: func(c *Config, v string) error { c.JWTIssuer = v; return nil }},
		{Name: "TARUVI_JWT_SIGNING_KEY", Secret: true, Doc: "An Ed25519 private key (PKCS#8 PEM) to sign access tokens with. Empty: keys are generated, stored sealed in the database and rotated with `taruvi keys rotate`.",
			get: func(c *Config) string { return c.JWTSigningKey }, set: func(c *Config, v string) error { c.JWTSigningKey = v; return nil }},
		{Name: "TARUVI_ACCESS_TOKEN_TTL", Default: "15m", Doc: "Lifetime of access tokens.",
			get: func(c *Config) string { return c.AccessTokenTTL.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.AccessTokenTTL })},
		{Name: "TARUVI_REFRESH_TOKEN_TTL", Default: "168h", Doc: "Lifetime of refresh tokens (each use starts a new one).",
			get: func(c *Config) string { return c.RefreshTokenTTL.String() }, set: setDuration(func(c *Config) *time.Duration { return &c.RefreshTokenTTL })},
		{Name: "TARUVI_STORAGE_DIR", Doc: "Folder of the local file store. Empty: <TARUVI_DATA_DIR>/storage.",
			get: func(c *Config) string { return c.StorageDir }, set: func(c *Config, v string) error { c.StorageDir = v; return nil }},
		{Name: "TARUVI_MAX_UPLOAD_BYTES", Default: "104857600", Doc: "Largest file upload accepted, in bytes (larger ones get 413).",
			get: func(c *Config) string { return strconv.FormatInt(c.MaxUploadBytes, 10) }, set: setMaxUpload},
		{Name: "TARUVI_UPLOAD_TEMP_DIR", Doc: "Folder where the file of an upload sent before its project or task field waits for it. Empty: the system's temporary folder.",
			get: func(c *Config) string { return c.UploadTempDir }, set: func(c *Config, v string) error { c.UploadTempDir = v; return nil }},
		{Name: "TARUVI_UPLOAD_SPOOLS", Default: "4", Doc: "Uploads whose file waits on disk for its field that one process holds at once (each up to TARUVI_MAX_UPLOAD_BYTES); more get 503 with Retry-After.",
			get: func(c *Config) string { return strconv.Itoa(c.UploadSpools) }, set: setInt(func(c *Config) *int { return &c.UploadSpools }, 1, 1000)},
		{Name: "TARUVI_READ_CACHE_TTL", Default: "2s", Doc: "Longest time a page of projects, tasks or files is answered from memory; any write to the tenant, in any process, forgets its pages at once (this bounds a lost notification). 0 turns the cache off.",
			get: func(c *Config) string { return c.ReadCacheTTL.String() }, set: setReadCacheTTL},
		{Name: "TARUVI_S3_ENDPOINT", Doc: "S3 endpoint URL. Files go to S3 when TARUVI_S3_BUCKET is set.",
			get: func(c *Config) string { return c.S3.Endpoint }, set: func(c *Config, v string) error { c.S3.Endpoint = v; return nil }},
		{Name: "TARUVI_S3_REGION", Default: "us-east-1", Doc: "S3 region.",
			get: func(c *Config) string { return c.S3.Region }, set: func(c *Config, v string) error { c.S3.Region = v; return nil }},
		{Name: "TARUVI_S3_BUCKET", Doc: "S3 bucket; every key is under tenants/<tenant id>/.",
			get: func(c *Config) string { return c.S3.Bucket }, set: func(c *Config, v string) error { c.S3.Bucket = v; return nil }},
		{Name: "TARUVI_S3_ACCESS_KEY", Doc: "S3 access key id.",
			get: func(c *Config) string { return c.S3.AccessKey }, set: func(c *Config, v string) error { c.S3.AccessKey = v; return nil }},
		{Name: "TARUVI_S3_SECRET_KEY", Secret: true, Doc: "S3 secret access key.",
			get: func(c *Config) string { return c.S3.SecretKey }, set: func(c *Config, v string) error { c.S3.SecretKey = v; return nil }},
		{Name: "TARUVI_S3_PATH_STYLE", Default: "false", Doc: "Address buckets by path (http://host/bucket/key), as MinIO and most self-hosted stores want.",
			get: func(c *Config) string { return strconv.FormatBool(c.S3.PathStyle) }, set: setBool(func(c *Config) *bool { return &c.S3.PathStyle })},
	}
}

// Load reads the configuration through getenv (os.Getenv in production). An
// invalid value fails with an error naming the variable.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range Variables() {
		value := strings.TrimSpace(getenv(v.Name))
		if value == "" {
			value = v.Default
		}
		if err := v.set(&c, value); err != nil {
			return Config{}, fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	return c, nil
}

// Entry is one variable with its effective value, secrets masked.
type Entry struct {
	Variable
	Value string
}

// Entries returns every variable with its effective value in c. Secrets are
// masked: a URL keeps all but its password.
func (c Config) Entries() []Entry {
	var out []Entry
	for _, v := range Variables() {
		value := v.get(&c)
		if v.Secret {
			value = maskSecret(value)
		}
		out = append(out, Entry{Variable: v, Value: value})
	}
	return out
}

func maskSecret(value string) string {
	if value == "" {
		return ""
	}
	u, err := url.Parse(value)
	if strings.HasPrefix(value, "-----") {
		return "********"
	}
	if err != nil || u.Scheme == "" {
		return "********"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func setDatabaseURL(c *Config, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("want a postgres:// URL, got %q", maskSecret(v))
		}
	}
	c.DatabaseURL = v
	return nil
}

func setMaxUpload(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return fmt.Errorf("want a positive number of bytes, got %q", v)
	}
	c.MaxUploadBytes = n
	return nil
}

func setReadCacheTTL(c *Config, v string) error {
	if v == "0" {
		c.ReadCacheTTL = 0
		return nil
	}
	return setDuration(func(c *Config) *time.Duration { return &c.ReadCacheTTL })(c, v)
}

func setSecretKey(c *Config, v string) error {
	if v != "" && len(v) < 32 {
		return fmt.Errorf("use at least 32 characters (got %d)", len(v))
	}
	c.SecretKey = v
	return nil
}

func setAddr(c *Config, v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("want host:port or :port, got %q", v)
	}
	c.HTTPAddr = v
	return nil
}

func setBaseDomain(c *Config, v string) error {
	v = taruvi.NormalizeHost(v)
	if err := taruvi.ValidateDomain(v); err != nil {
		return fmt.Errorf("%s", taruvi.ErrorMessage(err))
	}
	c.BaseDomain = v
	return nil
}

func setPlatformHosts(c *Config, v string) error {
	c.PlatformHosts = nil
	for _, h := range strings.Split(v, ",") {
		if h = taruvi.NormalizeHost(h); h == "" {
			continue
		}
		if net.ParseIP(h) == nil {
			if err := taruvi.ValidateDomain(h); err != nil {
				return fmt.Errorf("%s", taruvi.ErrorMessage(err))
			}
		}
		c.PlatformHosts = append(c.PlatformHosts, h)
	}
	if len(c.PlatformHosts) == 0 {
		return fmt.Errorf("name at least one host")
	}
	return nil
}

func setBool(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*field(c) = b
		return nil
	}
}

func setInt(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d, got %q", lo, hi, v)
		}
		*field(c) = n
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 5s or 500ms, got %q", v)
		}
		*field(c) = d
		return nil
	}
}

func setDurationIn(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration from %v to %v, got %q", lo, hi, v)
		}
		*field(c) = d
		return nil
	}
}

func setOneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToLower(v)
		for _, a := range allowed {
			if v == a {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("want one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}
