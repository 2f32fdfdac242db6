package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"taruvi"
)

// The sandboxed door runs SQL that tenants write (analytics queries,
// their own tables' DDL). It is the platform's second and last door to
// tenant data, beside InTenant, and it trusts the statement with nothing:
//
//   - The statement runs on a connection whose session user is the
//     tenant's own role, logging in with a password derived from
//     Options.Sandbox.Secret (sandboxPassword). The role is given LOGIN
//     and its password when a login is first refused, so tenants
//     provisioned earlier and a rotated secret heal themselves. No RESET
//     ROLE, SET ROLE, set_config('role', ...) or SET SESSION AUTHORIZATION
//     can leave the tenant then: the database's privileges are the
//     guarantee, as in InTenant, and there is no platform role underneath
//     to return to.
//   - Its search_path names only the tenant's schema; public and the
//     other tenants' schemas are closed to the role.
//   - Each call is one transaction (READ ONLY when asked) with its own
//     statement_timeout and lock_timeout, one statement sent with the
//     extended protocol and its arguments bound as parameters, and, for
//     queries, a cursor read up to a row limit, so that no more rows
//     than that cross the wire (a plan that must read everything first,
//     such as a sort, still does, within the timeout).
//   - A guard (checkSandboxSQL) refuses before any round trip what the
//     sandbox never needs: several statements, session and transaction
//     control, roles and grants, functions, COPY, DO, LISTEN and NOTIFY,
//     temporary objects, and functions that signal, read files or run
//     SQL given as text.
//   - Before the statement, in the same round trip as BEGIN, the
//     connection is reset (RESET ALL) and checked: session and current
//     user the tenant's role, search_path its schema; a connection that
//     fails the check is closed and the call retried once on a new one.
//   - Each tenant has a small pool of its own (SandboxOptions), closed
//     when idle, when the tenant is deleted and when the DB closes.
//
// The door has exactly the rights of the tenant's role, which InTenant
// runs as too: everything in the tenant's schema, including the tables the
// platform keeps there (users, sessions, ...), and nothing outside it.
// Which of the tenant's own tables a tenant's users may query is for the
// callers to decide.

// SandboxStatement is one statement a tenant wrote, with its arguments and
// limits.
type SandboxStatement struct {
	SQL string
	// Args are bound to $1, $2, ... as parameters, never spelled into
	// SQL. A string fits a parameter of any type (the server parses it).
	Args []any
	// ReadOnly runs the statement in a READ ONLY transaction: any write
	// fails.
	ReadOnly bool
	// Timeout bounds the statement; 0 means DefaultSandboxTimeout.
	Timeout time.Duration
	// MaxRows is how many rows SandboxQuery returns at most; 0 means
	// DefaultSandboxRows, and more than MaxSandboxRows is cut to it.
	MaxRows int
}

// Defaults and bounds of a SandboxStatement.
const (
	DefaultSandboxTimeout = 10 * time.Second
	DefaultSandboxRows    = 1000
	MaxSandboxRows        = 100_000
	// MaxSandboxBytes bounds the text of the values one query returns;
	// past it the result is truncated.
	MaxSandboxBytes = 16 << 20
	// sandboxLockTimeout bounds lock waits, so that DDL queued behind a
	// long transaction does not hold up the tenant's other statements.
	sandboxLockTimeout = 3 * time.Second
)

// SandboxColumn describes a column of a SandboxResult: its name and its
// PostgreSQL type ("int8", "text", "timestamptz", "numeric", ...).
type SandboxColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SandboxResult is what a sandboxed statement returned. Rows hold JSON-able
// values: nil for NULL, bool, int64 (smallint, integer, bigint, oid),
// float64 (real, double precision; NaN and infinities as strings),
// json.Number (numeric), json.RawMessage (json, jsonb), and PostgreSQL's
// text form as a string for every other type (timestamps, dates, uuids,
// arrays, ...).
type SandboxResult struct {
	Columns []SandboxColumn `json:"columns,omitempty"`
	Rows    [][]any         `json:"rows,omitempty"`
	// Truncated is set when the query had more rows than MaxRows or more
	// text than MaxSandboxBytes; Rows then holds the first ones.
	Truncated bool `json:"truncated,omitempty"`
	// Command is the command tag of SandboxExec ("INSERT 0 3",
	// "CREATE TABLE"); RowsAffected its count.
	Command      string `json:"command,omitempty"`
	RowsAffected int64  `json:"rows_affected"`
}

