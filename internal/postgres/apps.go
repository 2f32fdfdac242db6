package postgres

import (
	"io/fs"

	"taruvi"
)

// BuiltinApps are the tenant apps that ship with the platform, in the order
// their migrations run. Each keeps its migrations in migrations/apps/<name>.
func BuiltinApps() []taruvi.App {
	var apps []taruvi.App
	for _, name := range []string{"projects", "tasks", "files"} {
		sub, err := fs.Sub(embeddedMigrations, "migrations/apps/"+name)
		if err != nil {
			panic(err) // the embedded tree is fixed at build time
		}
		apps = append(apps, taruvi.App{Name: name, Migrations: sub})
	}
	return apps
}
