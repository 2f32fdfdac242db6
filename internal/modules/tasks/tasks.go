// Package tasks is the tasks module: the tasks of projects. Its routes
// and their operations and its tenant admin pages (the list, the board,
// a panel on a project's page, the home page's counts) are here; its SQL
// store is still postgres.Tasks and its migrations
// postgres.AppMigrations("tasks").
package tasks

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the tasks module.
type Module struct {
	tasks    taruvi.TaskService
	projects taruvi.ProjectService // the pickers, and the project of a task form shown again
}

// New builds the tasks module from the core's services.
func New(core modules.Core) taruvi.Module {
	return &Module{tasks: postgres.NewTasks(core.DB, core.Authz), projects: postgres.NewProjects(core.DB, core.Authz)}
}

// App implements taruvi.Module: the tasks tables and permissions.
func (m *Module) MigrationSet() taruvi.MigrationSet {
	return taruvi.MigrationSet{Name: "tasks", Migrations: postgres.AppMigrations("tasks")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: tags, Routes: m.routes(), Permissions: permissions,
		AdminNav: []taruvi.AdminNav{{Key: "board", Label: "Board", Href: "/admin/tasks/board/"},
			{Key: "tasks", Label: "Tasks", Href: "/admin/tasks/"}},
		AdminPages: m.adminPages(), AdminTemplates: modules.Templates(templateFiles), AdminCards: m.adminCards,
		AdminPanels: []taruvi.AdminPanel{{Slot: projectPanels, Render: m.renderProjectPanel}},
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
