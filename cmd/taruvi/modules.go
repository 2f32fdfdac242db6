package main

import (
	"taruvi"
	"taruvi/internal/modules"
	"taruvi/internal/modules/apps"
	"taruvi/internal/modules/files"
	"taruvi/internal/modules/projects"
	"taruvi/internal/modules/tasks"
)

// moduleList is the platform's modules, in the order their tenant
// migrations run (a module after those it references). Adding a module is
// one line here: every surface, the migrations and the jobs iterate it.
func moduleList() []modules.Constructor {
	return []modules.Constructor{
		projects.New,
		tasks.New,
		files.New,
		apps.New,
	}
}

// moduleMigrationSets are the migration sets of the modules of moduleList, whose migrations
// the database runs in every tenant. Telling them builds nothing.
func moduleMigrationSets() []taruvi.MigrationSet {
	return taruvi.MigrationSets(modules.Build(moduleList(), modules.Core{}))
}
