# Everyday commands. `make test` is the one command that checks everything;
# CI runs it through .ci/run.

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: run test build lint

# Run the platform locally: a private PostgreSQL, the demo tenant, the server.
# It runs the built binary rather than `go run`, which reports a Ctrl-C as a
# failure (exit status 1).
run: build
	bin/taruvi dev

# Formatting, vet, staticcheck and every test with the race detector,
# starting PostgreSQL and Redis when none is reachable.
test:
	bash scripts/test.sh

build:
	go build -ldflags "-X taruvi.Version=$(VERSION)" -o bin/taruvi ./cmd/taruvi

lint:
	bash scripts/lint.sh
