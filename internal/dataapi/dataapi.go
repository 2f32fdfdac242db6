// Package dataapi serves the rows of runtime-defined datatables through
// the data API of the public Taruvi SDKs, under
// /api/apps/{app}/datatables/{name}/data: list with filters, filter trees,
// ordering, paging, counting, projection, populate, ranked full-text
// search and aggregates; get, create, update, upsert and delete, one row
// or many. The apps module, which stores the definitions and creates the
// physical tables, serves Routes and implements Tables.
//
// Every statement is compiled from a request parsed and validated against
// the table's definition before any SQL runs: identifiers come from the
// definition only (quoted with pgx.Identifier), values are always bound
// parameters, cast from text to the column's type, and no text of a
// request is ever part of a statement (FuzzQuery holds the package to
// that). Unknown fields and operators, values of the wrong type and
// broken constraints are 400 VALIDATION_ERROR naming the field; a unique
// violation is 409; a missing row 404.
//
// Statements run through the platform's one door, db.InTenant, with a
// statement and a lock timeout. A page with its total (the count as an
// uncorrelated subquery, the page as one JSON array), a count, a row's
// read and an insert of rows that set the same fields are one statement,
// sent with the scope and the commit in one round trip; bulk writes are
// one multi-row statement per set of fields, reading a bound JSON array
// with jsonb_to_recordset. Populate follows foreign keys in the same
// transaction as the page, one statement per key and level (at most 20
// in one request); a populated user is in full only to whom holds
// taruvi.PermViewUser, to others its id alone.
//
// Owners may do everything; other users need taruvi.PermViewData to read
// and taruvi.PermChangeData to write, held model-wide or granted on the
// app (object type taruvi.ObjectApp, id the app's slug). A write answers
// a caller without taruvi.PermViewData with the keys of the rows it
// wrote, not the rows. WithRowPolicy is
// the hook for row-level visibility: its condition is ANDed into every
// read (list, count, aggregate, get, populate) and write (update, the
// update of an upsert, delete).
//
// Full-text search reads the table's generated search_vector column,
// which must be built with the configuration SearchConfig.
package dataapi

import (
	"context"
	"encoding/json"

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

// Gate is the resource policies' side of access to rows (the apps
// module's policies of kind "datatable:<name>"). A table no policy
// governs is left to the permissions (taruvi.PermViewData,
// taruvi.PermChangeData); a governed table is decided by the gate alone.
// Tenant owners are never governed.
type Gate interface {
	// Rows decides action (ActionRead, ActionCreate, ActionUpdate,
	// ActionDelete) on the rows of def, of the app with slug app, for the
	// principal of ctx. governed false: no policy governs def, and the
	// permissions decide. Otherwise a *taruvi.Error EFORBIDDEN when no
	// row can qualify, or the SQL condition the rows (aliased t) must
	// meet, "" for every row, built as RowPolicy's is: identifiers from
	// def, values bound through b.
	Rows(ctx context.Context, app string, def *taruvi.Datatable, action string, b Binder) (cond string, governed bool, err error)
	// Record decides action on one row whose fields are attr (a record
	// to create): governed as for Rows; EFORBIDDEN when denied.
	Record(ctx context.Context, app string, def *taruvi.Datatable, action string, attr map[string]any) (governed bool, err error)
}

// WithGate makes the service ask g about every read and write.
func WithGate(g Gate) Option { return func(s *Service) { s.gate = g } }

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
	gate   Gate
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
	t, err := newTable(def)
	if err != nil {
		return nil, err
	}
	t.app = app
	return t, nil
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

// Time limits of the data API's transactions: a statement runs at most
// statementTimeout (a request's filters cannot hold a backend for long),
// a write waits at most lockTimeout for a row another write holds.
const (
	statementTimeout = "15s"
	lockTimeout      = "3s"
)

// inTenant runs fn in the tenant of ctx, through the one door, with the
// data API's time limits; every statement of the data API runs here.
func (s *Service) inTenant(ctx context.Context, fn postgres.TxFunc) error {
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if s.observe != nil {
			tx = observedTx{Tx: tx, observe: s.observe}
		}
		return fn(ctx, tx)
	}, timeLimits()...)
}

// timeLimits are the options of every transaction of the data API.
func timeLimits() []postgres.TxOption {
	return []postgres.TxOption{postgres.Setting("statement_timeout", statementTimeout), postgres.Setting("lock_timeout", lockTimeout)}
}

// readOne runs one statement that reads one row into dest, sent with the
// scope and the commit in one round trip (postgres.Pipelined). No row is
// ENOTFOUND.
func (s *Service) readOne(ctx context.Context, sql string, args []any, dest ...any) error {
	if s.observe != nil {
		s.observe(sql)
	}
	unit := &pgx.Batch{}
	unit.Queue(sql, args...).QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
	return s.db.InTenant(ctx, nil, append(timeLimits(), postgres.Pipelined(unit))...)
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
