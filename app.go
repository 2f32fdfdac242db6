package taruvi

import "io/fs"

// App is a tenant app: a named set of tables in every tenant schema with
// the permissions it registers. Its migrations are numbered .sql files
// (0001_init.sql, ...) run in each tenant's schema as the tenant's role,
// tracked per app, so that adding an app adds a migration set and never
// edits another's. Apps register their permission codenames by inserting
// into the permissions table from their migrations. Every Module brings
// one (Module.App); its routes, pages and jobs come with the module.
type App struct {
	Name       string // "projects"; lower case, unique
	Migrations fs.FS
}

// Apps returns the apps of modules, in order: the migration sets the
// database runs in every tenant after the core's.
func Apps(modules []Module) []App {
	apps := make([]App, 0, len(modules))
	for _, m := range modules {
		apps = append(apps, m.App())
	}
	return apps
}
