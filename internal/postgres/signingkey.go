package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/token"
)

// SigningKeys returns the installation's JWT signing keys, newest first,
// generating and storing the first one when there is none. Private keys are
// stored sealed with sealer (TARUVI_SECRET_KEY).
func (db *DB) SigningKeys(ctx context.Context, sealer *token.Sealer) ([]token.Key, error) {
	keys, err := db.loadSigningKeys(ctx, sealer)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	if _, err := db.RotateSigningKey(ctx, sealer, 0); err != nil {
		return nil, err
	}
	return db.loadSigningKeys(ctx, sealer)
}

func (db *DB) loadSigningKeys(ctx context.Context, sealer *token.Sealer) ([]token.Key, error) {
	rows, _ := db.pool.Query(ctx, `SELECT kid, private_key, created_at FROM public.signing_keys ORDER BY created_at DESC, kid`)
	type row struct {
		kid     string
		sealed  []byte
		created time.Time
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.kid, &x.sealed, &x.created)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]token.Key, 0, len(stored))
	for _, s := range stored {
		priv, err := sealer.Open(s.sealed)
		if err != nil {
			return nil, fmt.Errorf("open signing key %s (was TARUVI_SECRET_KEY changed?): %w", s.kid, err)
		}
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("signing key %s: want %d bytes, got %d", s.kid, ed25519.PrivateKeySize, len(priv))
		}
		pk := ed25519.PrivateKey(priv)
		keys = append(keys, token.Key{ID: s.kid, Private: pk, Public: pk.Public().(ed25519.PublicKey), CreatedAt: s.created})
	}
	return keys, nil
}

// RotateSigningKey adds a new signing key, which signs from now on, and
// deletes keys retired longer ago than retain (set it to the access-token
// lifetime or more, so every token still valid keeps its key). It
// refuses when sealer cannot open the stored keys: a key sealed with
// another secret than the servers' would stop them signing.
func (db *DB) RotateSigningKey(ctx context.Context, sealer *token.Sealer, retain time.Duration) (token.Key, error) {
	if _, err := db.loadSigningKeys(ctx, sealer); err != nil {
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
	err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO public.signing_keys (kid, private_key, public_key, created_at) VALUES ($1, $2, $3, $4)`,
			key.ID, sealed, []byte(key.Public), key.CreatedAt); err != nil {
			return err
		}
		if retain <= 0 {
			return nil
		}
		// A key retires when its successor is created.
		_, err := tx.Exec(ctx, `DELETE FROM public.signing_keys k WHERE EXISTS (
			SELECT 1 FROM public.signing_keys n WHERE n.created_at > k.created_at AND n.created_at < $1)`,
			time.Now().Add(-retain))
		return err
	})
	if err != nil {
		return token.Key{}, fmt.Errorf("store signing key: %w", err)
	}
	return key, nil
}
