// Package tasks is the tasks module: the tasks of projects. Its routes
// and their operations are here; its SQL store is still postgres.Tasks,
// its migrations postgres.AppMigrations("tasks"), and its admin pages
// (list and board) are still the admin package's.
package tasks

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the tasks module.
type Module struct {
	tasks taruvi.TaskService
}

// New builds the tasks module from the core's services.
func New(core modules.Core) taruvi.Module {
	return &Module{tasks: postgres.NewTasks(core.DB, core.Authz)}
}

// App implements taruvi.Module: the tasks tables and permissions.
func (m *Module) App() taruvi.App {
	return taruvi.App{Name: "tasks", Migrations: postgres.AppMigrations("tasks")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: tags, Routes: m.routes(), Permissions: permissions,
		Audited: []taruvi.AuditedTable{
			{Table: "tasks", ObjectType: taruvi.ObjectTask},
		}}
}

// permissions are the codenames the module checks, as its migrations
// insert them.
var permissions = []taruvi.Permission{
	{Codename: taruvi.PermAddTask, Name: "Can add tasks"},
	{Codename: taruvi.PermChangeTask, Name: "Can change tasks"},
	{Codename: taruvi.PermDeleteTask, Name: "Can delete tasks"},
}
