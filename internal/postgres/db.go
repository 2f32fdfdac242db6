// Package postgres holds all of the platform's SQL: the connection pool, the
// tenant-scoped transactions every store call runs in, provisioning, and the
// public and tenant migration sets.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
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
	// MigrationSets add the modules' tenant migrations after the core's, in order.
	MigrationSets []taruvi.MigrationSet
	// ReadCacheTTL is how long a hot read (a page of projects, tasks or
	// files) may be answered from memory when no write to its tenant was
	// seen; 0 turns the read cache off.
	ReadCacheTTL time.Duration
	// ObserveReads, when set, counts every lookup in the read cache, hit
	// or miss.
	ObserveReads func(hit bool)
	// SlowQuery, when positive, logs statements slower than it to Log.
	SlowQuery time.Duration
	// LaneStuckAfter is how long a full lane may go without getting a
	// connection back before its tenants run on an idle lane; 0 means
	// 100ms (see lane).
	LaneStuckAfter time.Duration
	// Sandbox configures the door for SQL that tenants write
	// (SandboxQuery); without its Secret that door stays shut.
	Sandbox SandboxOptions
	Log     *slog.Logger
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

	// feed carries the changes every cache of tenant data follows, in
	// this process and every other (see Feed).
	feed *Feed

	// reads remembers hot reads per tenant until the tenant is written to.
	reads *readCache

	// lanes carry the tenant scopes (see lane); empty for small pools.
	// released holds, per lane, when it last got a connection back
	// (nanoseconds since start).
	lanes      []*pgxpool.Pool
	released   []atomic.Int64
	stuckAfter time.Duration // Options.LaneStuckAfter

	sandbox *sandbox // the tenants' own pools (SandboxQuery)
}

// laneConns is the size of each lane.
const laneConns = 2

// started is the origin of the lanes' release times.
var started = time.Now()

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
	if opts.SlowQuery > 0 && opts.Log != nil {
		cfg.ConnConfig.Tracer = &slowQueryTracer{threshold: opts.SlowQuery, log: opts.Log}
	}

	db := &DB{lockTimeout: opts.LockTimeout}
	db.feed = newFeed(db)
	db.reads = newReadCache(opts.ReadCacheTTL, 4096, opts.ObserveReads, db.feed)
	if db.lockTimeout <= 0 {
		db.lockTimeout = 5 * time.Second
	}
	if db.stuckAfter = opts.LaneStuckAfter; db.stuckAfter <= 0 {
		db.stuckAfter = 100 * time.Millisecond
	}
	if db.public, err = loadMigrations(opts.PublicMigrations, "migrations/public"); err != nil {
		return nil, err
	}
	core, err := loadMigrations(opts.TenantMigrations, "migrations/tenant")
	if err != nil {
		return nil, err
	}
	db.tenant = []migrationSet{{app: coreApp, migrations: core}}
	for _, app := range opts.MigrationSets {
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
	db.sandbox = newSandbox(cfg, db.pool, opts.Sandbox)
	if cfg.MaxConns >= 2*laneConns {
		n := int(cfg.MaxConns / laneConns)
		db.released = make([]atomic.Int64, n)
		laneCfg := cfg.Copy()
		laneCfg.MaxConns = laneConns
		for range n {
			lane, err := pgxpool.NewWithConfig(ctx, laneCfg)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("connect to database: %w", err)
			}
			db.lanes = append(db.lanes, lane)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.pool.Ping(pingCtx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redactURL(url), err)
	}
	return db, nil
}

// Close tells other processes which tenants this one wrote to, if it has
// not yet, and closes every connection of the pool.
func (db *DB) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	db.feed.publishPending(ctx, slog.Default())
	cancel()
	db.sandbox.close()
	for _, lane := range db.lanes {
		lane.Close()
	}
	db.pool.Close()
}

