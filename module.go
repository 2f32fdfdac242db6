package taruvi

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"time"
)

// Module is a vertical slice of the platform that plugs into its core:
// projects, tasks and files today, the data platform's parts next. A
// module is one package and one line in the platform's list of modules;
// the router, the OpenAPI builder, the admin shell, the job runner and
// the tenant migrations iterate that list, so that a new module edits
// none of them.
//
// A module is built by its package from the core's services before
// anything starts (no setters after start); MigrationSet must not depend on those
// services, because the database runs the migrations before any module is
// built for serving.
type Module interface {
	// MigrationSet names the module and holds its tenant migrations. The name is
	// its key in taruvi_migrations: renaming a module orphans its rows.
	MigrationSet() MigrationSet
	// Parts returns what the module adds to the platform's surfaces. The
	// core calls it once per surface while wiring; it must return the same
	// parts every time.
	Parts() ModuleParts
}

// ModuleParts are what a module brings besides its migrations. Every part
// is optional.
type ModuleParts struct {
	// Tags group the module's API operations in the documentation, in
	// order; they come after the platform's identity tags (auth, users,
	// groups, permissions) and before its own (history, jobs, ...).
	Tags []APITag
	// Routes are the module's REST routes, each with its OpenAPI
	// operation, so that the document and the router cannot disagree.
	Routes []Route
	// Permissions are the codenames the module checks. Its migrations
	// insert them into each tenant's permissions table; listed here, they
	// are known without a database, and a test holds the two together.
	Permissions []Permission
	// AdminNav are the module's links in the tenant admin's navigation, in
	// order, before the identity pages (Users, Groups, ...).
	AdminNav []AdminNav
	// AdminPages are the module's tenant admin pages; the shell signs the
	// user in, checks CSRF on POST and renders errors around them.
	AdminPages []AdminPage
	// AdminTemplates are the module's page templates (*.html, each
	// defining "content" in the admin layout); a page renders one with
	// the admin package's Render under "<module>/<file name without .html>".
	// A file that defines "panel" instead is a panel's (RenderPanel).
	AdminTemplates fs.FS
	// AdminPanels are sections the module adds to admin pages, its own
	// or another module's (a project's page shows its tasks and files):
	// the page names a slot and shows the panels of every module for that
	// slot, in the order of the list of modules, so that the page's
	// module knows none of the modules that fill it.
	AdminPanels []AdminPanel
	// AdminCards counts what the module holds for the tenant admin's home
	// page, as the signed-in user of ctx may see it; nil for none.
	AdminCards func(ctx context.Context) ([]AdminCard, error)
	// AdminObjects are the object types the module has a tenant admin
	// page for, so that the shell's pages (an object's history, a report)
	// link to them without knowing the module.
	AdminObjects []AdminObject
	// PeriodicJobs run on a schedule in every active tenant.
	PeriodicJobs []PeriodicJob
	// Jobs are the module's own background jobs, enqueued by its writes
	// as ModuleJobArgs in the write's transaction and worked in the tenant
	// that enqueued them.
	Jobs []ModuleJob
	// Audited are the module's tables whose every change is recorded in
	// the tenant's history: its migrations create each one's
	// <table>_history trigger, record_history('<object type>').
	Audited []AuditedTable
	// HistoryFamilies are the object types the module records history
	// under that are made at run time, each family named by a prefix
	// (the rows of every datatable, "datatable:<app>/<table>"), which
	// Audited cannot list. The history API reads them, asking the family's
	// Authorize whether the caller may.
	HistoryFamilies []HistoryFamily
}

// APITag is a group of API operations in the documentation.
type APITag struct {
	Name        string
	Description string
}

// Route is one REST route of a module: a ServeMux pattern without a
// trailing slash ("GET /api/notes/{id}"), its handler and its OpenAPI
// operation. The handler has the web package's shape: an error it returns
// is rendered as the error envelope.
type Route struct {
	Pattern   string
	Handler   func(w http.ResponseWriter, r *http.Request) error
	Operation Operation
}

// Operation describes one route for the OpenAPI document. Go values
// stand for the shapes: the document derives their schemas by reflection,
// so a changed struct changes the document with it.
type Operation struct {
	Tag          string
	Summary      string
	Description  string
	Public       bool    // needs no credential
	Path         []Param // every {name} of the pattern
	Query        []Param // query parameters besides those of a list
	Request      any     // zero value of the JSON body; nil for none
	Form         bool    // the body is multipart/form-data with Request's fields
	OptionalBody bool    // the body may be left out
	Response     any     // zero value of the data (or, with Raw, the body); nil for "data": null
	Status       int     // the success status; 200 when zero
	// List, when set, makes the response a ListEnvelope of Response items
	// and adds page, page_size, ordering, search and the filters of the
	// spec as query parameters.
	List *ListSpec
	// Raw lists the media types of a body sent as is, without envelope.
	Raw []string
	// Exact keeps the path without the trailing slash the API uses
	// elsewhere (a file name).
	Exact  bool
	Errors []int // the error statuses the route answers with
}

