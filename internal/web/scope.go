package web

import "context"

// requestScope carries facts found deep in the chain (the tenant) back out
// to the access log.
type requestScope struct {
	tenant string
	userID int64
	route  string // the ServeMux pattern that matched, for metrics and logs
}

type scopeKey struct{}

func withRequestScope(ctx context.Context, s *requestScope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func requestScopeFrom(ctx context.Context) *requestScope {
	s, _ := ctx.Value(scopeKey{}).(*requestScope)
	return s
}
