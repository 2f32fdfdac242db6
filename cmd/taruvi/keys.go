package main

import (
	"context"
	"fmt"
	"time"

	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/token"
)

func runKeys(ctx context.Context, e env) error {
	if len(e.args) != 1 || e.args[0] != "rotate" {
		return usageError("usage: taruvi keys rotate")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.JWTSigningKey != "" {
		return usageError("TARUVI_JWT_SIGNING_KEY is set: the signing key comes from configuration, rotate it there")
	}
	if e, err = withRunningDevSecret(e, cfg); err != nil {
		return err
	}
	if cfg, err = loadConfig(e); err != nil {
		return err
	}
	if err := checkSecretKey(cfg); err != nil {
		return err
	}
	sealer, err := token.NewSealer(cfg.SecretKey)
	if err != nil {
		return err
	}
	return withTenants(ctx, e, func(db *postgres.DB, _ *postgres.Tenants) error {
		// Keys retired for longer than an access token lives sign nothing
		// that is still valid.
		key, err := auth.RotateSigningKey(ctx, postgres.NewAuthStore(db), sealer, cfg.AccessTokenTTL+time.Minute)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new signing key %s signs from now on (every replica within a minute); older keys verify until their tokens expire\n", key.ID)
		return nil
	})
}
