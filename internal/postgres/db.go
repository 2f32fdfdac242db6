// Package postgres holds all of the platform's SQL: the connection pool, the
// tenant-scoped transactions every store call runs in, provisioning, and the
// public and tenant migration sets.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"taruvi"
)

// The pool's default search_path. It names no tenant and not public, so a
// tenant query that forgot its scope fails with "relation does not exist"
// instead of reading whichever schema a pooled connection saw last.
const unscopedSearchPath = "pg_catalog"

// Options tune Open. The zero value is the production setting.
type Options struct {
	MaxConns    int32         // pool size; 0 means four per CPU core
	LockTimeout time.Duration // lock wait per tenant migration; 0 means 5s
	// PublicMigrations and TenantMigrations replace the embedded sets
	// (tests and benchmarks add a migration of their own).
	PublicMigrations fs.FS
	TenantMigrations fs.FS
	// Apps add their tenant migration sets after the core's, in order.
	Apps []taruvi.App
}

// DB is the platform's database: a pgx pool plus what it learned about the
// installation (role names, migration sets).
type DB struct {
	pool        *pgxpool.Pool
	lockTimeout time.Duration
	public      []Migration
	tenant      []migrationSet // the core's first, then each app's

	mu     sync.Mutex
	prefix string // the installation's role prefix, once read

	// sessions is this replica's knowledge of which sessions are live or
	// revoked, shared by every service over this DB.
	sessions *sessionCache

	jobs atomic.Pointer[JobEnqueuer] // set while wiring (SetJobEnqueuer); nil: no jobs
}

// Open connects to the database at url and checks that it answers. It does
// not migrate; call MigratePublic.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = unscopedSearchPath
	cfg.ConnConfig.RuntimeParams["application_name"] = "taruvi"
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		// More connections than this only queue inside PostgreSQL, which
		// shares the same cores.
		cfg.MaxConns = int32(4 * runtime.NumCPU())
	}
	// Recycle connections so per-backend catalog caches, which grow with
	// every tenant schema a backend touches, stay bounded.
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute

	db := &DB{lockTimeout: opts.LockTimeout, sessions: newSessionCache(15*time.Minute, 100_000)}
	if db.lockTimeout <= 0 {
		db.lockTimeout = 5 * time.Second
	}
	if db.public, err = loadMigrations(opts.PublicMigrations, "migrations/public"); err != nil {
		return nil, err
	}
	core, err := loadMigrations(opts.TenantMigrations, "migrations/tenant")
	if err != nil {
		return nil, err
	}
	db.tenant = []migrationSet{{app: coreApp, migrations: core}}
	for _, app := range opts.Apps {
		if !appNameRE.MatchString(app.Name) || app.Name == coreApp || db.hasApp(app.Name) || app.Migrations == nil {
			return nil, fmt.Errorf("app %q: want a unique lower-case name and a migration set", app.Name)
		}
		set, err := loadMigrations(app.Migrations, ".")
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", app.Name, err)
		}
		db.tenant = append(db.tenant, migrationSet{app: app.Name, migrations: set})
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.pool.Ping(pingCtx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redactURL(url), err)
	}
	return db, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Pool returns the underlying pool, for benchmarks and tests that measure
// or attack the database directly.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// TxFunc is the body of a scoped transaction.
type TxFunc func(ctx context.Context, tx pgx.Tx) error

// InTenant runs fn in a transaction scoped to the tenant ctx carries: the
// search_path names only the tenant's schema and the transaction runs as
// the tenant's own role (set_config(..., true) is SET LOCAL), so nothing of
// it outlives the transaction on a pooled connection, and a statement that
// names another tenant's schema fails with "permission denied". fn's error,
// or a panic in fn, rolls back.
func (db *DB) InTenant(ctx context.Context, fn TxFunc) error {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return errors.New("postgres: InTenant called without a tenant in the context")
	}
	return db.inScope(ctx, t.Schema, t.Role, fn)
}

// InPlatform runs fn in a transaction scoped to the platform: search_path
// public, running as the platform role, which may read and write the
// platform tables and no tenant's.
func (db *DB) InPlatform(ctx context.Context, fn TxFunc) error {
	prefix, err := db.rolePrefix(ctx)
	if err != nil {
		return err
	}
	return db.inScope(ctx, "public", prefix+"_platform", fn)
}

