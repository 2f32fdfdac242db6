package apps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/dataschema"
	"taruvi/internal/postgres"
)

// AppListSpec is what lists of apps order and search by.
var AppListSpec = taruvi.ListSpec{
	Fields: []taruvi.Field{
		{Name: "slug", Kind: taruvi.KindString, Order: true, Search: true},
		{Name: "name", Kind: taruvi.KindString, Order: true, Search: true},
		{Name: "created_at", Kind: taruvi.KindTime, Order: true},
		{Name: "updated_at", Kind: taruvi.KindTime, Order: true},
	},
	DefaultOrder: []taruvi.Order{{Field: "slug"}},
}

// appCreate and appUpdate are what creating and changing an app take.
type appCreate struct{ Name, Slug, Description string }

type appUpdate struct{ Name, Slug, Description *string }

var slugRE = regexp.MustCompile(`^[a-z0-9-]{1,50}$`)

// slugFrom derives a slug from an app's name: lower case, every run of
// other characters a dash, at most 50 characters.
func slugFrom(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := b.String()
	if len(s) > 50 {
		s = s[:50]
	}
	return strings.Trim(s, "-")
}

// checkApp checks an app's name, slug and description.
func checkApp(name, slug, description *string) error {
	fields := map[string]string{}
	if name != nil && (strings.TrimSpace(*name) == "" || len(*name) > 200) {
		fields["name"] = "A name of 1 to 200 characters is required."
	}
	if slug != nil && !slugRE.MatchString(*slug) {
		fields["slug"] = "Lower-case letters, digits and -, at most 50."
	}
	if description != nil && len(*description) > 10000 {
		fields["description"] = "At most 10000 characters."
	}
	if len(fields) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid app.", Fields: fields}
	}
	return nil
}

// inTenant runs fn in the tenant of ctx after checking permission;
// outside a tenant there are no apps.
func (m *Module) inTenant(ctx context.Context, permission string, fn postgres.TxFunc, opts ...postgres.TxOption) error {
	if taruvi.TenantFromContext(ctx) == nil {
		if taruvi.PrincipalFromContext(ctx) == nil {
			return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
		}
		return taruvi.Errorf(taruvi.ENOTFOUND, "Apps exist on tenant hosts only.")
	}
	if err := m.authz.Can(ctx, permission, taruvi.Object{}); err != nil {
		return err
	}
	return m.db.InTenant(ctx, fn, opts...)
}

// ddlOptions are the options of a transaction that changes a table: a
// lock it cannot get within 3s fails it rather than queueing every
// reader of the table behind it.
func ddlOptions() []postgres.TxOption {
	return []postgres.TxOption{postgres.Setting("lock_timeout", "3s")}
}

const appColumns = `id, slug, name, description, created_at, updated_at`

func scanApp(row pgx.Row) (*taruvi.App, error) {
	var a taruvi.App
	err := row.Scan(&a.ID, &a.Slug, &a.Name, &a.Description, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "App not found.")
	}
	return &a, err
}

// listApps returns a page of the tenant's apps and how many there are.
func (m *Module) listApps(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.App, int, error) {
	order := make([]string, 0, len(q.Order)+1)
	for _, o := range append(q.Order, taruvi.Order{Field: "id"}) {
		if _, ok := AppListSpec.FieldByName(o.Field); !ok && o.Field != "id" {
			continue
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		order = append(order, pgx.Identifier{o.Field}.Sanitize()+dir)
	}
	where, args := "", []any{}
	if q.Search != "" {
		where = ` WHERE name ILIKE $1 OR slug ILIKE $1`
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Search)+"%")
	}
	var apps []*taruvi.App
	var total int
	err := m.inTenant(ctx, taruvi.PermViewApp, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM apps`+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %s FROM apps%s ORDER BY %s LIMIT %d OFFSET %d`,
			appColumns, where, strings.Join(order, ", "), q.PageSize, q.Offset()), args...)
		if err != nil {
			return err
		}
		apps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*taruvi.App, error) { return scanApp(r) })
		return err
	})
	if apps == nil {
		apps = []*taruvi.App{}
	}
	return apps, total, err
}

