package taruvi

import "context"

type contextKey int

const (
	tenantContextKey contextKey = iota + 1
	requestIDContextKey
)

// NewContextWithTenant returns a copy of ctx that carries t. Every store
// call that touches tenant data reads the tenant from here.
func NewContextWithTenant(ctx context.Context, t *Tenant) context.Context {
	return context.WithValue(ctx, tenantContextKey, t)
}

// TenantFromContext returns the tenant ctx carries, or nil on the platform
// or outside any request.
func TenantFromContext(ctx context.Context) *Tenant {
	t, _ := ctx.Value(tenantContextKey).(*Tenant)
	return t
}

// NewContextWithRequestID returns a copy of ctx that carries the request id.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey, id)
}

// RequestIDFromContext returns the request id ctx carries, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey).(string)
	return id
}
