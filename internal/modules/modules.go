// Package modules is what the platform hands a module when it is built
// (Core), the one place where modules are constructed (Build). The
// modules themselves are its subpackages, one a module: each imports
// the root, this package and the core packages it plugs into (api, admin,
// postgres), never another module.
package modules

import (
	"io/fs"
	"log/slog"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/web"
)

// Core are the platform's services a module is built from. They are
// wired before any goroutine starts; a module keeps what it needs and
// starts nothing itself. The zero Core builds modules that can tell their
// App and describe their routes (migrations, `taruvi openapi`) but serve
// nothing.
type Core struct {
	DB *postgres.DB
	// Authz answers every permission check.
	Authz taruvi.Authorizer
	// Principals tells who a user is to an app's policies (roles,
	// attributes).
	Principals taruvi.PrincipalResolver
	// Blobs keeps file contents.
	Blobs taruvi.BlobStore
	// MaxUploadBytes (TARUVI_MAX_UPLOAD_BYTES) bounds an uploaded file.
	MaxUploadBytes int64
	// Spools is where an upload's file waits for its fields; nil: the
	// system's temporary folder, without bound.
	Spools *web.Spools
	Log    *slog.Logger
}

// Constructor builds a module from the core. A module package exports
// one, New, and the platform's list of modules is a list of them.
type Constructor func(Core) taruvi.Module

// Build builds every module of list from core, in order.
func Build(list []Constructor, core Core) []taruvi.Module {
	out := make([]taruvi.Module, len(list))
	for i, newModule := range list {
		out[i] = newModule(core)
	}
	return out
}

// IDParam is the {id} of a module's route that names one object.
var IDParam = taruvi.Param{Name: "id", Kind: taruvi.KindInt, Description: "The object's id."}

// Templates returns the folder "templates" of a module's embedded files,
// its admin templates (taruvi.ModuleParts.AdminTemplates).
func Templates(embedded fs.FS) fs.FS {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
