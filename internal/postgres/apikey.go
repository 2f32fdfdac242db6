package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// CreateAPIKey stores k (without its secret) with the hash of its secret,
// and fills in its ID and CreatedAt.
func (s *AuthStore) CreateAPIKey(ctx context.Context, k *taruvi.APIKey, hash []byte) error {
	return s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`, k.UserID, k.Name, k.Prefix, hash, k.ExpiresAt).
			Scan(&k.ID, &k.CreatedAt)
	})
}

// FindAPIKey returns the key of the scope with this prefix, the hash of its
// secret, and its user (ID, Email, IsOwner and IsActive only); ENOTFOUND
// when there is none.
func (s *AuthStore) FindAPIKey(ctx context.Context, prefix string) (*taruvi.APIKey, []byte, *taruvi.User, error) {
	k := &taruvi.APIKey{Prefix: prefix}
	u := &taruvi.User{}
	var hash []byte
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT k.id, k.name, k.key_hash, k.expires_at, k.revoked_at, k.last_used_at, k.created_at,
				u.id, u.email, u.is_owner, u.is_active
			FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = $1`, prefix).
			Scan(&k.ID, &k.Name, &hash, &k.ExpiresAt, &k.RevokedAt, &k.LastUsedAt, &k.CreatedAt,
				&u.ID, &u.Email, &u.IsOwner, &u.IsActive)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	k.UserID = u.ID
	return k, hash, u, nil
}

// TouchAPIKey records now as the last use of key id.
func (s *AuthStore) TouchAPIKey(ctx context.Context, id int64, now time.Time) error {
	return s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, now)
		return err
	})
}

// ListAPIKeys returns the keys of user userID, without secrets.
func (s *AuthStore) ListAPIKeys(ctx context.Context, userID int64) ([]*taruvi.APIKey, error) {
	var keys []*taruvi.APIKey
	err := s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id, user_id, name, prefix, expires_at, last_used_at, revoked_at, created_at
			FROM api_keys WHERE user_id = $1 ORDER BY id`, userID)
		var err error
		keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*taruvi.APIKey, error) {
			var k taruvi.APIKey
			err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt, &k.CreatedAt)
			return &k, err
		})
		return err
	})
	return keys, err
}

// RevokeAPIKey revokes key id of user userID; ENOTFOUND when the user has
// no such key.
func (s *AuthStore) RevokeAPIKey(ctx context.Context, id, userID int64) error {
	return s.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2`, id, userID)
		if err == nil && tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "API key %d not found.", id)
		}
		return err
	})
}
