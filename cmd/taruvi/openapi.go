package main

import (
	"context"
	"log/slog"

	"taruvi/internal/api"
	"taruvi/internal/modules"
	"taruvi/internal/web"
)

// runOpenAPI prints the OpenAPI document that GET /api/schema/ serves. It
// needs no database: the routes come from the registration serve uses, on
// a server that never serves a request.
func runOpenAPI(_ context.Context, e env) error {
	fs := newFlags(e, "openapi", "")
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return usageError("taruvi openapi takes no arguments, got %q", args)
	}
	server := web.NewServer(web.Config{}, slog.New(slog.DiscardHandler), nil)
	a := &api.API{Modules: modules.Build(moduleList(), modules.Core{})}
	a.Register(server)
	a.RegisterDocs(server)
	doc, err := api.OpenAPI(server.Routes(), a.Modules...)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(doc)
	return err
}
