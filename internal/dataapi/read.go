package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Actions a RowPolicy is asked about.
const (
	ActionRead   = "read"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// visible is the row policy's condition for action on rows of t aliased
// t, or TRUE.
func (s *Service) visible(ctx context.Context, t *table, action string, b *builder) (string, error) {
	if s.policy == nil {
		return "TRUE", nil
	}
	cond, err := s.policy(ctx, t.def, action, b)
	if err != nil || strings.TrimSpace(cond) == "" {
		return "TRUE", err
	}
	return "(" + cond + ")", nil
}

// page is what a list read: rows (or aggregate rows) and the total.
type page struct {
	rows  []json.RawMessage
	total int
}

// list runs a list query.
func (s *Service) list(ctx context.Context, t *table, q *listQuery) (*page, error) {
	b := &builder{}
	vis, err := s.visible(ctx, t, ActionRead, b)
	if err != nil {
		return nil, err
	}
	where := " WHERE " + vis + " AND " + q.where.sql(b)
	rank := ""
	if q.search != "" {
		tsq := "websearch_to_tsquery('" + SearchConfig + "', " + b.Bind(q.search) + "::text)"
		where += " AND t.search_vector @@ " + tsq
		rank = "ts_rank(t.search_vector, " + tsq + ")"
	}
	from := " FROM " + t.ident + " AS t"
	if q.agg != nil {
		return s.aggregateList(ctx, t, q, b, from+where)
	}
	countSQL := "SELECT count(*)" + from + where
	if q.count {
		p := &page{}
		err := s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, countSQL, b.args...).Scan(&p.total)
		})
		return p, translate(err, t)
	}
	sql := "SELECT (" + countSQL + "), " + rowJSON + from + where + orderSQL(q, t, b, rank) +
		" LIMIT " + strconv.Itoa(q.pageSize) + " OFFSET " + strconv.Itoa((q.page-1)*q.pageSize)
	p := &page{}
	err = s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, sql, b.args...)
		var total int
		var row json.RawMessage
		_, err := pgx.ForEachRow(rows, []any{&total, &row}, func() error {
			p.total = total
			p.rows = append(p.rows, bytes.Clone(row))
			return nil
		})
		if err != nil {
			return err
		}
		if len(p.rows) == 0 && q.page > 1 {
			// A page past the end: the total still counts.
			if err := tx.QueryRow(ctx, countSQL, b.args...).Scan(&p.total); err != nil {
				return err
			}
		}
		return s.populate(ctx, tx, q.populate, p.rows)
	})
	if err != nil {
		return nil, translate(err, t)
	}
	return p, nil
}

// aggregateList runs an aggregating list: one row per group with the
// group fields and the aggregates under their names.
func (s *Service) aggregateList(ctx context.Context, t *table, q *listQuery, b *builder, fromWhere string) (*page, error) {
	a := q.agg
	var cols, group []string
	for _, c := range a.groupBy {
		cols = append(cols, "to_jsonb("+c.expr()+")")
		group = append(group, c.expr())
	}
	for _, ag := range a.aggs {
		cols = append(cols, "to_jsonb("+ag.sql(b)+")")
	}
	body := fromWhere
	if len(group) > 0 {
		body += " GROUP BY " + strings.Join(group, ", ")
	}
	if a.having != nil {
		body += " HAVING " + a.having.sql(b)
	}
	sql := "SELECT count(*) OVER (), " + strings.Join(cols, ", ") + body + orderSQL(q, t, b, "")
	if !q.count {
		sql += " LIMIT " + strconv.Itoa(q.pageSize) + " OFFSET " + strconv.Itoa((q.page-1)*q.pageSize)
	}
	names := make([]string, 0, len(cols))
	for _, c := range a.groupBy {
		names = append(names, c.Name)
	}
	for _, ag := range a.aggs {
		names = append(names, ag.name)
	}
	p := &page{}
	err := s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, b.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, len(names)+1)
			raws := make([]json.RawMessage, len(names))
			vals[0] = &p.total
			for i := range raws {
				vals[i+1] = &raws[i]
			}
			if err := rows.Scan(vals...); err != nil {
				return err
			}
			p.rows = append(p.rows, objectOf(names, raws))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(p.rows) == 0 && q.page > 1 {
			return tx.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1"+body+") g", b.args...).Scan(&p.total)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err, t)
	}
	if q.count {
		p.rows = nil
	}
	return p, nil
}

// objectOf writes a JSON object of names and values, in order.
func objectOf(names []string, vals []json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		buf.Write(k)
		buf.WriteByte(':')
		if vals[i] == nil {
			buf.WriteString("null")
		} else {
			buf.Write(vals[i])
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// get reads the row whose key is id.
func (s *Service) get(ctx context.Context, t *table, id string, pop *populateTree) (json.RawMessage, error) {
	b := &builder{}
	key, err := keyValue(t, id)
	if err != nil {
		return nil, err
	}
	vis, err := s.visible(ctx, t, ActionRead, b)
	if err != nil {
		return nil, err
	}
	sql := "SELECT " + rowJSON + " FROM " + t.ident + " AS t WHERE " + vis + " AND " + t.key.expr() + " = " + t.key.cast(b.Bind(key))
	var rows []json.RawMessage
	err = s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var row json.RawMessage
		if err := tx.QueryRow(ctx, sql, b.args...).Scan(&row); err != nil {
			return err
		}
		rows = append(rows, row)
		return s.populate(ctx, tx, pop, rows)
	})
	if err != nil {
		return nil, translate(err, t)
	}
	return rows[0], nil
}

// keyValue reads a record id of a path or a list for the table's key: a
// value of the wrong type names no row, so it is a 404.
func keyValue(t *table, id string) (string, error) {
	v, msg := t.key.parseText(id)
	if msg != "" || id == "" {
		return "", taruvi.Errorf(taruvi.ENOTFOUND, "Record %s not found.", strconv.Quote(id))
	}
	return v, nil
}

// project keeps the members of each row that fields names.
func project(rows []json.RawMessage, fields []*column) ([]json.RawMessage, error) {
	if len(fields) == 0 {
		return rows, nil
	}
	out := make([]json.RawMessage, len(rows))
	for i, row := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(row, &m); err != nil {
			return nil, fmt.Errorf("project row: %w", err)
		}
		names := make([]string, len(fields))
		vals := make([]json.RawMessage, len(fields))
		for j, c := range fields {
			names[j], vals[j] = c.Name, m[c.Name]
		}
		out[i] = objectOf(names, vals)
	}
	return out, nil
}
