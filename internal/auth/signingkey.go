package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// KeyStore stores the installation's sealed JWT signing keys
// (postgres.AuthStore).
type KeyStore interface {
	// SigningKeys returns the stored keys, newest first.
	SigningKeys(ctx context.Context) ([]taruvi.SigningKey, error)
	// AddSigningKey stores k and, when retireBefore is not zero, deletes
	// the keys whose successor was created before it.
	AddSigningKey(ctx context.Context, k taruvi.SigningKey, retireBefore time.Time) error
}

// SigningKeys returns the installation's JWT signing keys, newest first,
// generating and storing the first one when there is none. Private keys are
// stored sealed with sealer (TARUVI_SECRET_KEY).
func SigningKeys(ctx context.Context, store KeyStore, sealer *token.Sealer) ([]token.Key, error) {
	keys, err := openSigningKeys(ctx, store, sealer)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	if _, err := RotateSigningKey(ctx, store, sealer, 0); err != nil {
		return nil, err
	}
	return openSigningKeys(ctx, store, sealer)
}

func openSigningKeys(ctx context.Context, store KeyStore, sealer *token.Sealer) ([]token.Key, error) {
	stored, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]token.Key, 0, len(stored))
	for _, s := range stored {
		priv, err := sealer.Open(s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("open signing key %s (was TARUVI_SECRET_KEY changed?): %w", s.ID, err)
		}
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("signing key %s: want %d bytes, got %d", s.ID, ed25519.PrivateKeySize, len(priv))
		}
		pk := ed25519.PrivateKey(priv)
		keys = append(keys, token.Key{ID: s.ID, Private: pk, Public: pk.Public().(ed25519.PublicKey), CreatedAt: s.CreatedAt})
	}
	return keys, nil
}

// RotateSigningKey adds a new signing key, which signs from now on, and
// deletes keys retired longer ago than retain (set it to the access-token
// lifetime or more, so every token still valid keeps its key). It
// refuses when sealer cannot open the stored keys: a key sealed with
// another secret than the servers' would stop them signing.
func RotateSigningKey(ctx context.Context, store KeyStore, sealer *token.Sealer, retain time.Duration) (token.Key, error) {
	if _, err := openSigningKeys(ctx, store, sealer); err != nil {
		return token.Key{}, err
	}
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		return token.Key{}, err
	}
	sealed, err := sealer.Seal(key.Private)
	if err != nil {
		return token.Key{}, err
	}
	var retireBefore time.Time
	if retain > 0 {
		retireBefore = time.Now().Add(-retain)
	}
	err = store.AddSigningKey(ctx, taruvi.SigningKey{ID: key.ID, Sealed: sealed, Public: key.Public, CreatedAt: key.CreatedAt}, retireBefore)
	if err != nil {
		return token.Key{}, err
	}
	return key, nil
}
