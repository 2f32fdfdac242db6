// Package projects is the projects module: projects and their members.
package projects

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the projects module.
type Module struct {
	core modules.Core
}

// New builds the projects module from the core's services.
func New(core modules.Core) taruvi.Module { return &Module{core: core} }

// App implements taruvi.Module: the projects tables and permissions.
func (m *Module) App() taruvi.App {
	return taruvi.App{Name: "projects", Migrations: postgres.AppMigrations("projects")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts { return taruvi.ModuleParts{} }
