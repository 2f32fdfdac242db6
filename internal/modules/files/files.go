// Package files is the files module: files attached to a project or a
// task, kept in the blob store. Its API routes (streamed uploads and
// downloads) with their operations and its tenant admin pages (the list
// and upload form, downloads, deletes, a panel on a project's page) are
// here; its SQL store is still
// postgres.Files and its migrations postgres.AppMigrations("files").
package files

import (
	"log/slog"

	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

// Module is the files module.
type Module struct {
	files          taruvi.FileService
	projects       taruvi.ProjectService // the upload form's picker
	maxUploadBytes int64
	spools         *web.Spools
	log            *slog.Logger
}

// New builds the files module from the core's services.
func New(core modules.Core) taruvi.Module {
	log := core.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Module{files: postgres.NewFiles(core.DB, core.Authz, core.Blobs, core.MaxUploadBytes, log),
		projects:       postgres.NewProjects(core.DB, core.Authz),
		maxUploadBytes: core.MaxUploadBytes, spools: core.Spools, log: log}
}

// App implements taruvi.Module: the files tables and permissions.
func (m *Module) MigrationSet() taruvi.MigrationSet {
	return taruvi.MigrationSet{Name: "files", Migrations: postgres.AppMigrations("files")}
}

// Parts implements taruvi.Module.
func (m *Module) Parts() taruvi.ModuleParts {
	return taruvi.ModuleParts{Tags: tags, Routes: m.routes(), Permissions: permissions,
		AdminNav:   []taruvi.AdminNav{{Key: "files", Label: "Files", Href: "/admin/files/"}},
		AdminPages: m.adminPages(), AdminTemplates: modules.Templates(templateFiles),
		AdminPanels: []taruvi.AdminPanel{{Slot: projectPanels, Render: m.renderProjectPanel}},
		Audited: []taruvi.AuditedTable{
			{Table: "files", ObjectType: taruvi.ObjectFile},
		}}
}

// permissions are the codenames the module checks, as its migrations
// insert them.
var permissions = []taruvi.Permission{
	{Codename: taruvi.PermAddFile, Name: "Can upload files"},
	{Codename: taruvi.PermDeleteFile, Name: "Can delete files"},
}
