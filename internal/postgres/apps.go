package postgres

import (
	"io/fs"

	"taruvi"
)

// BuiltinMigrationSets are the migration sets that ship with the platform, in the order
// their migrations run: those of the projects, tasks and files modules,
// for what opens a database without building modules (tests, benchmarks).
func BuiltinMigrationSets() []taruvi.MigrationSet {
	var apps []taruvi.MigrationSet
	for _, name := range []string{"projects", "tasks", "files"} {
		apps = append(apps, taruvi.MigrationSet{Name: name, Migrations: AppMigrations(name)})
	}
	return apps
}

// AppMigrations returns the embedded tenant migrations of a built-in
// module, kept in migrations/apps/<name> beside the SQL of its store.
func AppMigrations(name string) fs.FS {
	sub, err := fs.Sub(embeddedMigrations, "migrations/apps/"+name)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
