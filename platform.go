package taruvi

import "context"

// TenantListSpec is what the platform's tenant list filters, orders and
// searches by.
var TenantListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "schema_name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "status", Kind: KindEnum, Enum: []string{TenantActive, TenantSuspended}, Filter: true, Order: true},
		{Name: "schema_version", Kind: KindInt, Filter: true, Order: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "id", Desc: true}},
}

// PlatformHistoryListSpec is what the platform audit history filters and
// orders by.
var PlatformHistoryListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "object_type", Kind: KindEnum, Enum: []string{"tenant", "domain", "user"}, Filter: true},
		{Name: "object_id", Kind: KindString, Filter: true},
		{Name: "action", Kind: KindEnum, Enum: []string{ActionCreate, ActionUpdate, ActionDelete}, Filter: true},
		{Name: "actor_id", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "created_at", Desc: true}, {Field: "id", Desc: true}},
}

// PlatformOverview is what the platform dashboard shows.
type PlatformOverview struct {
	TenantsByStatus map[string]int // active, suspended
	Behind          int            // tenants whose schema is older than the binary
	TenantVersion   int            // the binary's tenant schema version
	// JobsConfigured is false while the job tables (schema river) do not
	// exist; JobsByState then is empty.
	JobsConfigured bool
	JobsByState    map[string]int
}

// Dependency is the health of one thing the platform needs.
type Dependency struct {
	Name      string
	OK        bool
	Detail    string  // what failed, or what serves ("local disk")
	LatencyMS float64 // how long the check took
}

// PlatformService answers the platform console's questions. Every method
// needs a platform admin on the platform (EUNAUTHORIZED without a
// principal, EFORBIDDEN otherwise).
type PlatformService interface {
	Overview(ctx context.Context) (*PlatformOverview, error)
	// ListTenantPage returns one page of tenants and how many match.
	ListTenantPage(ctx context.Context, q ListQuery) ([]*Tenant, int, error)
	// ListPlatformHistory returns one page of the platform audit history
	// (tenants, domains, platform admins) and how many entries match.
	ListPlatformHistory(ctx context.Context, q ListQuery) ([]*HistoryEntry, int, error)
	// PingDatabase checks the database answers.
	PingDatabase(ctx context.Context) error
}
