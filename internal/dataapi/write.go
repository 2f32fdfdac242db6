package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/dataschema"
	"taruvi/internal/postgres"
)

// maxBulkRows bounds the rows of one write.
const maxBulkRows = 10_000

// record is one row of a write's body, validated: the columns it sets, in
// the table's order, and the JSON of each value as the row's record holds
// it.
type record struct {
	cols []*column
	vals map[string]json.RawMessage
}

// signature names the set of columns a record sets, so that records
// setting the same ones share a statement.
func (r *record) signature() string {
	names := make([]string, len(r.cols))
	for i, c := range r.cols {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

// json is the record as the JSON object jsonb_to_recordset reads.
func (r *record) json() json.RawMessage {
	names := make([]string, len(r.cols))
	vals := make([]json.RawMessage, len(r.cols))
	for i, c := range r.cols {
		names[i], vals[i] = c.Name, r.vals[c.Name]
	}
	return objectOf(names, vals)
}

// parseRecord validates one object of a body against t. creating checks
// required fields; a field's error names it (prefixed with the row's index
// in a bulk write).
func parseRecord(t *table, raw json.RawMessage, creating bool, prefix string) (*record, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fieldError(strings.TrimSuffix(prefix, "."), "Want a JSON object.")
	}
	bad := map[string]string{}
	r := &record{vals: map[string]json.RawMessage{}}
	for name := range m {
		if t.byName[name] == nil {
			bad[prefix+name] = "Unknown field."
		}
	}
	for _, c := range t.cols {
		v, ok := m[c.Name]
		if !ok {
			if creating && c.Constraints.Required && len(c.Default) == 0 && c != t.key {
				bad[prefix+c.Name] = "This field is required."
			}
			continue
		}
		val, msg := c.parseJSON(v)
		if msg != "" {
			bad[prefix+c.Name] = msg
			continue
		}
		r.cols = append(r.cols, c)
		r.vals[c.Name] = val
	}
	if len(bad) > 0 {
		return nil, invalidFields(bad)
	}
	return r, nil
}

// invalidFields is EINVALID with the messages of each field, naming them.
func invalidFields(bad map[string]string) error {
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	msg := "Invalid " + strings.Join(names, ", ") + ": " + bad[names[0]]
	return &taruvi.Error{Code: taruvi.EINVALID, Message: msg, Fields: bad}
}

// parseBody reads a write's body: one object, or an array of them.
func parseBody(t *table, body []byte, creating bool) (recs []*record, many bool, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false, errBadRequest("The body must be a JSON object or an array of objects.")
	}
	if body[0] != '[' {
		r, err := parseRecord(t, body, creating, "")
		return []*record{r}, false, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, true, errBadRequest("The body must be a JSON object or an array of objects.")
	}
	if len(items) == 0 || len(items) > maxBulkRows {
		return nil, true, taruvi.Errorf(taruvi.EINVALID, "Send 1 to %d rows.", maxBulkRows)
	}
	recs = make([]*record, len(items))
	for i, it := range items {
		if recs[i], err = parseRecord(t, it, creating, strconv.Itoa(i)+"."); err != nil {
			return nil, true, err
		}
	}
	return recs, true, nil
}

// runs splits records into runs of consecutive records setting the same
// columns, keeping each record's index, in the order of the records: the
// runs inserted one after the other give generated keys in the order of
// the records, and a write of records that all set the same columns is
// one run.
func runs(recs []*record) [][]int {
	var out [][]int
	last := ""
	for i, r := range recs {
		sig := r.signature()
		if i == 0 || sig != last {
			out = append(out, nil)
			last = sig
		}
		out[len(out)-1] = append(out[len(out)-1], i)
	}
	return out
}