// lane returns the pool a scope of schema runs on and its index among the
// lanes (-1 for the main pool); acquireLane takes a connection of it. Each
// tenant has a home lane, a small pool of its own among a few, so that a
// tenant's requests meet the same few backends: a PostgreSQL backend
// keeps, per tenant it has served, the tenant's relations, prepared
// statements, the plans of its foreign-key checks and its compiled trigger
// functions, and building those again on every backend costs more than the
// statements themselves (docs/benchmarks.md). So a tenant waits for its home lane, also while
// other lanes have room, unless its lane is stuck: full and without a
// connection given back for Options.LaneStuckAfter, held by long
// transactions. Then it runs on a lane with no scope running at all, if
// there is one. The platform and everything unscoped use the main pool.
func (db *DB) lane(schema string) (pool *pgxpool.Pool, index int) {
	if len(db.lanes) == 0 || schema == "public" {
		return db.pool, -1
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(schema))
	i := int(h.Sum32() % uint32(len(db.lanes)))
	home := db.lanes[i]
	if s := home.Stat(); s.AcquiredConns() < s.MaxConns() ||
		time.Since(started)-time.Duration(db.released[i].Load()) < db.stuckAfter {
		return home, i
	}
	// Look from the next lane on, so that the overflow of different home
	// lanes lands on different lanes.
	for j := 1; j < len(db.lanes); j++ {
		k := (i + j) % len(db.lanes)
		if db.lanes[k].Stat().AcquiredConns() == 0 {
			return db.lanes[k], k
		}
	}
	return home, i
}

// acquireLane takes a connection of the lane a scope of schema runs on;
// release gives it back and notes when, for lane.
func (db *DB) acquireLane(ctx context.Context, schema string) (conn *pgxpool.Conn, release func(), err error) {
	pool, i := db.lane(schema)
	if conn, err = pool.Acquire(ctx); err != nil {
		return nil, nil, translate(fmt.Errorf("acquire: %w", err))
	}
	return conn, func() {
		conn.Release()
		if i >= 0 {
			db.released[i].Store(int64(time.Since(started)))
		}
	}, nil
}

// Pool returns the underlying pool, for benchmarks and tests that measure
// or attack the database directly.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Pools returns the main pool and the lanes, for pool metrics.
func (db *DB) Pools() []*pgxpool.Pool { return append([]*pgxpool.Pool{db.pool}, db.lanes...) }

// TxFunc is the body of a scoped transaction.
type TxFunc func(ctx context.Context, tx pgx.Tx) error

// TxOption is an option of the scoped transaction, the one door to tenant
// data: InTenant, InPlatform and InScope only choose its scope. What
// varies is how the transaction travels, and that is an option of the same
// path, never a door of its own:
//
//   - by default fn decides as it goes: BEGIN and the scope go in one
//     round trip, then each of fn's statements, then the COMMIT;
//   - Pipelined(unit) sends the scope, the unit's queued statements and
//     the commit in one round trip, for a unit of work that does not
//     decide as it goes (fn is nil then);
//   - AsyncCommit does not wait for the commit's WAL flush, where a lost
//     commit is harmless; Setting sets another transaction-local setting;
//   - Quiet keeps a write that changes nothing cached off the change feed.
//
// Whatever the options, the transaction runs as the scope's role with
// only the scope's schema on its search_path, and nothing of the scope
// outlives it on the pooled connection.
type TxOption func(*txConfig)

// txConfig is what the options of a scoped transaction chose.
type txConfig struct {
	unit     *pgx.Batch
	settings []setting
	quiet    bool  // Quiet: a write is not announced to the caches
	err      error // an option that was refused
}

// setting is a transaction-local server setting (set_config(..., true)).
type setting struct{ name, value string }

// Pipelined makes the transaction the statements queued in unit, sent
// with the scope and the commit in one round trip instead of one for the
// BEGIN, one per statement and one for the COMMIT. The transaction commits
// when the last statement succeeds and rolls back when one fails; the
// first error, a statement's or a callback's, is returned. Each queued
// statement's callback (QueuedQuery.Exec, Query or QueryRow) reads its
// results; the statements have committed by the time the callbacks run, so
// a callback's error does not undo them, and a callback is not where a
// permission is checked: fold the check into the statements (an INSERT
// ... SELECT ... WHERE permitted, or a statement that fails and so aborts
// the unit). Statements name their tables without a schema, as in fn, and
// may take pgx.NamedArgs.
//
// The commit is sent with the statements, so a unit whose context ends
// after it was sent may still commit, whole: the caller then does not know
// its outcome, as with a COMMIT cancelled in flight.
//
// With Pipelined the TxFunc passed to the door must be nil: the unit is
// the whole transaction. An empty unit runs nothing. Statements are
// prepared per connection inside the scope they serve (see scopedTx); a
// statement that fails in a way that may leave those out of step with the
// server costs the connection, which the pool replaces.
func Pipelined(unit *pgx.Batch) TxOption {
	return func(c *txConfig) {
		if unit == nil {
			c.err = errors.New("postgres: Pipelined(nil)")
		}
		c.unit = unit
	}
}

// AsyncCommit has the commit return before its WAL record is flushed
// (synchronous_commit off for this transaction alone). A crash within a
// fraction of a second may then lose a commit the caller was told about,
// though never half of one; use it only where such a loss is harmless
// (a refresh token's rotation: the client signs in again).
func AsyncCommit() TxOption { return Setting("synchronous_commit", "off") }

