// Package tasks is the tasks module: the tasks of projects.
package tasks

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the tasks module.
type Module struct {
	core modules.Core
}

// New builds the tasks module from the core's services.
func New(core modules.Core) taruvi.Module { return &Module{core: core} }

// App implements taruvi.Module: the tasks tables and permissions.
func (m *Module) App() taruvi.App {
	return taruvi.App{Name: "tasks", Migrations: postgres.AppMigrations("tasks")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts { return taruvi.ModuleParts{} }
