// Package apps is the apps module: a tenant's apps (GET/POST /api/apps,
// GET/PATCH/DELETE /api/apps/{app}), their settings
// (/api/apps/{app}/settings) and the datatables of each app, tables whose
// schema the tenant defines at run time (/api/apps/{app}/datatables). A
// datatable's definition is stored in the datatables table; its rows live
// in a physical table of the tenant's schema whose DDL package dataschema
// generates, applied with the definition's change in one transaction.
// The rows are served by package dataapi, which finds each datatable's
// definition through Table.
package apps

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/dataapi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the module's tenant migrations: the apps and datatables
// tables, the apps permissions and record_datatable_history(), the
// trigger function of every datatable's history.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// ObjectDatatable is the history object type of datatable definitions
// (the rows of a datatable are recorded as taruvi.DatatableObjectType).
const ObjectDatatable = "datatable"

// Module is the apps module.
type Module struct {
	db    *postgres.DB
	authz taruvi.Authorizer
	log   *slog.Logger
	data  *dataapi.Service // the rows of the datatables, found through Table
}

// New builds the apps module from the core's services.
func New(core modules.Core) taruvi.Module { return NewModule(core) }

// NewModule is New returning the concrete module, for what calls its
// methods beyond taruvi.Module (Table).
func NewModule(core modules.Core) *Module {
	log := core.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Module{db: core.DB, authz: core.Authz, log: log}
	m.data = dataapi.New(core.DB, core.Authz, m)
	return m
}

// MigrationSet implements taruvi.Module: the apps tables and permissions.
func (m *Module) MigrationSet() taruvi.MigrationSet {
	return taruvi.MigrationSet{Name: "apps", Migrations: Migrations()}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: tags, Routes: append(m.routes(), m.data.Routes()...), Permissions: permissions,
		AdminNav:   []taruvi.AdminNav{{Key: "apps", Label: "Apps", Href: "/admin/apps/"}},
		AdminPages: append(m.adminPages(), m.rowsAdminPages()...), AdminTemplates: modules.Templates(templateFiles), AdminCards: m.adminCards,
		Audited: []taruvi.AuditedTable{{Table: "apps", ObjectType: taruvi.ObjectApp},
			{Table: "datatables", ObjectType: ObjectDatatable}},
		HistoryFamilies: []taruvi.HistoryFamily{{Prefix: rowsHistoryPrefix, Authorize: m.authorizeRowsHistory}}}
}

// rowsHistoryPrefix begins the object type of every datatable's rows,
// taruvi.DatatableObjectType.
const rowsHistoryPrefix = "datatable:"

// authorizeRowsHistory lets the history of a datatable's rows, of object
// type "datatable:<app slug>/<table name>", be read by whoever may read
// its rows (apps.view_data; the tenant's owners have every permission);
// an app or datatable the tenant does not have is ENOTFOUND.
func (m *Module) authorizeRowsHistory(ctx context.Context, objectType string) error {
	app, table, ok := strings.Cut(strings.TrimPrefix(objectType, rowsHistoryPrefix), "/")
	if !ok || app == "" || table == "" || taruvi.DatatableObjectType(app, table) != objectType {
		return taruvi.Errorf(taruvi.ENOTFOUND, "No datatable %s.", objectType)
	}
	return m.inTenant(ctx, taruvi.PermViewData, func(ctx context.Context, tx pgx.Tx) error {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM datatables d JOIN apps a ON a.id = d.app_id
			WHERE a.slug = $1 AND d.name = $2)`, app, table).Scan(&found); err != nil {
			return fmt.Errorf("find datatable %s/%s: %w", app, table, err)
		}
		if !found {
			return taruvi.Errorf(taruvi.ENOTFOUND, "No datatable %s in app %s.", table, app)
		}
		return nil
	}, postgres.Quiet())
}

// permissions are the codenames the module checks, as its migrations
// insert them.
var permissions = []taruvi.Permission{
	{Codename: taruvi.PermViewApp, Name: "Can view apps, their settings and datatable definitions"},
	{Codename: taruvi.PermManageApp, Name: "Can create, change and delete apps and datatables"},
	{Codename: taruvi.PermViewData, Name: "Can read the rows of datatables"},
	{Codename: taruvi.PermChangeData, Name: "Can create, change and delete the rows of datatables"},
}