// Quiet says that the transaction's writes change nothing a cache of the
// tenant's data holds (read pages, permissions), so that committing it
// neither makes the caches forget the tenant nor is announced on the
// change feed. A refresh token's rotation, which updates one session row
// on every refresh, is such a write; without Quiet any statement that may
// write (mayWrite) counts as a change.
func Quiet() TxOption { return func(c *txConfig) { c.quiet = true } }

// settable are the settings Setting may change: none of them widens what
// the scope may reach (role, search_path and the audit's actor are the
// door's alone).
var settable = map[string]bool{
	"synchronous_commit": true, "statement_timeout": true, "lock_timeout": true,
	"idle_in_transaction_session_timeout": true, "work_mem": true,
}

// Setting sets a server setting for the transaction alone, as SET LOCAL
// does, in the same round trip as the scope. Only a few settings may be
// changed this way (synchronous_commit, statement_timeout, lock_timeout,
// idle_in_transaction_session_timeout, work_mem); any other, and a value
// holding a quote, a backslash or a NUL, makes the transaction fail
// before it begins.
func Setting(name, value string) TxOption {
	return func(c *txConfig) {
		if !settable[name] || strings.ContainsAny(value, "'\\\x00") {
			c.err = fmt.Errorf("postgres: setting %q may not be set in a scope", name)
			return
		}
		c.settings = append(c.settings, setting{name, value})
	}
}

// InTenant runs fn in a transaction scoped to the tenant ctx carries: the
// search_path names only the tenant's schema and the transaction runs as
// the tenant's own role (set_config(..., true) is SET LOCAL), so nothing of
// it outlives the transaction on a pooled connection, and a statement that
// names another tenant's schema fails with "permission denied". fn's error,
// or a panic in fn, rolls back. opts choose how the transaction travels
// (Pipelined, AsyncCommit, Setting, Quiet).
func (db *DB) InTenant(ctx context.Context, fn TxFunc, opts ...TxOption) error {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return errors.New("postgres: InTenant called without a tenant in the context")
	}
	return db.inScope(ctx, t.Schema, t.Role, fn, opts)
}

// InPlatform runs fn in a transaction scoped to the platform: search_path
// public, running as the platform role, which may read and write the
// platform tables and no tenant's. opts are InTenant's.
func (db *DB) InPlatform(ctx context.Context, fn TxFunc, opts ...TxOption) error {
	prefix, err := db.rolePrefix(ctx)
	if err != nil {
		return err
	}
	return db.inScope(ctx, "public", prefix+"_platform", fn, opts)
}

// InScope runs fn in the scope ctx addresses: InTenant when ctx carries a
// tenant, InPlatform otherwise. Identity tables have the same shape in
// both, so one piece of SQL serves tenant users and platform admins.
func (db *DB) InScope(ctx context.Context, fn TxFunc, opts ...TxOption) error {
	if taruvi.TenantFromContext(ctx) != nil {
		return db.InTenant(ctx, fn, opts...)
	}
	return db.InPlatform(ctx, fn, opts...)
}

// scopeSQL pins a transaction to a schema and role and records who acts
// and for which request (taruvi.actor_id, taruvi.request_id), for the
// audit-history triggers. scopeArgs gives its arguments; scopeStatement
// adds a transaction's own settings.
const scopeSQL = `SELECT set_config('search_path', $1, true), set_config('role', $2, true),
	set_config('taruvi.actor_id', $3, true), set_config('taruvi.request_id', $4, true)`

// scopeStatement is scopeSQL with settings appended, spelled as literals:
// Setting admits only known names and values without quotes or
// backslashes, so each combination is one statement of its own.
func scopeStatement(settings []setting) string {
	s := scopeSQL
	for _, st := range settings {
		s += ", set_config(" + sqlLiteral(st.name) + ", " + sqlLiteral(st.value) + ", true)"
	}
	return s
}

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

