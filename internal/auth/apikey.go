package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/token"
)

// CreateAPIKey makes a key for the principal. The secret is in the result
// once and never again; only its hash is stored.
func (a *Service) CreateAPIKey(ctx context.Context, name string, expiresAt *time.Time) (*taruvi.APIKey, error) {
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
	k := &taruvi.APIKey{UserID: p.UserID, Name: name, Prefix: prefix, ExpiresAt: expiresAt}
	if err := a.store.CreateAPIKey(ctx, k, token.Hash(key)); err != nil {
		return nil, err
	}
	k.Key = key
	return k, nil
}

// ListAPIKeys returns the principal's keys, without secrets.
func (a *Service) ListAPIKeys(ctx context.Context) ([]*taruvi.APIKey, error) {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	return a.store.ListAPIKeys(ctx, p.UserID)
}

// RevokeAPIKey revokes one of the principal's keys; it stops working at
// once (keys are checked against the database on every use).
func (a *Service) RevokeAPIKey(ctx context.Context, id int64) error {
	p := taruvi.PrincipalFromContext(ctx)
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	return a.store.RevokeAPIKey(ctx, id, p.UserID)
}

// authenticateAPIKey turns an API key into the principal of its user when
// the key is known, unrevoked and unexpired and its user active; it
// records the use at most once a minute.
func (a *Service) authenticateAPIKey(ctx context.Context, key string) (*taruvi.Principal, error) {
	prefix, ok := token.ParseAPIKey(key)
	if !ok {
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid API key.")
	}
	k, hash, u, err := a.store.FindAPIKey(ctx, prefix)
	now := a.opts.Now()
	switch {
	case taruvi.ErrorCode(err) == taruvi.ENOTFOUND || (err == nil && subtle.ConstantTimeCompare(hash, token.Hash(key)) != 1):
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid API key.")
	case err != nil:
		return nil, err
	case k.RevokedAt != nil:
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "API key revoked.")
	case k.ExpiresAt != nil && now.After(*k.ExpiresAt):
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "API key expired.")
	case !u.IsActive:
		return nil, taruvi.Errorf(taruvi.EUNAUTHORIZED, "User is inactive.")
	case k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute:
		if err := a.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			return nil, err
		}
	}
	aud := taruvi.AudienceFromContext(ctx)
	return &taruvi.Principal{UserID: u.ID, Email: u.Email, IsOwner: u.IsOwner, Audience: aud,
		IsAdmin: aud == taruvi.PlatformAudience, APIKeyID: k.ID}, nil
}
