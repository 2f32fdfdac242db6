package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// SigningKeys returns the installation's stored JWT signing keys, newest
// first. Opening and generating them is internal/auth's.
func (s *AuthStore) SigningKeys(ctx context.Context) ([]taruvi.SigningKey, error) {
	rows, _ := s.db.pool.Query(ctx, `SELECT kid, private_key, public_key, created_at FROM public.signing_keys ORDER BY created_at DESC, kid`)
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (taruvi.SigningKey, error) {
		var k taruvi.SigningKey
		err := r.Scan(&k.ID, &k.Sealed, &k.Public, &k.CreatedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return keys, nil
}

// AddSigningKey stores k and, when retireBefore is not zero, deletes the
// keys whose successor was created before it (a key retires when its
// successor is created).
func (s *AuthStore) AddSigningKey(ctx context.Context, k taruvi.SigningKey, retireBefore time.Time) error {
	err := s.db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO public.signing_keys (kid, private_key, public_key, created_at) VALUES ($1, $2, $3, $4)`,
			k.ID, k.Sealed, k.Public, k.CreatedAt); err != nil {
			return err
		}
		if retireBefore.IsZero() {
			return nil
		}
		_, err := tx.Exec(ctx, `DELETE FROM public.signing_keys k WHERE EXISTS (
			SELECT 1 FROM public.signing_keys n WHERE n.created_at > k.created_at AND n.created_at < $1)`, retireBefore)
		return err
	})
	if err != nil {
		return fmt.Errorf("store signing key: %w", err)
	}
	return nil
}
