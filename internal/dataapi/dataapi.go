// Package dataapi serves the rows of runtime-defined datatables through
// the data API of the public Taruvi SDKs: list with filters, filter trees,
// ordering, paging, projection, populate, full-text search and
// aggregates; get, create, update, upsert and delete, one row or many.
//
// Every statement is compiled from a request parsed and validated against
// the table's definition before any SQL runs: identifiers come from the
// definition only (quoted with pgx.Identifier), values are always bound
// parameters, and no text of a request is ever part of a statement.
package dataapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/postgres"
)

// Tables finds datatable definitions; the apps module implements it.
type Tables interface {
	// Table returns the definition of datatable name of the app with slug app in
	// ctx's tenant, with Table set to its physical table's name; a *taruvi.Error
	// ENOTFOUND when the app or the table does not exist.
	Table(ctx context.Context, app, name string) (*taruvi.Datatable, error)
}

// Binder binds a value as the next parameter of the statement being
// written and returns its placeholder ("$3").
type Binder interface {
	Bind(v any) string
}

// RowPolicy is the hook for row-level visibility: it returns an SQL
// condition that the rows of def (aliased t in the statement: t."owner_id")
// must meet for the principal of ctx to act on them (ActionRead for list,
// count, aggregates, get and populate; ActionUpdate for updates and the
// update of an upsert; ActionDelete for deletes), binding every value
// through b; "" for every row. The condition is ANDed into the statement's
// WHERE. Its text must be built like the rest of this package's: column
// identifiers from def quoted with pgx.Identifier, values bound through b,
// never text of a request. An error fails the request.
type RowPolicy func(ctx context.Context, def *taruvi.Datatable, action string, b Binder) (string, error)

// Option configures a Service.
type Option func(*Service)

// WithRowPolicy makes the service apply p to every read and write.
func WithRowPolicy(p RowPolicy) Option { return func(s *Service) { s.policy = p } }

// Service is the data API of datatables.
type Service struct {
	db     *postgres.DB
	authz  taruvi.Authorizer
	tables Tables
	policy RowPolicy
	// observe, set by tests only, sees the text of every statement.
	observe func(sql string)
}

// New returns the data API over db, authorizing with authz and finding
// definitions through tables.
func New(db *postgres.DB, authz taruvi.Authorizer, tables Tables, opts ...Option) *Service {
	s := &Service{db: db, authz: authz, tables: tables}
	for _, o := range opts {
		o(s)
	}
	return s
}

// open authorizes the principal of ctx for perm in the app and returns
// the table. Owners may do everything; others need the permission
// (model-wide, or granted on the app: object type taruvi.ObjectApp, id
// the app's slug).
func (s *Service) open(ctx context.Context, app, name, perm string) (*table, error) {
	if taruvi.TenantFromContext(ctx) == nil {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Apps exist on tenant hosts only.")
	}
	if err := s.authz.Can(ctx, perm, taruvi.Object{Type: taruvi.ObjectApp, ID: app}); err != nil {
		return nil, err
	}
	def, err := s.tables.Table(ctx, app, name)
	if err != nil {
		return nil, err
	}
	return newTable(def)
}

// envelope is the success body of every data answer but lists.
type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// pagination is the paging block of a list, as the contract has it.
type pagination struct {
	Offset      int  `json:"offset"`
	Limit       int  `json:"limit"`
	Count       int  `json:"count"`
	CurrentPage int  `json:"current_page"`
	TotalPages  int  `json:"total_pages"`
	HasNext     bool `json:"has_next"`
	HasPrevious bool `json:"has_previous"`
}

// listEnvelope is the body of a list.
type listEnvelope struct {
	Status     string            `json:"status"`
	Message    string            `json:"message"`
	Data       []json.RawMessage `json:"data"`
	Total      int               `json:"total"`
	Pagination pagination        `json:"pagination"`
}

// bulkResult is the data of a bulk update and an upsert.
type bulkResult struct {
	Count   int               `json:"count"`
	Records []json.RawMessage `json:"records"`
}

// deleteResult is the data of a bulk delete.
type deleteResult struct {
	DeletedCount int64  `json:"deleted_count"`
	Message      string `json:"message"`
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// ok writes a success envelope.
func ok(w http.ResponseWriter, status int, message string, data any) error {
	return writeJSON(w, status, envelope{Status: "success", Message: message, Data: data})
}

// inTenant runs fn in the tenant of ctx, through the one door; every
// statement of the data API runs here.
func (s *Service) inTenant(ctx context.Context, fn postgres.TxFunc) error {
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if s.observe != nil {
			tx = observedTx{Tx: tx, observe: s.observe}
		}
		return fn(ctx, tx)
	})
}

// observedTx shows each statement's text to a test before it runs.
type observedTx struct {
	pgx.Tx
	observe func(sql string)
}

func (t observedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.observe(sql)
	return t.Tx.Exec(ctx, sql, args...)
}

func (t observedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	t.observe(sql)
	return t.Tx.Query(ctx, sql, args...)
}

func (t observedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	t.observe(sql)
	return t.Tx.QueryRow(ctx, sql, args...)
}
