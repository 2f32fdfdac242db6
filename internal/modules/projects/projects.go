// Package projects is the projects module: projects and their members,
// who see a project, its tasks and files. Its routes and their operations
// and its tenant admin pages (the list, a project's page with the panels
// other modules add to it, ProjectPanels) are here; its SQL store is
// still postgres.Projects and its migrations
// postgres.AppMigrations("projects").
package projects

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
)

// Module is the projects module.
type Module struct {
	projects taruvi.ProjectService
}

// New builds the projects module from the core's services.
func New(core modules.Core) taruvi.Module {
	return &Module{projects: postgres.NewProjects(core.DB, core.Authz)}
}

// App implements taruvi.Module: the projects tables and permissions.
func (m *Module) MigrationSet() taruvi.MigrationSet {
	return taruvi.MigrationSet{Name: "projects", Migrations: postgres.AppMigrations("projects")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: tags, Routes: m.routes(), Permissions: permissions,
		AdminNav:   []taruvi.AdminNav{{Key: "projects", Label: "Projects", Href: "/admin/projects/"}},
		AdminPages: m.adminPages(), AdminTemplates: modules.Templates(templateFiles), AdminCards: m.adminCards,
		AdminObjects: []taruvi.AdminObject{
			{Type: taruvi.ObjectProject, Href: "/admin/projects/{id}/", Nav: "projects", Name: m.projectName},
		},
		Audited: []taruvi.AuditedTable{
			{Table: "projects", ObjectType: taruvi.ObjectProject},
			{Table: "project_members", ObjectType: taruvi.ObjectProjectMember},
		}}
}

// permissions are the codenames the module checks, as its migrations
// insert them.
var permissions = []taruvi.Permission{
	{Codename: taruvi.PermViewProject, Name: "Can view all projects"},
	{Codename: taruvi.PermAddProject, Name: "Can add projects"},
	{Codename: taruvi.PermChangeProject, Name: "Can change projects and their members"},
	{Codename: taruvi.PermDeleteProject, Name: "Can delete projects"},
}
