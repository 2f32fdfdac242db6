package taruvi

import "io/fs"

// MigrationSet is a module's tables: numbered .sql files (0001_init.sql,
// ...) run in every tenant schema as the tenant's role, tracked per set
// under Name, so that adding a module adds a migration set and never edits
// another's. Modules register their permission codenames by inserting
// into the permissions table from their migrations. Every Module brings
// one (Module.MigrationSet); its routes, pages and jobs come with the
// module.
type MigrationSet struct {
	Name       string // "projects"; lower case, unique
	Migrations fs.FS
}

// MigrationSets returns the migration sets of modules, in order: the sets
// the database runs in every tenant after the core's.
func MigrationSets(modules []Module) []MigrationSet {
	sets := make([]MigrationSet, 0, len(modules))
	for _, m := range modules {
		sets = append(sets, m.MigrationSet())
	}
	return sets
}
