#!/usr/bin/env bash
# The project's one test command (README.md, and CI through .ci/run): format
# and vet checks, then every test with the race detector. It installs and
# starts whatever the tests need, and stops it again.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt wants to change:" $unformatted >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 30m ./...
