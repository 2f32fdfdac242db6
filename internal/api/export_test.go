package api

import "taruvi"

// DocumentPath is documentPath, for the external tests.
var DocumentPath = documentPath

// DocOperations is every operation of the core and of modules, by route,
// as the document is built from.
func DocOperations(modules []taruvi.Module) map[string]taruvi.Operation {
	ops, _, err := moduleOperations(modules)
	if err != nil {
		panic(err)
	}
	return ops
}
