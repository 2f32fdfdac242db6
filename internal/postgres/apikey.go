package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/token"
)

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// CreateAPIKey makes a key for the principal. The secret is in the result
// once and never again; only its hash is stored.
func (a *Auth) CreateAPIKey(ctx context.Context, name string, expiresAt *time.Time) (*taruvi.APIKey, error) {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	name = strings.TrimSpace(name)
	fields := map[string]string{}
	if name == "" || len(name) > 100 {
		fields["name"] = "Use 1 to 100 characters."
	}
	if expiresAt != nil && !expiresAt.After(a.opts.Now()) {
		fields["expires_at"] = "Give a time in the future."
	}
	if len(fields) > 0 {
		return nil, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid API key.", Fields: fields}
	}
	prefix, key := token.NewAPIKey()
	k := &taruvi.APIKey{UserID: p.UserID, Name: name, Prefix: prefix, Key: key, ExpiresAt: expiresAt}
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`, p.UserID, name, prefix, token.Hash(key), expiresAt).
			Scan(&k.ID, &k.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ListAPIKeys returns the principal's keys, without secrets.
func (a *Auth) ListAPIKeys(ctx context.Context) ([]*taruvi.APIKey, error) {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	var keys []*taruvi.APIKey
	err := a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id, user_id, name, prefix, expires_at, last_used_at, revoked_at, created_at
			FROM api_keys WHERE user_id = $1 ORDER BY id`, p.UserID)
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

// RevokeAPIKey revokes one of the principal's keys; it stops working at
// once (keys are checked against the database on every use).
func (a *Auth) RevokeAPIKey(ctx context.Context, id int64) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	return a.db.InScope(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2`, id, p.UserID)
		if err == nil && tag.RowsAffected() == 0 {
			return taruvi.Errorf(taruvi.ENOTFOUND, "API key %d not found.", id)
		}
		return err
	})
}
