package taruvi

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tenant statuses. A suspended tenant keeps its data but answers 403.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is one customer organisation: a row in public.tenants, a
// PostgreSQL schema named Schema and a NOLOGIN role named Role that owns it.
type Tenant struct {
	ID            int64  // never reused, not even for the same schema name (ScopeKey)
	Name          string // display name, "Acme Inc."
	Schema        string // validated schema name, also the tenant's slug
	Role          string // the tenant's own database role
	Status        string // TenantActive or TenantSuspended
	SchemaVersion int    // the last tenant migration applied to Schema
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Domains       []Domain
	// RequestQuota is the most API requests per minute the whole tenant may
	// make, across every replica; 0 means no quota. Platform admins set it.
	RequestQuota int
	// CORSOrigins are the browser origins allowed to call the tenant's API,
	// besides those allowed on every host.
	CORSOrigins []string
}

// ScopeKey names this incarnation of the tenant: "t" and its ID. The ID
// comes from an identity column, which never gives a number twice, so a
// tenant deleted and created again under the same schema name has another
// key and inherits nothing keyed by the old one: no session, no cached
// answer, no counted request. Schema names are for routing and display.
func (t *Tenant) ScopeKey() string { return "t" + strconv.FormatInt(t.ID, 10) }

// TenantSettings changes a tenant's operational settings; nil fields stay
// as they are.
type TenantSettings struct {
	RequestQuota *int      `json:"request_quota,omitempty"`
	CORSOrigins  *[]string `json:"cors_origins,omitempty"`
}

// Domain maps a host name to a tenant. At most one domain of a tenant is
// primary.
type Domain struct {
	Domain    string
	Schema    string
	Primary   bool
	CreatedAt time.Time
}

// TenantCreate is the input of TenantService.CreateTenant.
type TenantCreate struct {
	Schema string `json:"schema"`
	Name   string `json:"name,omitempty"`   // defaults to Schema
	Domain string `json:"domain,omitempty"` // optional first domain, made primary
}

// TenantService provisions and manages tenants. Its methods return ENOTFOUND
// for an unknown schema, EINVALID for bad input and ECONFLICT for a schema
// or domain that exists already; a failed call leaves nothing half-made.
type TenantService interface {
	CreateTenant(ctx context.Context, in TenantCreate) (*Tenant, error)
	FindTenant(ctx context.Context, schema string) (*Tenant, error)
	ListTenants(ctx context.Context) ([]*Tenant, error)
	SetTenantStatus(ctx context.Context, schema, status string) error
	DeleteTenant(ctx context.Context, schema string) error
	AddDomain(ctx context.Context, schema, domain string, primary bool) error
	// UpdateTenantSettings changes a tenant's request quota or CORS
	// origins and returns the tenant as it is now.
	UpdateTenantSettings(ctx context.Context, schema string, in TenantSettings) (*Tenant, error)
	RemoveDomain(ctx context.Context, domain string) error
}

// TenantResolver finds the tenant a request addresses, by an explicitly
// mapped domain or by schema name. Both return ENOTFOUND when nothing
// matches.
type TenantResolver interface {
	FindTenantByDomain(ctx context.Context, domain string) (*Tenant, error)
	FindTenant(ctx context.Context, schema string) (*Tenant, error)
}

var schemaNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// reservedSchemaNames are schema names a tenant may never take: the
// platform's own schemas, PostgreSQL's, and the SQL keywords PostgreSQL
// reserves (pg_get_keywords() categories R, T and C).
var reservedSchemaNames = wordSet(`public river information_schema taruvi platform shared template
	all analyse analyze and any array as asc asymmetric authorization between bigint binary bit
	boolean both case cast char character check coalesce collate collation column concurrently
	constraint create cross current_catalog current_date current_role current_schema current_time
	current_timestamp current_user dec decimal default deferrable desc distinct do else end except
	exists extract false fetch float for foreign freeze from full grant greatest group grouping
	having ilike in initially inner inout int integer intersect interval into is isnull join lateral
	leading least left like limit localtime localtimestamp national natural nchar none normalize not
	notnull null nullif numeric offset on only or order out outer overlaps overlay placing position
	precision primary real references returning right row select session_user setof similar
	smallint some substring symmetric table tablesample then time timestamp to trailing treat trim
	true union unique user using values varchar variadic verbose when where window with
	xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot
	xmlserialize xmltable`)

