#!/usr/bin/env bash
# Static checks: gofmt, go vet and staticcheck over the whole module.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> gofmt" >&2
unformatted=$(gofmt -l .)
if [[ -n "$unformatted" ]]; then
	echo "These files are not gofmt-formatted (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "==> go vet ./..." >&2
go vet ./...

echo "==> staticcheck ./..." >&2
go tool staticcheck ./...