// ErrSandboxTimeout is in the chain of the error of a sandboxed statement
// cancelled for running past its Timeout.
var ErrSandboxTimeout = errors.New("sandboxed statement timed out")

// SandboxQuery runs a query a tenant wrote (SELECT, WITH, VALUES or TABLE)
// through the sandboxed door, as the tenant ctx carries, and returns at
// most MaxRows rows. A statement the guard refuses, a syntax error, a name
// the tenant may not use and any other fault of the statement is
// EBADREQUEST with PostgreSQL's message; a statement past its timeout is
// EBADREQUEST wrapping ErrSandboxTimeout; a busy database EUNAVAILABLE.
func (db *DB) SandboxQuery(ctx context.Context, st SandboxStatement) (*SandboxResult, error) {
	return db.sandboxRun(ctx, st, false)
}

// SandboxExec runs a statement a tenant wrote through the sandboxed door
// and commits it: a query, a write (INSERT, UPDATE, DELETE, MERGE,
// TRUNCATE) or DDL of the tenant's tables, views, indexes and sequences.
// Rows a statement returns are read and dropped; the result has the
// command tag. Errors are those of SandboxQuery.
func (db *DB) SandboxExec(ctx context.Context, st SandboxStatement) (*SandboxResult, error) {
	return db.sandboxRun(ctx, st, true)
}

// errUnclean is a sandbox connection that failed the check before a
// statement; it has been closed.
var errUnclean = errors.New("postgres: sandbox connection failed its check")

func (db *DB) sandboxRun(ctx context.Context, st SandboxStatement, exec bool) (*SandboxResult, error) {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return nil, errors.New("postgres: sandboxed statement without a tenant in the context")
	}
	if t.Status == taruvi.TenantSuspended {
		return nil, taruvi.Errorf(taruvi.EFORBIDDEN, "The tenant is suspended.")
	}
	sql, err := checkSandboxSQL(st.SQL, exec)
	if err != nil {
		return nil, err
	}
	st.SQL = sql
	if st.Timeout <= 0 {
		st.Timeout = DefaultSandboxTimeout
	}
	if st.MaxRows <= 0 {
		st.MaxRows = DefaultSandboxRows
	}
	st.MaxRows = min(st.MaxRows, MaxSandboxRows)
	res, err := db.sandboxOnce(ctx, t, st, exec)
	if errors.Is(err, errUnclean) {
		// The statement did not run; a new connection will be clean.
		res, err = db.sandboxOnce(ctx, t, st, exec)
	}
	if err != nil {
		return nil, sandboxError(ctx, err, st.Timeout)
	}
	return res, nil
}

// sandboxCursor is the cursor a query is read through.
const sandboxCursor = "taruvi_sandbox"

// sandboxOnce runs st on a connection of the tenant's pool.
func (db *DB) sandboxOnce(ctx context.Context, t *taruvi.Tenant, st SandboxStatement, exec bool) (res *SandboxResult, err error) {
	// The statement_timeout cancels the statement on the server; this
	// deadline only backs it up, should the server not answer.
	ctx, cancel := context.WithTimeout(ctx, st.Timeout+2*time.Second)
	defer cancel()
	conn, release, err := db.sandbox.acquire(ctx, t)
	if err != nil {
		return nil, err
	}
	defer release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: sandboxBegin(t, st)})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, "taruvi sandbox: unclean") {
			_ = conn.Conn().Close(ctx) // the pool drops a closed connection
			return nil, errUnclean
		}
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			rollback(tx)
		}
	}()
	if exec {
		res, err = sandboxExec(ctx, tx, st)
	} else {
		res, err = sandboxQuery(ctx, conn, tx, st)
	}
	if err != nil {
		return nil, err
	}
	if err = tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// sandboxBegin opens a call's transaction, resets the session's settings
