package taruvi

import "io/fs"

// App is a tenant app: a named set of tables in every tenant schema with
// the permissions it registers. Its migrations are numbered .sql files
// (0001_init.sql, ...) run in each tenant's schema as the tenant's role,
// tracked per app, so that adding an app adds a migration set and never
// edits another's. Apps register their permission codenames by inserting
// into the permissions table from their migrations; their routes are added
// to the API beside the core's.
type App struct {
	Name       string // "projects"; lower case, unique
	Migrations fs.FS
}