// groups splits records by the columns they set, keeping each record's
// index, in the order of first appearance.
func groups(recs []*record) [][]int {
	var out [][]int
	at := map[string]int{}
	for i, r := range recs {
		sig := r.signature()
		g, ok := at[sig]
		if !ok {
			g = len(out)
			at[sig] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	return out
}

// recordset is the column list of jsonb_to_recordset for cols: x(a text, b bigint).
func recordset(cols []*column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = c.ident + " " + c.sqlType
	}
	return "x(" + strings.Join(defs, ", ") + ")"
}

// jsonArray is the records of idx as one JSON array.
func jsonArray(recs []*record, idx []int) string {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for n, i := range idx {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(recs[i].json())
	}
	buf.WriteByte(']')
	return buf.String()
}

// insert inserts recs (as upsert when conflict names the unique fields)
// and returns the rows in the order of recs. The rows are inserted in the
// order of recs, so generated keys follow it: each run of consecutive
// records setting the same columns is one statement (a field a record
// leaves out takes its column's default, an explicit null is NULL).
func (s *Service) insert(ctx context.Context, t *table, recs []*record, conflict []*column) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(recs))
	all := runs(recs)
	if len(all) == 1 && conflict == nil && len(recs[0].cols) > 0 {
		// One statement whose failures are the database's own: sent with
		// the scope and the commit in one round trip.
		b := &builder{}
		sql := insertSQL(t, recs, all[0], b) + " RETURNING " + rowJSON
		if s.observe != nil {
			s.observe(sql)
		}
		unit := &pgx.Batch{}
		unit.Queue(sql, b.args...).Query(func(rows pgx.Rows) error {
			n := 0
			var row json.RawMessage
			_, err := pgx.ForEachRow(rows, []any{&row}, func() error {
				if n < len(out) {
					out[n] = bytes.Clone(row)
				}
				n++
				return nil
			})
			if err == nil && n != len(out) {
				err = fmt.Errorf("insert returned %d rows of %d", n, len(out))
			}
			return err
		})
		err := s.db.InTenant(ctx, nil, append(timeLimits(), postgres.Pipelined(unit))...)
		if err != nil {
			return nil, translate(err, t)
		}
		return s.shown(ctx, t, out)
	}
	err := s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, idx := range all {
			cols := recs[idx[0]].cols
			b := &builder{}
			var sql string
			if len(cols) == 0 {
				sql = "INSERT INTO " + t.ident + " AS t DEFAULT VALUES RETURNING " + rowJSON
				for _, i := range idx {
					if err := tx.QueryRow(ctx, sql).Scan(&out[i]); err != nil {
						return err
					}
				}
				continue
			}
			sql = insertSQL(t, recs, idx, b)
			if conflict != nil {
				onConflict, err := s.onConflict(ctx, t, cols, conflict, b)
				if err != nil {
					return err
				}
				sql += onConflict
			}
			sql += " RETURNING " + rowJSON
			rows, _ := tx.Query(ctx, sql, b.args...)
			n := 0
			var row json.RawMessage
			_, err := pgx.ForEachRow(rows, []any{&row}, func() error {
				if n < len(idx) {
					out[idx[n]] = bytes.Clone(row)
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n != len(idx) {
				// An upsert whose existing row the policy hides updates nothing.
				return taruvi.Errorf(taruvi.ENOTFOUND, "A row to update was not found.")
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate(err, t)
	}
	return s.shown(ctx, t, out)
}

// shown is what a write answers of rows it wrote: the rows to a caller
// who may read them (taruvi.PermViewData), the key of each to one who may
// only write them.
func (s *Service) shown(ctx context.Context, t *table, rows []json.RawMessage) ([]json.RawMessage, error) {
	switch err := s.authz.Can(ctx, taruvi.PermViewData, taruvi.Object{Type: taruvi.ObjectApp, ID: t.app}); taruvi.ErrorCode(err) {
	case "":
		return rows, nil
	case taruvi.EFORBIDDEN, taruvi.EUNAUTHORIZED:
	default:
		return nil, err
	}
	out := make([]json.RawMessage, len(rows))
	for i, row := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(row, &m); err != nil {
			return nil, fmt.Errorf("a written row: %w", err)
		}
		out[i] = objectOf([]string{t.key.Name}, []json.RawMessage{m[t.key.Name]})
	}
	return out, nil
}

// insertSQL is the INSERT of the records of idx, which set the same
// columns, from one bound JSON array.
func insertSQL(t *table, recs []*record, idx []int, b *builder) string {
	cols := recs[idx[0]].cols
	names := make([]string, len(cols))
	sel := make([]string, len(cols))
	for i, c := range cols {
		names[i], sel[i] = c.ident, "x."+c.ident
	}
	return "INSERT INTO " + t.ident + " AS t (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM jsonb_to_recordset(" + b.Bind(jsonArray(recs, idx)) + "::text::jsonb) AS " + recordset(cols)
}

// onConflict is the ON CONFLICT clause of an upsert on the unique
// columns: every other column the records set is updated, under the row
// policy's update condition.
func (s *Service) onConflict(ctx context.Context, t *table, cols, unique []*column, b *builder) (string, error) {
	target := make([]string, len(unique))
	for i, c := range unique {
		target[i] = c.ident
	}
	var set []string
	for _, c := range cols {
		isUnique := false
		for _, u := range unique {
			isUnique = isUnique || u == c
		}
		if !isUnique {
			set = append(set, c.ident+" = EXCLUDED."+c.ident)
		}
	}
	if len(set) == 0 {
		// Nothing to change: touch the row so that RETURNING has it.
		set = append(set, unique[0].ident+" = EXCLUDED."+unique[0].ident)
	}
	vis, err := s.visible(ctx, t, ActionUpdate, b)
	if err != nil {
		return "", err
	}
	return " ON CONFLICT (" + strings.Join(target, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ") + " WHERE " + vis, nil
}

// update applies recs, each holding the key, and returns the rows in the
// order of recs; a key that names no (visible) row is ENOTFOUND and
// changes nothing.
func (s *Service) update(ctx context.Context, t *table, recs []*record) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(recs))
	seen := map[string]bool{}
	for i, r := range recs {
		k, ok := r.vals[t.key.Name]
		if !ok || string(k) == "null" {
			return nil, fieldError(strconv.Itoa(i)+"."+t.key.Name, "Each row needs its "+t.key.Name+".")
		}
		if seen[string(k)] {
			return nil, fieldError(strconv.Itoa(i)+"."+t.key.Name, "The same row appears twice.")
		}
		seen[string(k)] = true
	}
	err := s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, idx := range groups(recs) {
			cols := recs[idx[0]].cols
			b := &builder{}
			var set []string
			for _, c := range cols {
				if c != t.key {
					set = append(set, c.ident+" = x."+c.ident)
				}
			}
			vis, err := s.visible(ctx, t, ActionUpdate, b)
			if err != nil {
				return err
			}
			where := " WHERE " + vis + " AND " + t.key.expr() + " = x." + t.key.ident
			var sql string
			if len(set) == 0 {
				sql = "SELECT x." + t.key.ident + "::text, " + rowJSON + " FROM " + t.ident + " AS t, jsonb_to_recordset(" +
					b.Bind(jsonArray(recs, idx)) + "::text::jsonb) AS " + recordset(cols) + where
			} else {
				sql = "UPDATE " + t.ident + " AS t SET " + strings.Join(set, ", ") + " FROM jsonb_to_recordset(" +
					b.Bind(jsonArray(recs, idx)) + "::text::jsonb) AS " + recordset(cols) + where +
					" RETURNING x." + t.key.ident + "::text, " + rowJSON
			}
			byKey := map[string]json.RawMessage{}
			rows, _ := tx.Query(ctx, sql, b.args...)
			var key string
			var row json.RawMessage
			if _, err := pgx.ForEachRow(rows, []any{&key, &row}, func() error {
				byKey[key] = bytes.Clone(row)
				return nil
			}); err != nil {
				return err
			}
			for _, i := range idx {
				k, _ := scalarText(recs[i].vals[t.key.Name])
				k = t.key.canonical(k)
				if out[i] = byKey[k]; out[i] == nil {
					return taruvi.Errorf(taruvi.ENOTFOUND, "Record %s not found.", strconv.Quote(k))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate(err, t)
	}
	return s.shown(ctx, t, out)
}

// deleteWhere deletes the visible rows that where selects and returns how
// many.
func (s *Service) deleteWhere(ctx context.Context, t *table, where func(b *builder) string) (int64, error) {
	b := &builder{}
	vis, err := s.visible(ctx, t, ActionDelete, b)
	if err != nil {
		return 0, err
	}
	sql := "DELETE FROM " + t.ident + " AS t WHERE " + vis + " AND " + where(b)
	var n int64
	err = s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, b.args...)
		n = tag.RowsAffected()
		return err
	})
	return n, translate(err, t)
}