// (a statement may have changed them, set_config being refused by the guard
// only) and checks, before anything of the tenant's runs, that the session
// and current user are the tenant's role and the search_path its schema;
// a failed check raises an error, so the statement sent after it never
// runs (the error depends on session_user, so the planner cannot raise it
// early by folding constants). The tenant's role and schema are validated
// names, safe to spell as literals.
func sandboxBegin(t *taruvi.Tenant, st SandboxStatement) string {
	begin := "BEGIN"
	if st.ReadOnly {
		begin = "BEGIN READ ONLY"
	}
	ms := func(d time.Duration) string { return sqlLiteral(strconv.FormatInt(d.Milliseconds(), 10)) }
	return begin + `; RESET ALL; SELECT CASE WHEN session_user = ` + sqlLiteral(t.Role) +
		` AND current_user = session_user AND current_setting('search_path') = ` +
		sqlLiteral(pgx.Identifier{t.Schema}.Sanitize()) +
		` THEN set_config('statement_timeout', ` + ms(st.Timeout) + `, true) || set_config('lock_timeout', ` +
		ms(min(st.Timeout, sandboxLockTimeout)) + `, true) ELSE ('taruvi sandbox: unclean connection of ' || session_user)::int::text END`
}

// withMode puts the extended protocol, describing the statement on every
// call, in front of args: without arguments pgx would otherwise use the
// simple protocol, which runs several statements.
func withMode(args []any) []any {
	return append([]any{pgx.QueryExecModeDescribeExec}, args...)
}

