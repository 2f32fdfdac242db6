package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/dataschema"
	"taruvi/internal/postgres"
)

// DatatableChange is the answer to replacing a datatable's definition:
// the plan of DDL statements, whether it was applied (not on a dry run)
// and the definition as it is (or would be) stored.
type DatatableChange struct {
	dataschema.Plan
	Applied   bool              `json:"applied"`
	Datatable *taruvi.Datatable `json:"datatable"`
}

const datatableColumns = `d.id, d.definition, d.table_name, d.created_at, d.updated_at`

// scanDatatable reads a datatable row: its stored definition with the
// row's id, table and times.
func scanDatatable(row pgx.Row) (*taruvi.Datatable, error) {
	var (
		id         int64
		definition []byte
		table      string
		created    time.Time
		updated    time.Time
	)
	err := row.Scan(&id, &definition, &table, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Datatable not found.")
	} else if err != nil {
		return nil, err
	}
	var d taruvi.Datatable
	if err := json.Unmarshal(definition, &d); err != nil {
		return nil, fmt.Errorf("read definition of %s: %w", table, err)
	}
	d.ID, d.Table, d.CreatedAt, d.UpdatedAt = id, table, created, updated
	return &d, nil
}

// appTables returns the datatables of the app whose id is appID.
func appTables(ctx context.Context, tx pgx.Tx, appID int64) ([]*taruvi.Datatable, error) {
	rows, err := tx.Query(ctx, `SELECT `+datatableColumns+` FROM datatables d WHERE d.app_id = $1 ORDER BY d.name`, appID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*taruvi.Datatable, error) { return scanDatatable(r) })
}

// appID returns the id of the app of the given slug, locking it against
// deletion when lock is set.
func appID(ctx context.Context, tx pgx.Tx, slug string, lock bool) (int64, error) {
	q := `SELECT id FROM apps WHERE slug = $1`
	if lock {
		q += ` FOR KEY SHARE`
	}
	var id int64
	err := tx.QueryRow(ctx, q, slug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, taruvi.Errorf(taruvi.ENOTFOUND, "App not found.")
	}
	return id, err
}

// lookupIn resolves the datatables of an app in tx, for foreign keys.
func lookupIn(ctx context.Context, tx pgx.Tx, appID int64) dataschema.Lookup {
	return func(name string) (*taruvi.Datatable, error) {
		return scanDatatable(tx.QueryRow(ctx, `SELECT `+datatableColumns+` FROM datatables d WHERE d.app_id = $1 AND d.name = $2`, appID, name))
	}
}

// Table returns the stored definition of the datatable name of the app
// of slug app in the tenant of ctx, with Table set to its physical table:
// one query, sent with its transaction in one round trip. It checks no
// permission: the caller does. ENOTFOUND when ctx carries no tenant, or
// the tenant has no such app or the app no such datatable.
func (m *Module) Table(ctx context.Context, app, name string) (*taruvi.Datatable, error) {
	if taruvi.TenantFromContext(ctx) == nil {
		return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Datatable not found.")
	}
	var d *taruvi.Datatable
	unit := &pgx.Batch{}
	unit.Queue(`SELECT `+datatableColumns+` FROM datatables d JOIN apps a ON a.id = d.app_id
		WHERE a.slug = $1 AND d.name = $2`, app, name).QueryRow(func(row pgx.Row) (err error) {
		d, err = scanDatatable(row)
		return err
	})
	if err := m.db.InTenant(ctx, nil, postgres.Pipelined(unit)); err != nil {
		return nil, err
	}
	return d, nil
}

// listDatatables returns the datatables of an app.
func (m *Module) listDatatables(ctx context.Context, app string) ([]*taruvi.Datatable, error) {
	var tables []*taruvi.Datatable
	err := m.inTenant(ctx, taruvi.PermViewApp, func(ctx context.Context, tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, false)
		if err != nil {
			return err
		}
		tables, err = appTables(ctx, tx, id)
		return err
	})
	if tables == nil {
		tables = []*taruvi.Datatable{}
	}
	return tables, err
}

// findDatatable returns one datatable of an app.
func (m *Module) findDatatable(ctx context.Context, app, name string) (*taruvi.Datatable, error) {
	var d *taruvi.Datatable
	err := m.inTenant(ctx, taruvi.PermViewApp, func(ctx context.Context, tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, false)
		if err != nil {
			return err
		}
		d, err = lookupIn(ctx, tx, id)(name)
		return err
	})
	return d, err
}

// storedDefinition is what the definition column holds: the normalized
// definition without the row's columns and with no rename left to apply.
func storedDefinition(d *taruvi.Datatable) ([]byte, error) {
	s := *d
	s.ID, s.CreatedAt, s.UpdatedAt = 0, time.Time{}, time.Time{}
	s.Schema.Fields = append([]taruvi.TableField(nil), d.Schema.Fields...)
	for i := range s.Schema.Fields {
		s.Schema.Fields[i].RenameFrom = ""
	}
	return json.Marshal(&s)
}

