package postgres_test

import (
	"context"
	"log/slog"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/postgres"
)

// The stores are what the rules in internal/auth read and write through.
var (
	_ auth.Store           = (*postgres.AuthStore)(nil)
	_ auth.PermissionStore = (*postgres.AuthStore)(nil)
	_ auth.KeyStore        = (*postgres.AuthStore)(nil)
	_ auth.UserStore       = (*postgres.Users)(nil)
)

// testAuthz is the authorizer over db, without a cache, as serve wires it.
func testAuthz(db *postgres.DB, log *slog.Logger) *auth.Authz {
	return auth.NewAuthz(postgres.NewAuthStore(db), log, nil)
}

// testUsers is the user service over db with its password rules, as serve
// wires it (no session cache to tell of ended sessions).
func testUsers(db *postgres.DB, authz *auth.Authz) *auth.Users {
	return auth.NewUsers(postgres.NewUsers(db, authz, nil), authz, nil)
}

// operator is a context with the powers of the command line in a scope.
func operator(ctx context.Context) context.Context {
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{Audience: taruvi.AudienceFromContext(ctx), IsOwner: true, IsAdmin: true})
}