// sandboxExec runs st and returns its command tag.
func sandboxExec(ctx context.Context, tx pgx.Tx, st SandboxStatement) (*SandboxResult, error) {
	rows, err := tx.Query(ctx, st.SQL, withMode(st.Args)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tag := rows.CommandTag()
	return &SandboxResult{Command: tag.String(), RowsAffected: tag.RowsAffected()}, nil
}

// sandboxQuery declares a cursor for st and fetches one row more than
// MaxRows, which tells whether there were more; PostgreSQL produces no
// more rows than fetched. The rows come in text form (simple protocol),
// which sandboxValue turns into JSON-able values.
func sandboxQuery(ctx context.Context, conn *pgxpool.Conn, tx pgx.Tx, st SandboxStatement) (*SandboxResult, error) {
	rows, err := tx.Query(ctx, "DECLARE "+sandboxCursor+" NO SCROLL CURSOR FOR "+st.SQL, withMode(st.Args)...)
	if err != nil {
		return nil, err
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, fmt.Sprintf("FETCH FORWARD %d FROM %s", st.MaxRows+1, sandboxCursor), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &SandboxResult{Rows: [][]any{}}
	fields := rows.FieldDescriptions()
	size := 0
	for rows.Next() {
		raw := rows.RawValues()
		for _, v := range raw {
			size += len(v)
		}
		if len(res.Rows) == st.MaxRows || size > MaxSandboxBytes {
			res.Truncated = true
			break
		}
		row := make([]any, len(raw))
		for i, v := range raw {
			row[i] = sandboxValue(fields[i].DataTypeOID, v)
		}
		res.Rows = append(res.Rows, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res.Columns, err = sandboxColumns(ctx, conn.Conn(), tx, fields)
	return res, err
}

// sandboxColumns names the columns and their types; types pgx does not
// know (arrays of them, enums, domains) are named by the server.
func sandboxColumns(ctx context.Context, conn *pgx.Conn, tx pgx.Tx, fields []pgconn.FieldDescription) ([]SandboxColumn, error) {
	cols := make([]SandboxColumn, len(fields))
	var unknown []uint32
	for i, f := range fields {
		cols[i].Name = f.Name
		if typ, ok := conn.TypeMap().TypeForOID(f.DataTypeOID); ok {
			cols[i].Type = typ.Name
		} else {
			unknown = append(unknown, f.DataTypeOID)
		}
	}
	if len(unknown) == 0 {
		return cols, nil
	}
	var names []string
	err := tx.QueryRow(ctx, `SELECT array_agg(format_type(o, NULL) ORDER BY n) FROM unnest($1::oid[]) WITH ORDINALITY u(o, n)`,
		unknown).Scan(&names)
	if err != nil {
		return nil, fmt.Errorf("name column types: %w", err)
	}
	for i := range cols {
		if cols[i].Type == "" && len(names) > 0 {
			cols[i].Type, names = names[0], names[1:]
		}
	}
	return cols, nil
}

// sandboxValue turns a value in PostgreSQL's text form into a JSON-able
// one (see SandboxResult).
func sandboxValue(oid uint32, text []byte) any {
	if text == nil {
		return nil
	}
	s := string(text)
	switch oid {
	case 16: // bool
		return s == "t"
	case 20, 21, 23, 26: // int8, int2, int4, oid
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	case 700, 701: // float4, float8
		if f, err := strconv.ParseFloat(s, 64); err == nil && s != "NaN" && !strings.HasSuffix(s, "Infinity") {
			return f
		}
	case 1700: // numeric
		if s != "NaN" && !strings.HasSuffix(s, "Infinity") {
			return json.Number(s)
		}
	case 114, 3802: // json, jsonb
		return json.RawMessage(s)
	}
	return s
}

// sandboxError turns the error of a sandboxed statement into what the
// tenant may see: the statement's faults are EBADREQUEST with
// PostgreSQL's message, a timeout wraps ErrSandboxTimeout, the rest stays
// an internal error.
func sandboxError(ctx context.Context, err error, timeout time.Duration) error {
	var pgErr *pgconn.PgError
	var tErr *taruvi.Error
	timedOut := &taruvi.Error{Code: taruvi.EBADREQUEST, Wrapped: fmt.Errorf("%w: %w", ErrSandboxTimeout, err),
		Message: fmt.Sprintf("The statement ran longer than its %s limit and was cancelled.", timeout)}
	switch {
	case errors.As(err, &tErr):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("sandboxed statement: %w", ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return timedOut
	case !errors.As(err, &pgErr):
		if errors.Is(err, errUnclean) || isConnError(err) {
			return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The database is busy; try again.", Wrapped: err}
		}
		// pgx refuses arguments that do not fit the placeholders before
		// sending them.
		if strings.Contains(err.Error(), "argument") || strings.Contains(err.Error(), "encode") {
			return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The arguments do not fit the statement: " + err.Error(), Wrapped: err}
		}
		return err
	case pgErr.Code == "57014":
		return timedOut
	case pgErr.Code == "55P03", pgErr.Code == "40001", pgErr.Code == "40P01":
		return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The database is busy (" + pgErr.Message + "); try again.", Wrapped: err}
	case pgErr.Code == "23505":
		return &taruvi.Error{Code: taruvi.ECONFLICT, Message: sandboxMessage(pgErr), Wrapped: err}
	}
	switch pgErr.Code[:2] {
	case "0A", "21", "22", "23", "25", "2B", "34", "3F", "42", "44", "53", "54", "P0":
		return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: sandboxMessage(pgErr), Wrapped: err}
	}
	return err
}

// sandboxMessage is PostgreSQL's message with its hint.
func sandboxMessage(pgErr *pgconn.PgError) string {
	if pgErr.Hint != "" {
		return pgErr.Message + " (" + pgErr.Hint + ")"
	}
	return pgErr.Message
}

// isConnError reports whether err is the connection failing rather than
// the statement.
func isConnError(err error) bool {
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