// createDatatable checks a definition, stores it and creates its table,
// in one transaction.
func (m *Module) createDatatable(ctx context.Context, app string, in *taruvi.Datatable) (*taruvi.Datatable, error) {
	if err := dataschema.CheckName(in.Name); err != nil {
		return nil, err
	}
	var out *taruvi.Datatable
	err := m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		lookup := lookupIn(ctx, tx, id)
		d, err := dataschema.Normalize(in, lookup)
		if err != nil {
			return err
		}
		d.Table = dataschema.TableName(id, d.Name)
		def, err := storedDefinition(d)
		if err != nil {
			return err
		}
		out, err = scanDatatable(tx.QueryRow(ctx, `INSERT INTO datatables AS d (app_id, name, table_name, definition)
			VALUES ($1, $2, $3, $4) RETURNING `+datatableColumns, id, d.Name, d.Table, def))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return &taruvi.Error{Code: taruvi.ECONFLICT, Message: fmt.Sprintf("The app has a datatable named %s already.", d.Name),
				Fields: map[string]string{"name": "Taken."}, Wrapped: err}
		} else if err != nil {
			return err
		}
		stmts, err := dataschema.Create(d, lookup)
		if err != nil {
			return err
		}
		return execDDL(ctx, tx, stmts)
	}, ddlOptions()...)
	return out, err
}

// replaceDatatable replaces a datatable's definition by in and changes
// its table to match, in one transaction; on a dry run it only plans.
func (m *Module) replaceDatatable(ctx context.Context, app, name string, in *taruvi.Datatable, dryRun bool) (*DatatableChange, error) {
	if in.Name == "" {
		in.Name = name
	} else if in.Name != name {
		return nil, &taruvi.Error{Code: taruvi.EINVALID, Message: "A datatable cannot be renamed.",
			Fields: map[string]string{"name": fmt.Sprintf("Want %s, the datatable's name.", name)}}
	}
	var change *DatatableChange
	err := m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		old, err := scanDatatable(tx.QueryRow(ctx, `SELECT `+datatableColumns+` FROM datatables d
			WHERE d.app_id = $1 AND d.name = $2 FOR UPDATE`, id, name))
		if err != nil {
			return err
		}
		lookup := lookupIn(ctx, tx, id)
		d, err := dataschema.Normalize(in, lookup)
		if err != nil {
			return err
		}
		d.Table = old.Table
		plan, err := dataschema.Diff(old, d, lookup)
		if err != nil {
			return err
		}
		def, err := storedDefinition(d)
		if err != nil {
			return err
		}
		if dryRun {
			d.ID, d.CreatedAt, d.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
			for i := range d.Schema.Fields {
				d.Schema.Fields[i].RenameFrom = "" // as it would be stored
			}
			change = &DatatableChange{Plan: plan, Datatable: d}
			return nil
		}
		stored, err := scanDatatable(tx.QueryRow(ctx, `UPDATE datatables AS d SET definition = $2, updated_at = now()
			WHERE d.id = $1 RETURNING `+datatableColumns, old.ID, def))
		if err != nil {
			return err
		}
		change = &DatatableChange{Plan: plan, Applied: true, Datatable: stored}
		return execDDL(ctx, tx, plan.Statements)
	}, ddlOptions()...)
	return change, err
}

// deleteDatatable deletes a datatable and drops its table, in one
// transaction.
func (m *Module) deleteDatatable(ctx context.Context, app, name string) error {
	return m.inTenant(ctx, taruvi.PermManageApp, func(ctx context.Context, tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		d, err := scanDatatable(tx.QueryRow(ctx, `DELETE FROM datatables d WHERE d.app_id = $1 AND d.name = $2
			RETURNING `+datatableColumns, id, name))
		if err != nil {
			return err
		}
		return execDDL(ctx, tx, dataschema.Drop(d))
	}, ddlOptions()...)
}

// execDDL runs statements in order.
func execDDL(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return ddlError(err)
		}
	}
	return nil
}

// ddlError turns what PostgreSQL says about a DDL statement into what the
// caller can act on: the table's rows breaking the new definition, or a
// value that will not convert, is EINVALID; another table depending on
// what goes is ECONFLICT; a lock not granted within the lock timeout is
// EUNAVAILABLE.
func ddlError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch code := pgErr.Code; {
	case code == "55P03", code == "40P01", code == "57014":
		return &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The table is in use; try again.", RetryAfter: time.Second, Wrapped: err}
	case code == "2BP01":
		return &taruvi.Error{Code: taruvi.ECONFLICT, Message: "Other datatables reference this one; remove their foreign keys first.", Wrapped: err}
	case code[:2] == "23":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "The table's rows do not fit the new definition: " + pgErr.Message + ".", Wrapped: err}
	case code[:2] == "22", code == "42846", code == "42804", code[:2] == "54":
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "The table cannot change so: " + pgErr.Message + ".", Wrapped: err}
	}
	return err
}
