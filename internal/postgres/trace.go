package postgres

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// slowQueryTracer logs every statement slower than threshold with its SQL
// shape: the statement text with whitespace collapsed, never its arguments
// (they may be passwords or personal data), plus the tenant and request id.
type slowQueryTracer struct {
	threshold time.Duration
	log       *slog.Logger
}

type queryStartKey struct{}

type queryStart struct {
	at  time.Time
	sql string
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *slowQueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{at: time.Now(), sql: data.SQL})
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *slowQueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	start, ok := ctx.Value(queryStartKey{}).(queryStart)
	if !ok {
		return
	}
	elapsed := time.Since(start.at)
	if elapsed < t.threshold {
		return
	}
	tenant := ""
	if tn := taruvi.TenantFromContext(ctx); tn != nil {
		tenant = tn.Schema
	}
	attrs := []slog.Attr{slog.String("category", "db"), slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("sql", SQLShape(start.sql)), slog.String("tenant", tenant),
		slog.String("request_id", taruvi.RequestIDFromContext(ctx))}
	if data.Err != nil {
		attrs = append(attrs, slog.String("error", data.Err.Error()))
	}
	t.log.LogAttrs(ctx, slog.LevelWarn, "slow query", attrs...)
}

// SQLShape returns sql on one line with runs of white space collapsed,
// at most 2000 bytes of it.
func SQLShape(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}