// inScope is the scoped transaction itself, on the lane of schema. Either
// way it travels, a write to a tenant makes the read cache forget the
// tenant's hot reads once it committed.
func (db *DB) inScope(ctx context.Context, schema, role string, fn TxFunc, opts []TxOption) error {
	var c txConfig
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.err != nil:
		return c.err
	case c.unit != nil && fn != nil:
		return errors.New("postgres: a pipelined transaction takes no TxFunc")
	case c.unit == nil && fn == nil:
		return errors.New("postgres: a scoped transaction without work")
	case c.unit != nil && len(c.unit.QueuedQueries) == 0:
		return nil
	}
	conn, release, err := db.acquireLane(ctx, schema)
	if err != nil {
		return err
	}
	defer release()
	var wrote bool
	if c.unit != nil {
		wrote, err = db.pipelined(ctx, conn, schema, role, c.settings, c.unit)
	} else {
		wrote, err = db.stepwise(ctx, conn, schema, role, c.settings, fn)
	}
	if wrote && !c.quiet && schema != "public" {
		db.feed.wrote(taruvi.ScopeKeyFromContext(ctx))
	}
	return err
}

// stepwise runs fn in a transaction whose BEGIN and scope go together, in
// one round trip: the values are spelled into the statement as literals,
// which is safe because none can hold a quote or a backslash (schema and
// role names are validated, the actor is digits, the request id is
// filtered to [A-Za-z0-9._:-], settings are checked by Setting). It
// reports whether a statement may have written and the transaction
// committed.
func (db *DB) stepwise(ctx context.Context, conn *pgxpool.Conn, schema, role string, settings []setting, fn TxFunc) (bool, error) {
	args := scopeArgs(ctx, schema, role)
	begin := "BEGIN; " + scopeStatement(settings)
	for i := len(args); i >= 1; i-- {
		begin = strings.ReplaceAll(begin, "$"+strconv.Itoa(i), sqlLiteral(args[i-1].(string)))
	}
	stx := scopedTx{tag: "\n-- scope " + schema, wrote: new(bool)}
	err := db.inTxWith(ctx, conn, pgx.TxOptions{BeginQuery: begin}, func(ctx context.Context, tx pgx.Tx) error {
		stx.Tx = tx
		return fn(ctx, stx)
	})
	return err == nil && *stx.wrote, err
}

// scopedTx tags every statement of a scope with the scope's schema, so
// that on each pooled connection every scope gets prepared statements of
// its own. PostgreSQL remembers the search_path a statement was planned
// under and plans it again when it runs under another one; with requests
// of many tenants sharing a connection, that re-planning cost several times
// what the queries themselves cost (docs/benchmarks.md). The connection's
// statement cache is bounded, so tenants beyond it only fall back to
// planning again.
//
// It also notes whether a statement may have written (wrote), so that the
// read cache forgets the tenant's hot reads once the scope commits.
type scopedTx struct {
	pgx.Tx
	tag   string
	wrote *bool
}

// sql returns statement tagged, noting a write.
func (t scopedTx) sql(statement string) string {
	if !*t.wrote && mayWrite(statement) {
		*t.wrote = true
	}
	return statement + t.tag
}

func (t scopedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, t.sql(sql), args...)
}

func (t scopedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, t.sql(sql), args...)
}

func (t scopedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, t.sql(sql), args...)
}

func (t scopedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		q.SQL = t.sql(q.SQL)
	}
	return t.Tx.SendBatch(ctx, b)
}

func (t scopedTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.Tx.Prepare(ctx, name, t.sql(sql))
}

func (t scopedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	*t.wrote = true
	return t.Tx.CopyFrom(ctx, table, columns, src)
}

// Begin starts a savepoint whose statements are tagged the same way.
func (t scopedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return scopedTx{Tx: tx, tag: t.tag, wrote: t.wrote}, nil
}

// mayWrite reports whether statement contains a word that writes (INSERT,
// UPDATE, DELETE, MERGE, TRUNCATE, in any case). It errs on the side of
// yes ("FOR UPDATE" counts), which costs only a forgotten cache entry.
func mayWrite(statement string) bool {
	// Word by word without splitting: it runs for every statement.
	start := -1
	for i := 0; i <= len(statement); i++ {
		if i < len(statement) && isASCIILetter(statement[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 5 && i-start <= 8 {
			w := statement[start:i]
			for _, k := range [...]string{"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE"} {
				if strings.EqualFold(w, k) {
					return true
				}
			}
		}
		start = -1
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// inTx runs fn in a plain transaction as the connecting user. Rollback runs
// on a context of its own so that a cancelled request still returns a clean
// connection to the pool (or, if even that fails, pgx closes it).
func (db *DB) inTx(ctx context.Context, fn TxFunc) error {
	return db.inTxWith(ctx, db.pool, pgx.TxOptions{}, fn)
}

// beginner is what inTxWith begins on: a pool, or a connection taken from one.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

func (db *DB) inTxWith(ctx context.Context, on beginner, opts pgx.TxOptions, fn TxFunc) (err error) {
	tx, err := on.BeginTx(ctx, opts)
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
