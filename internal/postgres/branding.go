package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// brandingKey is the settings row that holds a tenant's branding.
const brandingKey = "branding"

// Brandings implements taruvi.BrandingService over the tenant's settings
// table.
type Brandings struct {
	db    *DB
	authz taruvi.Authorizer
}

var _ taruvi.BrandingService = (*Brandings)(nil)

// NewBrandings returns the branding service over db.
func NewBrandings(db *DB, authz taruvi.Authorizer) *Brandings {
	return &Brandings{db: db, authz: authz}
}

// FindBranding implements taruvi.BrandingService.
func (s *Brandings) FindBranding(ctx context.Context) (taruvi.Branding, error) {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return taruvi.Branding{}, taruvi.Errorf(taruvi.ENOTFOUND, "Branding exists on tenant hosts only.")
	}
	b := taruvi.DefaultBranding(t.Name)
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, brandingKey).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read branding: %w", err)
		}
		return json.Unmarshal(raw, &b)
	})
	return b, err
}

// SetBranding implements taruvi.BrandingService.
func (s *Brandings) SetBranding(ctx context.Context, b taruvi.Branding) (taruvi.Branding, error) {
	if taruvi.TenantFromContext(ctx) == nil {
		return b, taruvi.Errorf(taruvi.ENOTFOUND, "Branding exists on tenant hosts only.")
	}
	if err := s.authz.RequireOwner(ctx); err != nil {
		return b, err
	}
	if err := b.Validate(); err != nil {
		return b, err
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return b, err
	}
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, brandingKey, raw)
		return err
	})
	return b, err
}
