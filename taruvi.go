// Package taruvi holds the vocabulary of the Taruvi platform: tenants and
// their domains, the error codes every surface speaks, and the context
// helpers that carry the tenant through a request or job.
//
// It imports the standard library only. Adapters (internal/postgres, ...)
// implement the interfaces declared here and transports (internal/web, ...)
// consume them; only cmd/taruvi wires the two together.
package taruvi

// Version is the release of this build, set at link time with
// -ldflags "-X taruvi.Version=v1.2.3". Development builds say "dev".
var Version = "dev"
