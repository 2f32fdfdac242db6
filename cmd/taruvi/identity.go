package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
	"taruvi/internal/redis"
	"taruvi/internal/token"
)

// Login throttling: failures allowed per account and per client address
// within the window before further attempts get 429.
const (
	accountFailures = 10
	addressFailures = 100
	failureWindow   = 15 * time.Minute
)

// identity is the wired authentication and authorization stack.
type identity struct {
	keys   *token.KeySet
	reload func(context.Context) error
	auth   *auth.Service
	authz  *auth.Authz
	users  *auth.Users
}

// newIdentity builds the identity services, every part given what it
// needs before anything runs; shared (nil without Redis) makes the login
// throttles count across replicas, and cache (nil: none) remembers
// permission answers until their tenant is written to (the caller forgets
// auth.AuthzNamespace on every write the change feed reports).
func newIdentity(ctx context.Context, cfg config.Config, db *postgres.DB, shared *redis.Client, cache taruvi.Cache, log *slog.Logger) (*identity, error) {
	if err := checkSecretKey(cfg); err != nil {
		return nil, err
	}
	sealer, err := token.NewSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	id := &identity{keys: token.NewKeySet()}
	store := postgres.NewAuthStore(db)
	if cfg.JWTSigningKey != "" {
		key, err := parseSigningKey(cfg.JWTSigningKey)
		if err != nil {
			return nil, fmt.Errorf("TARUVI_JWT_SIGNING_KEY: %w", err)
		}
		id.keys.Replace([]token.Key{key})
		id.reload = func(context.Context) error { return nil }
	} else {
		id.reload = func(ctx context.Context) error {
			keys, err := auth.SigningKeys(ctx, store, sealer)
			if err != nil {
				return err
			}
			id.keys.Replace(keys)
			return nil
		}
		if err := id.reload(ctx); err != nil {
			return nil, err
		}
	}
	// One hasher bounds every password hash of the process: sign-ins,
	// password changes and new users.
	hasher := token.NewHasher(token.HasherOptions{})
	// Security events name their category themselves.
	id.auth = auth.New(store, auth.Options{
		Issuer:     token.NewIssuer(cfg.JWTIssuer, id.keys, id.reload),
		Sealer:     sealer,
		Hasher:     hasher,
		AccessTTL:  cfg.AccessTokenTTL,
		RefreshTTL: cfg.RefreshTokenTTL,
		Accounts:   redis.NewThrottle(shared, "accounts", accountFailures, failureWindow),
		Addresses:  redis.NewThrottle(shared, "addresses", addressFailures, failureWindow),
		Log:        log,
	})
	id.authz = auth.NewAuthz(store, log, cache)
	id.users = auth.NewUsers(postgres.NewUsers(db, id.authz, id.auth.SessionsEnded), id.authz, hasher)
	return id, nil
}

// operatorUsers is the user service and the authorizer of the command
// line, which acts as the operator (never denied, so nothing to log) in a
// process that caches no sessions.
func operatorUsers(db *postgres.DB) (*auth.Users, *auth.Authz) {
	authz := auth.NewAuthz(postgres.NewAuthStore(db), slog.New(slog.DiscardHandler), nil)
	return auth.NewUsers(postgres.NewUsers(db, authz, nil), authz, nil), authz
}

// reloadKeysEvery picks up keys rotated on other replicas, so that they
// start signing with the newest key too.
func (id *identity) reloadKeysEvery(ctx context.Context, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := id.reload(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reload signing keys", "error", err)
			}
		}
	}
}

func parseSigningKey(pemText string) (token.Key, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return token.Key{}, errors.New("not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return token.Key{}, fmt.Errorf("not a PKCS#8 private key: %w", err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return token.Key{}, errors.New("not an Ed25519 key")
	}
	pub := priv.Public().(ed25519.PublicKey)
	return token.Key{ID: token.KeyID(pub), Private: priv, Public: pub}, nil
}

// checkSecretKey fails when TARUVI_SECRET_KEY is unset; serve checks it
// before it connects to anything.
func checkSecretKey(cfg config.Config) error {
	if cfg.SecretKey == "" {
		return errors.New("TARUVI_SECRET_KEY is not set: give it 32 or more random characters (for example the output of `openssl rand -base64 48`) and keep it the same on every replica")
	}
	return nil
}