// translate turns the database's refusals of a write into errors naming
// the field when the definition knows it: a unique violation is
// ECONFLICT, a missing referenced row, a NULL in a required field or a
// failed check EINVALID, a row still referenced ECONFLICT. A table or
// column that is gone when the statement runs (the definition was read
// before the datatable was dropped or changed) is ENOTFOUND or
// ECONFLICT. Anything else stays internal.
func translate(err error, t *table) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) {
		return err
	}
	field := t.fieldIn(pgErr)
	fields := func(msg string) map[string]string {
		if field == "" {
			return nil
		}
		return map[string]string{field: msg}
	}
	switch pgErr.Code {
	case "42P01": // undefined_table: dropped, or its app deleted, since its definition was read
		return &taruvi.Error{Code: taruvi.ENOTFOUND, Message: "The datatable no longer exists.", Wrapped: err}
	case "42703": // undefined_column: a field removed since the definition was read
		return errChanged(err)
	case "0A000":
		// A prepared statement's table changed under it; the connection
		// that held it is not used again (postgres.cacheUnsure, and pgx
		// forgets a statement that failed).
		if strings.Contains(pgErr.Message, "cached plan must not change result type") {
			return errChanged(err)
		}
	case "XX000":
		if strings.HasPrefix(pgErr.Message, "could not open relation with OID") { // dropped while the statement waited for it
			return &taruvi.Error{Code: taruvi.ENOTFOUND, Message: "The datatable no longer exists.", Wrapped: err}
		}
	case "23505":
		msg := "A row with this value exists already."
		if field != "" {
			msg = "A row with this " + field + " exists already."
		}
		return &taruvi.Error{Code: taruvi.ECONFLICT, Message: msg, Fields: fields("Exists already."), Wrapped: err}
	case "23503":
		if strings.Contains(pgErr.Message, "still referenced") || strings.Contains(pgErr.Detail, "still referenced") {
			return &taruvi.Error{Code: taruvi.ECONFLICT, Message: "The row is referenced by other rows.", Wrapped: err}
		}
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "The referenced row does not exist.", Fields: fields("No such row."), Wrapped: err}
	case "23502":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "A required field is missing.", Fields: fields("This field is required."), Wrapped: err}
	case "23514", "23P01":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "A value breaks a rule of the table.", Fields: fields("Breaks a rule of the table."), Wrapped: err}
	case "54000": // program_limit_exceeded: a value too large for an index or a search vector, or a result for jsonb
		if strings.Contains(pgErr.Message, "jsonb") || strings.Contains(pgErr.Message, "array size exceeds") ||
			strings.Contains(pgErr.Message, "out of memory") {
			return &taruvi.Error{Code: taruvi.EINVALID, Message: "The result is too large; narrow the filters or group the rows.", Wrapped: err}
		}
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "A value is too large to store.", Fields: fields("Too large."), Wrapped: err}
	case "428C9":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "A generated field cannot be written.", Fields: fields("Generated by the database."), Wrapped: err}
	case "42P10":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "unique_fields must name the fields of a unique constraint or index.",
			Fields: map[string]string{"unique_fields": "No unique constraint on these fields."}, Wrapped: err}
	case "21000":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "The same row appears twice in one upsert.", Wrapped: err}
	case "57014":
		return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The request took longer than " + statementTimeout + "; narrow its filters.", Wrapped: err}
	case "55P03", "40P01", "40001":
		return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The database is busy; try again.", Wrapped: err}
	}
	if strings.HasPrefix(pgErr.Code, "22") { // data_exception: a value its column cannot hold
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "A value is not valid for its field.", Fields: fields("Invalid value."), Wrapped: err}
	}
	return err
}

// errChanged is the ECONFLICT of a statement that met a table unlike
// the definition read for it.
func errChanged(err error) error {
	return &taruvi.Error{Code: taruvi.ECONFLICT, Message: "The datatable changed while the request ran; try again.", Wrapped: err}
}

// fieldIn returns the field of t a database error is about, as the
// definition names it; "" when it names none.
func (t *table) fieldIn(e *pgconn.PgError) string {
	if c := t.byName[e.ColumnName]; c != nil {
		return c.Name
	}
	// A constraint the DDL named after its field: <table>_<field>_<kind>.
	if e.ConstraintName != "" && (e.TableName == "" || e.TableName == t.def.Table) {
		for _, c := range t.cols {
			for _, kind := range dataschema.ConstraintKinds {
				if dataschema.ConstraintName(t.def.Table, c.Name, kind) == e.ConstraintName {
					return c.Name
				}
			}
		}
	}
	// "Key (email)=(a@b) already exists."
	if k, ok := strings.CutPrefix(e.Detail, "Key ("); ok {
		if name, _, ok := strings.Cut(k, ")"); ok {
			if c := t.byName[strings.TrimSpace(strings.Split(name, ",")[0])]; c != nil {
				return c.Name
			}
		}
	}
	return ""
}
