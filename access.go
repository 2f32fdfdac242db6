package taruvi

import (
	"context"
	"time"
)

// Role is a named set of rights that users hold through memberships: a
// site role (App nil), valid in every app of the tenant, or an app role,
// valid in one app. Roles nest: a role holds its own rights and those of
// every ancestor (Parent, its parent's parent, ...), and a policy rule
// naming a role applies to the holders of the role and of its
// descendants. Slugs are unique per app, and among site roles.
type Role struct {
	ID          int64     `json:"id"`
	Slug        string    `json:"slug"` // [a-z0-9_-], at most 100 characters
	Name        string    `json:"name"`
	Description string    `json:"description"`
	App         *string   `json:"app"`         // the app's slug; nil for a site role
	ParentSlug  *string   `json:"parent_slug"` // a role of the same app, or a site role
	Level       int       `json:"level"`       // 0 for a root, its parent's level + 1 below
	Permissions []string  `json:"permissions"` // permission codenames, as a group's
	IsDefault   bool      `json:"is_default"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RoleMembership is one user holding one role, until ExpiresAt when set.
// An expired membership grants nothing from that instant on.
type RoleMembership struct {
	Role      string     `json:"role"`     // the role's slug
	App       *string    `json:"app"`      // the role's app; nil for a site role
	Username  string     `json:"username"` // the member
	UserID    int64      `json:"user_id"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// PrincipalResolver tells who a user is to the policies of an app: P.id
// (the user's id in decimal), P.roles (the site roles and the roles of
// app appID of their unexpired memberships, each with all its ancestors,
// as slugs) and P.attr (the user's attributes). appID 0 asks for site
// roles only. An expired membership counts for nothing from its instant
// on, whatever was cached before.
type PrincipalResolver interface {
	PolicyPrincipal(ctx context.Context, userID, appID int64) (*PolicyPrincipal, error)
}

// Policy actions (Cerbos actions of the public SDKs' kinds). A rule may
// also name "*", every action.
const (
	PolicyRead    = "read"
	PolicyCreate  = "create"
	PolicyUpdate  = "update"
	PolicyDelete  = "delete"
	PolicyExecute = "execute"
)

// Policy resource kinds are "<prefix>:<name>": a datatable's name, a
// bucket's, function's or analytics query's slug.
const (
	KindDatatable = "datatable"
	KindBucket    = "bucket"
	KindFunction  = "function"
	KindQuery     = "query"
)

// Effect is what a policy decides for one action.
type Effect string

// The two effects, spelled as Cerbos spells them on the wire.
const (
	EffectAllow Effect = "EFFECT_ALLOW"
	EffectDeny  Effect = "EFFECT_DENY"
)

// ResourcePolicy is a Cerbos resource policy: the rules for one kind of
// resource (Resource, "datatable:orders") in one version. The rules
// decide each action for principals holding one of their roles ("*" for
// any); a DENY that applies overrides every ALLOW, and an action no ALLOW
// applies to is denied.
type ResourcePolicy struct {
	Resource string       `json:"resource"`
	Version  string       `json:"version"` // "default" when empty
	Rules    []PolicyRule `json:"rules"`
}

// PolicyRule is one rule of a resource policy. Effect is EFFECT_ALLOW or
// EFFECT_DENY.
type PolicyRule struct {
	Name      string           `json:"name,omitempty"`
	Actions   []string         `json:"actions"`
	Effect    Effect           `json:"effect"`
	Roles     []string         `json:"roles"`
	Condition *PolicyCondition `json:"condition,omitempty"`
}

// PolicyCondition limits a rule to the requests its CEL match holds for.
type PolicyCondition struct {
	Match PolicyMatch `json:"match"`
}

// PolicyMatch is one CEL boolean expression (Expr), or a combination of
// matches: All holds when each does, Any when one does, None when none
// does. The expression sees P (id, roles, attr), R (id, kind, attr: a
// datatable row's fields) and request.aux.
type PolicyMatch struct {
	Expr string         `json:"expr,omitempty"`
	All  *PolicyMatches `json:"all,omitempty"`
	Any  *PolicyMatches `json:"any,omitempty"`
	None *PolicyMatches `json:"none,omitempty"`
}

// PolicyMatches are the operands of All, Any and None.
type PolicyMatches struct {
	Of []PolicyMatch `json:"of"`
}

// Policy is a resource policy as an app stores it: each save is a new
// Revision, and what was compiled for an older revision is never used for
// a newer one.
type Policy struct {
	ID        int64          `json:"id"`
	App       string         `json:"app"` // the app's slug
	Revision  int            `json:"revision"`
	Policy    ResourcePolicy `json:"resource_policy"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PolicyPrincipal is who a policy decides for: P in conditions.
type PolicyPrincipal struct {
	ID    string         `json:"id"`
	Roles []string       `json:"roles"`
	Attr  map[string]any `json:"attr"`
}

// PolicyResource is what a policy decides on: R in conditions.
type PolicyResource struct {
	Kind string         `json:"kind"`
	ID   string         `json:"id"`
	Attr map[string]any `json:"attr"`
}

// PolicyChecker decides actions on resources of an app for the principal
// of ctx: its user, roles and attributes (PrincipalResolver). Tenant owners
// are allowed everything. A kind no policy of the app governs is denied
// every action (governed false, so that a caller can fall back to
// permissions where it has them).
type PolicyChecker interface {
	Check(ctx context.Context, app string, res PolicyResource, actions []string, aux map[string]any) (effects map[string]Effect, governed bool, err error)
}
