// Package files is the files module: files attached to a project or a task, kept in the blob store.
package files

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the files module.
type Module struct {
	core modules.Core
}

// New builds the files module from the core's services.
func New(core modules.Core) taruvi.Module { return &Module{core: core} }

// App implements taruvi.Module: the files tables and permissions.
func (m *Module) App() taruvi.App {
	return taruvi.App{Name: "files", Migrations: postgres.AppMigrations("files")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts { return taruvi.ModuleParts{} }