// findApp returns the app of the given slug.
func (m *Module) findApp(ctx context.Context, slug string) (*taruvi.App, error) {
	var app *taruvi.App
	err := m.inTenant(ctx, taruvi.PermViewApp, func(ctx context.Context, tx pgx.Tx) (err error) {
		app, err = scanApp(tx.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE slug = $1`, slug))
		return err
	})
	return app, err
}

// createApp creates an app; its slug comes from its name when not given.
func (m *Module) createApp(ctx context.Context, in appCreate) (*taruvi.App, error) {
	if in.Slug == "" {
		in.Slug = slugFrom(in.Name)
	}
	if err := checkApp(&in.Name, &in.Slug, &in.Description); err != nil {
		return nil, err
	}
	var app *taruvi.App
	err := m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) (err error) {
		app, err = scanApp(tx.QueryRow(ctx, `INSERT INTO apps (slug, name, description) VALUES ($1, $2, $3) RETURNING `+appColumns,
			in.Slug, strings.TrimSpace(in.Name), in.Description))
		return slugConflict(err, in.Slug)
	})
	return app, err
}

// slugConflict turns the unique violation of a slug into ECONFLICT.
func slugConflict(err error, slug string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &taruvi.Error{Code: taruvi.ECONFLICT, Message: fmt.Sprintf("An app with slug %q exists already.", slug),
			Fields: map[string]string{"slug": "Taken."}, Wrapped: err}
	}
	return err
}

// updateApp changes an app's name, slug or description.
func (m *Module) updateApp(ctx context.Context, slug string, upd appUpdate) (*taruvi.App, error) {
	if err := checkApp(upd.Name, upd.Slug, upd.Description); err != nil {
		return nil, err
	}
	var app *taruvi.App
	err := m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) (err error) {
		app, err = scanApp(tx.QueryRow(ctx, `UPDATE apps SET name = coalesce($2, name), slug = coalesce($3, slug),
			description = coalesce($4, description), updated_at = now() WHERE slug = $1 RETURNING `+appColumns,
			slug, upd.Name, upd.Slug, upd.Description))
		if upd.Slug != nil {
			return slugConflict(err, *upd.Slug)
		}
		return err
	})
	return app, err
}

// deleteApp deletes an app with its datatables and drops their tables,
// in one transaction.
func (m *Module) deleteApp(ctx context.Context, slug string) error {
	return m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM apps WHERE slug = $1 FOR UPDATE`, slug).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return taruvi.Errorf(taruvi.ENOTFOUND, "App not found.")
		} else if err != nil {
			return err
		}
		tables, err := appTables(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := execDDL(ctx, tx, dataschema.Drop(tables...)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM apps WHERE id = $1`, id)
		return err
	}, ddlOptions()...)
}

// settingsColumns are the columns of the settings, in the order of
// taruvi.AppSettings.
var settingsColumns = []string{"display_name", "icon", "icon_url", "primary_color", "secondary_color",
	"icon_background_color", "category", "documentation_url", "support_email",
	"default_frontend_worker_url", "default_frontend_worker_slug"}

func scanSettings(row pgx.Row) (*taruvi.AppSettings, error) {
	var s taruvi.AppSettings
	err := row.Scan(&s.DisplayName, &s.Icon, &s.IconURL, &s.PrimaryColor, &s.SecondaryColor, &s.IconBackgroundColor,
		&s.Category, &s.DocumentationURL, &s.SupportEmail, &s.DefaultFrontendWorkerURL, &s.DefaultFrontendWorkerSlug,
		&s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "App not found.")
	}
	return &s, err
}

// findSettings returns the settings of the app of the given slug.
func (m *Module) findSettings(ctx context.Context, slug string) (*taruvi.AppSettings, error) {
	var s *taruvi.AppSettings
	err := m.inTenant(ctx, taruvi.PermViewApp, func(ctx context.Context, tx pgx.Tx) (err error) {
		s, err = scanSettings(tx.QueryRow(ctx, `SELECT `+strings.Join(settingsColumns, ", ")+`, created_at, updated_at
			FROM apps WHERE slug = $1`, slug))
		return err
	})
	return s, err
}

// updateSettings sets the settings of changes (column to value, nil for
// null; columns of settingsColumns only).
func (m *Module) updateSettings(ctx context.Context, slug string, changes map[string]*string) (*taruvi.AppSettings, error) {
	set, args := []string{"updated_at = now()"}, []any{slug}
	for _, col := range settingsColumns {
		if v, ok := changes[col]; ok {
			args = append(args, v)
			set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	var s *taruvi.AppSettings
	err := m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) (err error) {
		s, err = scanSettings(tx.QueryRow(ctx, `UPDATE apps SET `+strings.Join(set, ", ")+` WHERE slug = $1
			RETURNING `+strings.Join(settingsColumns, ", ")+`, created_at, updated_at`, args...))
		return err
	})
	return s, err
}
