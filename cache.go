package taruvi

import "context"

// Cache remembers values for the tenant the context carries (or the
// platform, when it carries none). The tenant is part of every key by
// construction: callers name only a namespace and a key within it, so an
// entry written for one tenant can never be read for another.
type Cache interface {
	// Get returns the value of key in namespace, if remembered.
	Get(ctx context.Context, namespace, key string) ([]byte, bool)
	// Set remembers value for key in namespace. Nothing is written when
	// namespace was invalidated since the caller's Generation (see below);
	// the caller passes the generation it read before loading value.
	Set(ctx context.Context, namespace, key string, value []byte, generation string)
	// Generation returns namespace's current generation, to read before
	// loading a value from the database and to hand back to Set.
	Generation(ctx context.Context, namespace string) string
	// Invalidate forgets every entry of namespace for the context's
	// tenant, on every replica (within the notification's latency).
	Invalidate(ctx context.Context, namespace string)
}