// InScope runs fn in the scope ctx addresses: InTenant when ctx carries a
// tenant, InPlatform otherwise. Identity tables have the same shape in
// both, so one piece of SQL serves tenant users and platform admins.
func (db *DB) InScope(ctx context.Context, fn TxFunc) error {
	if taruvi.TenantFromContext(ctx) != nil {
		return db.InTenant(ctx, fn)
	}
	return db.InPlatform(ctx, fn)
}

// scopeSQL pins a transaction to a schema and role and records who acts
// and for which request (taruvi.actor_id, taruvi.request_id), for the
// audit-history triggers. scopeArgs gives its arguments.
const scopeSQL = `SELECT set_config('search_path', $1, true), set_config('role', $2, true),
	set_config('taruvi.actor_id', $3, true), set_config('taruvi.request_id', $4, true)`

func scopeArgs(ctx context.Context, schema, role string) []any {
	actor := ""
	if p := taruvi.PrincipalFromContext(ctx); p != nil && p.UserID > 0 {
		actor = strconv.FormatInt(p.UserID, 10)
	}
	requestID := strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == ':' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, taruvi.RequestIDFromContext(ctx))
	return []any{pgx.Identifier{schema}.Sanitize(), role, actor, requestID}
}

// sqlLiteral quotes s as an SQL string literal.
func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// scopeOf returns the schema and role of the scope ctx addresses.
func (db *DB) scopeOf(ctx context.Context) (schema, role string, err error) {
	if t := taruvi.TenantFromContext(ctx); t != nil {
		return t.Schema, t.Role, nil
	}
	prefix, err := db.rolePrefix(ctx)
	return "public", prefix + "_platform", err
}

// inScope sends BEGIN and the scope together, in one round trip: the
// values are spelled into the statement as literals, which is safe because
// none can hold a quote or a backslash (schema and role names are
// validated, the actor is digits, the request id is filtered to
// [A-Za-z0-9._:-]).
func (db *DB) inScope(ctx context.Context, schema, role string, fn TxFunc) error {
	args := scopeArgs(ctx, schema, role)
	begin := "BEGIN; " + scopeSQL
	for i := len(args); i >= 1; i-- {
		begin = strings.ReplaceAll(begin, "$"+strconv.Itoa(i), sqlLiteral(args[i-1].(string)))
	}
	return db.inTxWith(ctx, pgx.TxOptions{BeginQuery: begin}, fn)
}

// inTx runs fn in a plain transaction as the connecting user. Rollback runs
// on a context of its own so that a cancelled request still returns a clean
// connection to the pool (or, if even that fails, pgx closes it).
func (db *DB) inTx(ctx context.Context, fn TxFunc) error {
	return db.inTxWith(ctx, pgx.TxOptions{}, fn)
}

func (db *DB) inTxWith(ctx context.Context, opts pgx.TxOptions, fn TxFunc) (err error) {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return translate(fmt.Errorf("begin: %w", err))
	}
	defer func() {
		if p := recover(); p != nil {
			rollback(tx)
			panic(p)
		}
		if err != nil {
			rollback(tx)
		}
	}()
	if err = fn(ctx, tx); err != nil {
		return translate(err)
	}
	if err = tx.Commit(ctx); err != nil {
		return translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// rolePrefix returns the installation's role prefix (tvXXXXXXXX), read once
// and then remembered: it never changes after the first public migration.
func (db *DB) rolePrefix(ctx context.Context) (string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.prefix != "" {
		return db.prefix, nil
	}
	err := db.pool.QueryRow(ctx, `SELECT role_prefix FROM public.taruvi_install`).Scan(&db.prefix)
	if err != nil {
		return "", fmt.Errorf("read installation role prefix (is the database migrated?): %w", err)
	}
	return db.prefix, nil
}

// translate turns driver errors that callers act on into *taruvi.Error and
// leaves the rest as they are (internal errors).
func translate(err error) error {
	var pgErr *pgconn.PgError
	var tErr *taruvi.Error
	switch {
	case err == nil, errors.As(err, &tErr):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return taruvi.Errorf(taruvi.ENOTFOUND, "Not found.")
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "23505": // unique_violation
			return &taruvi.Error{Code: taruvi.ECONFLICT, Message: "The object exists already.", Wrapped: err}
		case "55P03", "40P01", "40001": // lock_not_available, deadlock, serialization
			return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The database is busy; try again.", Wrapped: err}
		}
	}
	return err
}

func redactURL(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
