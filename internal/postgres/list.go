package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// listClause is the SQL of a list request: WHERE conditions, ORDER BY and
// LIMIT/OFFSET, with their arguments appended after the caller's.
type listClause struct {
	Where string // "true" when nothing filters
	Order string
	Limit string
	Args  []any
}

// buildList turns a validated ListQuery into SQL over columns alias.<field>
// (alias may be empty). Values are always bound arguments; identifiers come
// from spec, never from the request. args are the caller's own arguments,
// numbered before the list's.
func buildList(spec taruvi.ListSpec, q taruvi.ListQuery, alias string, args []any) listClause {
	col := func(name string) string {
		if alias == "" {
			return pgx.Identifier{name}.Sanitize()
		}
		return alias + "." + pgx.Identifier{name}.Sanitize()
	}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var conds []string
	for _, f := range q.Filters {
		c := col(f.Field)
		field, _ := spec.FieldByName(f.Field)
		// The argument's type is spelled out: inferred from an integer
		// column, a bigint value out of its range would fail to encode.
		typed := func(v any) string { return arg(v) + "::" + sqlType(field.Kind) }
		switch f.Op {
		case taruvi.OpEq:
			conds = append(conds, c+" = "+typed(f.Value))
		case taruvi.OpNe:
			conds = append(conds, c+" IS DISTINCT FROM "+typed(f.Value))
		case taruvi.OpGt, taruvi.OpGte, taruvi.OpLt, taruvi.OpLte:
			op := map[string]string{taruvi.OpGt: ">", taruvi.OpGte: ">=", taruvi.OpLt: "<", taruvi.OpLte: "<="}[f.Op]
			conds = append(conds, c+" "+op+" "+typed(f.Value))
		case taruvi.OpIn:
			conds = append(conds, c+" = ANY("+typed(typedSlice(f.Values))+"[])")
		case taruvi.OpContains:
			conds = append(conds, c+" LIKE "+arg("%"+escapeLike(f.Value)+"%")+` ESCAPE '\'`)
		case taruvi.OpIContains:
			conds = append(conds, c+" ILIKE "+arg("%"+escapeLike(f.Value)+"%")+` ESCAPE '\'`)
		case taruvi.OpStartsWith:
			conds = append(conds, c+" LIKE "+arg(escapeLike(f.Value)+"%")+` ESCAPE '\'`)
		case taruvi.OpEndsWith:
			conds = append(conds, c+" LIKE "+arg("%"+escapeLike(f.Value))+` ESCAPE '\'`)
		case taruvi.OpNull:
			if f.Value == true {
				conds = append(conds, c+" IS NULL")
			} else {
				conds = append(conds, c+" IS NOT NULL")
			}
		}
	}
	if q.Search != "" {
		var ors []string
		pattern := ""
		for _, f := range spec.Fields {
			if f.Search {
				if pattern == "" {
					pattern = arg("%" + escapeLike(q.Search) + "%")
				}
				ors = append(ors, col(f.Name)+" ILIKE "+pattern+` ESCAPE '\'`)
			}
		}
		if len(ors) > 0 {
			conds = append(conds, "("+strings.Join(ors, " OR ")+")")
		}
	}
	where := "true"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var keys []string
	seen := map[string]bool{}
	for _, o := range append(append([]taruvi.Order{}, q.Order...), spec.DefaultOrder...) {
		if seen[o.Field] {
			continue
		}
		seen[o.Field] = true
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		// NULLS LAST on a NOT NULL column would only keep PostgreSQL
		// from walking an index in the requested order.
		if field, _ := spec.FieldByName(o.Field); field.Nullable {
			dir += " NULLS LAST"
		}
		keys = append(keys, col(o.Field)+dir)
	}
	if !seen["id"] {
		keys = append(keys, col("id")+" ASC")
	}
	limit := fmt.Sprintf("LIMIT %d OFFSET %d", q.PageSize, q.Offset())
	return listClause{Where: where, Order: strings.Join(keys, ", "), Limit: limit, Args: args}
}

// pageSQL is the statement of one page of table (as alias) under where:
// the page's rows in order, each with the number of matching rows. The
// count is an uncorrelated subquery, which PostgreSQL evaluates once, so
// an index can serve the order and the limit (a count(*) OVER () window
// would read and sort every matching row).
func pageSQL(columns, table, alias, where string, lc listClause) string {
	return `SELECT ` + columns + `, (` + countSQL(table, alias, where) + `) FROM ` + table + ` ` + alias +
		` WHERE ` + where + ` ORDER BY ` + lc.Order + ` ` + lc.Limit
}

// countSQL counts the rows of table (as alias) under where: the total of a
// page statement, and listPage's answer past the last page.
func countSQL(table, alias, where string) string {
	return `SELECT count(*) FROM ` + table + ` ` + alias + ` WHERE ` + where
}

// querier reads: a scoped transaction, or the pool for the platform
// console's reads of public tables.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// listPage runs query, a page statement whose last column is the total,
// and scans its rows with scan. A page past the end has no row to carry
// the total, so countSQL, run with the same arguments, tells it then.
func listPage[T any](ctx context.Context, tx querier, query, countSQL string, args []any, offset int,
	scan func(row pgx.Row, extra ...any) (T, error)) ([]T, int, error) {
	total := 0
	rows, _ := tx.Query(ctx, query, args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row, &total) })
	if err != nil || len(items) > 0 || offset == 0 {
		return items, total, err
	}
	err = tx.QueryRow(ctx, countSQL, args...).Scan(&total)
	return items, total, err
}

// tenantPage is listPage in the tenant's scope, pipelined: the scope, the
// page statement and the commit go in one round trip. Past the last page
// a second unit counts.
func tenantPage[T any](ctx context.Context, db *DB, query, countSQL string, args []any, offset int,
	scan func(row pgx.Row, extra ...any) (T, error)) ([]T, int, error) {
	total := 0
	var items []T
	unit := &pgx.Batch{}
	unit.Queue(query, args...).Query(func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row, &total) })
		return err
	})
	if err := db.InTenant(ctx, nil, Pipelined(unit)); err != nil || len(items) > 0 || offset == 0 {
		return items, total, err
	}
	unit = &pgx.Batch{}
	unit.Queue(countSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&total) })
	err := db.InTenant(ctx, nil, Pipelined(unit))
	return items, total, err
}

// listed is a page of a list and the number of items in all pages.
type listed[T any] struct {
	items []T
	total int
}

// sqlType is the PostgreSQL type of filter values of kind k.
func sqlType(k taruvi.FieldKind) string {
	switch k {
	case taruvi.KindInt:
		return "bigint"
	case taruvi.KindBool:
		return "boolean"
	case taruvi.KindTime:
		return "timestamptz"
	case taruvi.KindDate:
		return "date"
	}
	return "text"
}

func escapeLike(v any) string {
	s, _ := v.(string)
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// typedSlice makes the values of an OpIn one typed slice, which pgx encodes
// as a PostgreSQL array of the column's type.
func typedSlice(values []any) any {
	if len(values) == 0 {
		return []string{}
	}
	switch values[0].(type) {
	case int64:
		out := make([]int64, len(values))
		for i, v := range values {
			out[i] = v.(int64)
		}
		return out
	case bool:
		out := make([]bool, len(values))
		for i, v := range values {
			out[i] = v.(bool)
		}
		return out
	case time.Time:
		out := make([]time.Time, len(values))
		for i, v := range values {
			out[i] = v.(time.Time)
		}
		return out
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i], _ = v.(string)
	}
	return out
}