func wordSet(words string) map[string]bool {
	set := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// ValidateSchemaName returns an EINVALID error when name cannot be a
// tenant's schema: it must match ^[a-z][a-z0-9_]{1,62}$ and be neither
// reserved, a pg_ name nor an SQL keyword.
func ValidateSchemaName(name string) error {
	switch {
	case !schemaNameRE.MatchString(name):
		return Errorf(EINVALID, "Invalid schema name %q: use 2 to 63 characters, a lower-case letter first, then lower-case letters, digits or underscores.", name)
	case strings.HasPrefix(name, "pg_"):
		return Errorf(EINVALID, "Invalid schema name %q: names starting with pg_ are reserved by PostgreSQL.", name)
	case reservedSchemaNames[name]:
		return Errorf(EINVALID, "Invalid schema name %q: the name is reserved.", name)
	}
	return nil
}

var domainLabelRE = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// NormalizeHost lower-cases host and strips a port and a trailing dot, the
// form in which domains are stored and looked up.
func NormalizeHost(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if strings.HasPrefix(host, "[") { // [::1]:8000
		if i := strings.Index(host, "]"); i > 0 {
			return host[1:i]
		}
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}

// ValidateDomain returns an EINVALID error unless domain is a host name of
// dot-separated labels (lower-case letters, digits, hyphens, and the
// underscores that schema names may carry into <schema>.<base domain>), at
// most 253 characters.
func ValidateDomain(domain string) error {
	if domain == "" || len(domain) > 253 || domain != NormalizeHost(domain) {
		return Errorf(EINVALID, "Invalid domain %q: use a lower-case host name without port, such as acme.example.com.", domain)
	}
	for _, label := range strings.Split(domain, ".") {
		if !domainLabelRE.MatchString(label) {
			return Errorf(EINVALID, "Invalid domain %q: label %q is not a valid host name label.", domain, label)
		}
	}
	return nil
}

// MaxTenantOrigins bounds the CORS origins of one tenant.
const MaxTenantOrigins = 50

// ValidateTenantSettings normalises the origins of in and returns an
// EINVALID error naming the first field that is wrong.
func ValidateTenantSettings(in *TenantSettings) error {
	if in.RequestQuota != nil && (*in.RequestQuota < 0 || *in.RequestQuota > 10_000_000) {
		return &Error{Code: EINVALID, Message: "Invalid settings.",
			Fields: map[string]string{"request_quota": "Want requests per minute from 0 (no quota) to 10000000."}}
	}
	if in.CORSOrigins == nil {
		return nil
	}
	if len(*in.CORSOrigins) > MaxTenantOrigins {
		return &Error{Code: EINVALID, Message: "Invalid settings.",
			Fields: map[string]string{"cors_origins": fmt.Sprintf("At most %d origins.", MaxTenantOrigins)}}
	}
	origins := make([]string, 0, len(*in.CORSOrigins))
	for _, o := range *in.CORSOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return &Error{Code: EINVALID, Message: "Invalid settings.", Fields: map[string]string{"cors_origins": ErrorMessage(err)}}
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	*in.CORSOrigins = origins
	return nil
}

// NormalizeOrigin checks that s is a browser origin (scheme://host[:port],
// no path, query or credentials) and returns it in lower case, the form in
// which browsers send the Origin header.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(u.Host, "*,") {
		return "", Errorf(EINVALID, "Invalid origin %q: want scheme and host, such as https://app.example.com.", s)
	}
	return u.Scheme + "://" + u.Host, nil
}
