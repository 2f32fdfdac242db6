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
	p := &page{}
	if q.count {
		return p, translate(s.readOne(ctx, countSQL, b.args, &p.total), t)
	}
	actions, err := s.allowedActionsSQL(ctx, t, q.actions, b)
	if err != nil {
		return nil, err
	}
	// The total and the page as one JSON array, in the page's order (an
	// aggregate reads a sorted subquery in its order).
	sql := "SELECT (" + countSQL + "), coalesce((SELECT jsonb_agg(p.r) FROM (SELECT " + rowJSON + actions + " AS r" + from + where +
		orderSQL(q, t, b, rank) + limitSQL(q, b) + ") p), '[]')"
	var rows json.RawMessage
	if q.populate == nil {
		// One statement, sent with the scope and the commit in one round trip.
		err = s.readOne(ctx, sql, b.args, &p.total, &rows)
	} else {
		// Populate decides as it goes: the page, then what it references,
		// in one transaction.
		err = s.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, sql, b.args...).Scan(&p.total, &rows); err != nil {
				return err
			}
			if err := json.Unmarshal(rows, &p.rows); err != nil {
				return fmt.Errorf("read a page: %w", err)
			}
			return s.populate(ctx, tx, q.populate, p.rows)
		})
	}
	if err != nil {
		return nil, translate(err, t)
	}
	if q.populate == nil {
		if err := json.Unmarshal(rows, &p.rows); err != nil {
			return nil, fmt.Errorf("read a page: %w", err)
		}
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
	// The groups without the page: every value bound so far, and only those.
	groupsSQL, groupsArgs := "SELECT count(*) FROM (SELECT "+strings.Join(cols, ", ")+body+") g", b.args[:len(b.args):len(b.args)]
	p := &page{}
	if q.count {
		// Counting groups counts them in the database, without reading one.
		return p, translate(s.readOne(ctx, groupsSQL, groupsArgs, &p.total), t)
	}
	sql := "SELECT count(*) OVER (), " + strings.Join(cols, ", ") + body + orderSQL(q, t, b, "") + limitSQL(q, b)
	names := make([]string, 0, len(cols))
	for _, c := range a.groupBy {
		names = append(names, c.Name)
	}
	for _, ag := range a.aggs {
		names = append(names, ag.name)
	}
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
			return tx.QueryRow(ctx, groupsSQL, groupsArgs...).Scan(&p.total)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err, t)
	}
	return p, nil
}

// limitSQL is the page's LIMIT and OFFSET, bound, so that every page of
// a query is one prepared statement.
func limitSQL(q *listQuery, b *builder) string {
	return " LIMIT " + b.Bind(int64(q.pageSize)) + "::bigint OFFSET " + b.Bind(int64((q.page-1)*q.pageSize)) + "::bigint"
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
func (s *Service) get(ctx context.Context, t *table, id string, pop *populateTree, actions []string) (json.RawMessage, error) {
	b := &builder{}
	key, err := keyValue(t, id)
	if err != nil {
		return nil, err
	}
	vis, err := s.visible(ctx, t, ActionRead, b)
	if err != nil {
		return nil, err
	}
	extra, err := s.allowedActionsSQL(ctx, t, actions, b)
	if err != nil {
		return nil, err
	}
	sql := "SELECT " + rowJSON + extra + " FROM " + t.ident + " AS t WHERE " + vis + " AND " + t.key.expr() + " = " + t.key.cast(b.Bind(key))
	if pop == nil {
		var row json.RawMessage
		if err := s.readOne(ctx, sql, b.args, &row); err != nil {
			return nil, translate(err, t)
		}
		return row, nil
	}
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
	return t.key.canonical(v), nil
}

// canonical is a key's value as text the way PostgreSQL writes it back:
// a uuid in lower case with its dashes (0123456789abcdef0123456789abcdef
// is 01234567-89ab-cdef-0123-456789abcdef); any other value unchanged.
func (c *column) canonical(v string) string {
	if c.Type != taruvi.FieldUUID {
		return v
	}
	h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), "-", ""))
	if len(h) != 32 {
		return v
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// project keeps the members of each row that fields names, and its
// _allowed_actions.
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
		if v, ok := m["_allowed_actions"]; ok {
			names, vals = append(names, "_allowed_actions"), append(vals, v)
		}
		out[i] = objectOf(names, vals)
	}
	return out, nil
}