// Param is a path or query parameter of an Operation.
type Param struct {
	Name        string
	Description string
	Kind        FieldKind
	Enum        []string // the values of a KindEnum parameter
	Required    bool     // a query parameter that must be given (path parameters always must)
}

// AdminNav is one link of the admin navigation. Key is the section a page
// names as active (admin.PageFor's nav).
type AdminNav struct {
	Key   string
	Label string
	Href  string // "/admin/notes/"
}

// AdminPage is one tenant admin page of a module: a ServeMux pattern under
// /admin/ without a trailing slash and its handler. The shell runs the
// handler for signed-in users of the host's tenant only, with the
// principal and the tenant in the request's context.
type AdminPage struct {
	Pattern string
	Handler func(w http.ResponseWriter, r *http.Request) error
	// Streamed marks a POST whose handler reads the body itself (a
	// multipart upload) and checks the form's CSRF token with the admin
	// package's CheckCSRF; the shell checks the origin only.
	Streamed bool
}

// AdminPanel is a section of an admin page that a module fills. Slot is
// the page's name for it, as the page's module documents it
// ("projects/project": a project's page, for the project's id).
type AdminPanel struct {
	Slot string
	// Render writes the section's HTML for the page's object id, in the
	// request of the page (signed in, in its tenant), usually with the
	// admin package's RenderPanel. An error fails the page.
	Render func(w io.Writer, r *http.Request, id int64) error
}

// AdminCard is one count on the tenant admin's home page: N, and Label
// linked to Href.
type AdminCard struct {
	N     int
	Label string
	Href  string
}

// AdminObject is an object type whose objects have a tenant admin page.
type AdminObject struct {
	Type string // as the history records it: ObjectProject
	// Href is the page of one object, "{id}" standing for its id:
	// "/admin/projects/{id}/".
	Href string
	// Nav is the navigation section of its pages (an AdminNav key).
	Nav string
	// Name returns the object's name as the signed-in user of ctx may see
	// it; ENOTFOUND when they may not.
	Name func(ctx context.Context, id int64) (string, error)
}

// PeriodicJob is work a module does in every active tenant on a schedule:
// the leading scheduler enqueues one job per tick, which enqueues one job
// per active tenant; each runs Run with that tenant in its context, so
// that every store call it makes is scoped to that tenant and no other.
type PeriodicJob struct {
	// Name is unique within the module: lower case, digits and _.
	Name string
	// Every is the interval; ticks fall on wall-clock multiples of it.
	Every time.Duration
	// Run does the work in the tenant of ctx. An error retries the job
	// (three attempts in all).
	Run func(ctx context.Context) error
}

// ModuleJob is a kind of background job of a module. A write enqueues
// one as ModuleJobArgs naming the module and Name, in the write's
// transaction (postgres.JobStatement), so that the job exists if and only
// if the write commits; the database stamps it with the writing tenant,
// and Work runs with that tenant in its context, whatever the arguments
// say.
type ModuleJob struct {
	// Name is unique within the module: lower case, digits and _.
	Name string
	// Work does the job with the payload it was enqueued with, in the
	// tenant of ctx. An error retries the job (River's backoff, attempt⁴
	// seconds); a payload it cannot read should end it with no retry.
	Work func(ctx context.Context, payload json.RawMessage) error
}

// AuditedTable is a table of a module whose changes the history records
// under ObjectType.
type AuditedTable struct {
	Table      string
	ObjectType string
}

// HistoryFamily is a family of history object types a module makes at
// run time, all beginning with Prefix.
type HistoryFamily struct {
	// Prefix begins every object type of the family ("datatable:"); no
	// other object type (AuditedTable, the core's) begins with it.
	Prefix string
	// Authorize returns nil when the principal of ctx may read the history
	// of objectType (which begins with Prefix) in the tenant of ctx,
	// ENOTFOUND when the type names nothing of that tenant, and
	// EFORBIDDEN (or EUNAUTHORIZED) when the principal may not read it.
	Authorize func(ctx context.Context, objectType string) error
}
