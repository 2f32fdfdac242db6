package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipelined runs the statements queued in b as one transaction on conn, in
// the scope of schema and role with settings: the scope, the statements
// and the commit go in one pipeline, one round trip (see Pipelined). It
// reports whether a statement may have written.
func (db *DB) pipelined(ctx context.Context, conn *pgxpool.Conn, schema, role string, settings []setting, b *pgx.Batch) (bool, error) {
	scope := scopeStatement(settings)
	wrote, discard, err := runScopedBatch(ctx, conn.Conn(), schema, scope, scopeArgs(ctx, schema, role), b)
	if discard {
		// After a failure the connection's prepared statements may no
		// longer be the server's: a deallocation sent after the failing
		// statement was skipped with it, or a table changed under a
		// statement (0A000). Closing the connection makes the pool
		// replace it; failures are rare, a wrong cache would not be.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Conn().Close(closeCtx)
		cancel()
	}
	return wrote, translate(err)
}

// batchStatements is what a connection has prepared for scoped batches:
// statement descriptions by SQL (tagged with the scope's schema, so each
// scope has its own statement, as in scopedTx). PostgreSQL resolves a
// statement's names when it is prepared, so a statement is prepared inside
// the scope it serves; pgx's statement cache prepares before the scope and
// cannot be used. It is kept in the connection's custom data and dies with
// the connection.
type batchStatements struct {
	byName  map[string]*pgconn.StatementDescription
	evicted []string // names to deallocate once the batch's statements are sent
	eqb     pgx.ExtendedQueryBuilder
}

// maxBatchStatements bounds the statements a connection keeps prepared for
// scoped batches; beyond it, one is deallocated for each new one.
const maxBatchStatements = 512

const batchStatementsKey = "taruvi.batchStatements"

func statementsOf(c *pgx.Conn) *batchStatements {
	data := c.PgConn().CustomData()
	if s, ok := data[batchStatementsKey].(*batchStatements); ok {
		return s
	}
	s := &batchStatements{byName: make(map[string]*pgconn.StatementDescription)}
	data[batchStatementsKey] = s
	return s
}

// scopeParamOIDs are the types of scopeSQL's parameters: text.
var scopeParamOIDs = []uint32{pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID}

// runScopedBatch sends the scope and b's statements in one pipeline on c.
// Statements c has not prepared yet are prepared after the scope, in the
// same transaction, which costs one more round trip the first time. It
// reports whether a statement may have written.
func runScopedBatch(ctx context.Context, c *pgx.Conn, schema, scopeText string, scope []any, b *pgx.Batch) (wrote, discard bool, err error) {
	stmts := statementsOf(c)
	tag := "\n-- scope " + schema
	sds := make([]*pgconn.StatementDescription, len(b.QueuedQueries))
	args := make([][]any, len(b.QueuedQueries))
	var fresh []int // queries whose statement is prepared in this pipeline
	for i, q := range b.QueuedQueries {
		sql := q.SQL
		args[i] = q.Arguments
		if len(args[i]) > 0 {
			if rw, ok := args[i][0].(pgx.QueryRewriter); ok { // pgx.NamedArgs
				if sql, args[i], err = rw.RewriteQuery(ctx, c, sql, args[i][1:]); err != nil {
					return false, false, fmt.Errorf("batch statement %d: %w", i, err)
				}
			}
		}
		wrote = wrote || mayWrite(sql)
		sql += tag
		if sd := stmts.byName[sql]; sd != nil {
			sds[i] = sd
			continue
		}
		if j := slices.IndexFunc(fresh, func(j int) bool { return sds[j].SQL == sql }); j >= 0 {
			sds[i] = sds[fresh[j]]
			continue
		}
		sds[i] = &pgconn.StatementDescription{Name: statementName(sql), SQL: sql}
		fresh = append(fresh, i)
	}

	p := c.PgConn().StartPipeline(ctx)
	res := &pipelineResults{p: p, typeMap: c.TypeMap()}
	scopeValues := make([][]byte, len(scope))
	for i, v := range scope {
		scopeValues[i] = []byte(v.(string))
	}
	scopeName := statementName(scopeText)
	_, scopeKnown := stmts.byName[scopeText]
	if !scopeKnown {
		p.SendPrepare(scopeName, scopeText, scopeParamOIDs)
	}
	p.SendQueryPrepared(scopeName, scopeValues, nil, nil)
	// readScope reads the scope's results, once they were flushed.
	readScope := func() error {
		if !scopeKnown {
			sd, err := res.description()
			if err != nil {
				return err
			}
			stmts.put(scopeText, sd)
		}
		_, err := res.Exec()
		return err
	}
	if len(fresh) > 0 {
		for _, i := range fresh {
			p.SendPrepare(sds[i].Name, sds[i].SQL, nil)
		}
		p.SendFlushRequest()
		if err := p.Flush(); err != nil {
			return false, true, res.abort(err)
		}
		if err := readScope(); err != nil {
			return false, true, res.abort(err)
		}
		for _, i := range fresh {
			sd, err := res.description()
			if err != nil {
				return false, true, res.abort(err)
			}
			sds[i].ParamOIDs, sds[i].Fields = sd.ParamOIDs, sd.Fields
			stmts.put(sds[i].SQL, sds[i])
		}
	}
	for i := range b.QueuedQueries {
		if err := stmts.eqb.Build(c.TypeMap(), sds[i], args[i]); err != nil {
			// The statements before it were sent: closing the pipeline
			// unsynced closes the connection, so they never commit.
			_ = p.Close()
			return false, true, fmt.Errorf("batch statement %d: %w", i, err)
		}
		p.SendQueryStatement(sds[i], stmts.eqb.ParamValues, stmts.eqb.ParamFormats, append([]int16(nil), stmts.eqb.ResultFormats...))
	}
	deallocated := len(stmts.evicted) > 0
	for _, name := range stmts.evicted {
		p.SendDeallocate(name)
	}
	stmts.evicted = stmts.evicted[:0]
	if err := p.Sync(); err != nil {
		return false, true, res.abort(err)
	}
	// From here the transaction has ended: it committed unless a
	// statement failed, so wrote is reported whatever the error.
	if len(fresh) == 0 {
		if err := readScope(); err != nil {
			return wrote, true, res.finish(err)
		}
	}
	for _, q := range b.QueuedQueries {
		if q.Fn != nil {
			err = q.Fn(res)
		} else {
			_, err = res.Exec()
		}
		if err != nil {
			err = res.finish(err)
			return wrote, cacheUnsure(err, res.err != nil, deallocated), err
		}
	}
	err = res.finish(nil)
	return wrote, cacheUnsure(err, err != nil, deallocated), err
}

// cacheUnsure reports whether, after a synced pipeline ended with err,
// the connection's prepared statements may no longer be the ones it
// remembers, so that it must be closed. failed says whether a statement or
// the protocol failed; otherwise err is a callback's own. A statement that
// failed skips the deallocations sent after it, and one that failed with
// 0A000 (a table changed under a cached plan) or 26xxx (no such prepared
// statement) shows the cache wrong. Other failures of a statement (a
// constraint, a permission, a cancellation) leave the connection as good
// as it was: a client's bad input does not cost a new connection.
func cacheUnsure(err error, failed, deallocated bool) bool {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return false
	case !errors.As(err, &pgErr):
		return failed // the protocol failed; a callback's own error leaves all as it was
	}
	return deallocated || pgErr.Code == "0A000" || strings.HasPrefix(pgErr.Code, "26")
}

// put remembers sd, forgetting another statement when the connection has
// as many as it may keep; runScopedBatch deallocates it after sending the
// batch's statements, which may use it.
func (s *batchStatements) put(sql string, sd *pgconn.StatementDescription) {
	if len(s.byName) >= maxBatchStatements {
		for old, osd := range s.byName {
			if !strings.HasPrefix(old, scopeSQL) {
				s.evicted = append(s.evicted, osd.Name)
				delete(s.byName, old)
				break
			}
		}
	}
	s.byName[sql] = sd
}

func statementName(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return "taruvi_" + hex.EncodeToString(sum[:20])
}

// pipelineResults reads a scoped batch's results in order; it is the
// pgx.BatchResults its queued callbacks see.
type pipelineResults struct {
	p       *pgconn.Pipeline
	typeMap *pgtype.Map
	err     error // the first error; the statements after it were skipped
}

// next returns the next statement's result reader.
func (r *pipelineResults) next() (*pgconn.ResultReader, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		res, err := r.p.GetResults()
		if err != nil {
			r.err = err
			return nil, err
		}
		switch res := res.(type) {
		case *pgconn.ResultReader:
			return res, nil
		case nil, *pgconn.PipelineSync:
			r.err = errors.New("postgres: batch results ended early")
			return nil, r.err
		}
		// A deallocation's result: read on.
	}
}

// description returns the description of the next prepared statement.
func (r *pipelineResults) description() (*pgconn.StatementDescription, error) {
	for {
		res, err := r.p.GetResults()
		if err != nil {
			return nil, err
		}
		switch res := res.(type) {
		case *pgconn.StatementDescription:
			return res, nil
		case nil, *pgconn.PipelineSync, *pgconn.ResultReader:
			return nil, fmt.Errorf("postgres: batch: want a statement description, got %T", res)
		}
	}
}

func (r *pipelineResults) Exec() (pgconn.CommandTag, error) {
	rr, err := r.next()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := rr.Close()
	if err != nil {
		r.err = err
	}
	return tag, err
}

func (r *pipelineResults) Query() (pgx.Rows, error) {
	rr, err := r.next()
	if err != nil {
		return errRows{err}, err
	}
	return pgx.RowsFromResultReader(r.typeMap, rr), nil
}

func (r *pipelineResults) QueryRow() pgx.Row {
	rows, err := r.Query()
	return batchRow{rows: rows, err: err}
}

// Tx is nil: a scoped batch begins no transaction of its caller's.
func (r *pipelineResults) Tx() pgx.Tx { return nil }

// Close is a no-op: runScopedBatch reads what is left and ends the
// pipeline.
func (r *pipelineResults) Close() error { return r.err }

// abort ends a pipeline that was not synced yet and has sent no statement
// of the batch (syncing commits the scope alone), returning err.
func (r *pipelineResults) abort(err error) error {
	_ = r.p.Sync()
	_ = r.p.Close()
	return err
}

// finish reads what is left of a synced pipeline and ends it, returning
// err or else the pipeline's first error.
func (r *pipelineResults) finish(err error) error {
	if cerr := r.p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.err
	}
	return err
}

// batchRow is QueryRow's row: the first row of a statement's rows.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errRows is the rows of a statement that failed or was skipped.
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (r errRows) Err() error                                 { return r.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (r errRows) Scan(...any) error                          { return r.err }
func (r errRows) Values() ([]any, error)                     { return nil, r.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }
