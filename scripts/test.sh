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

# The DuckDB cross-checks of Parquet files (internal/duckdbtest) run the npm
# package @duckdb/node-api under node, installed once into a cache directory.
source scripts/duckdb.sh
duckdb_install

# The S3 tests talk to a local MinIO (scripts/s3-server.sh), stopped and
# its data removed however the tests end.
source scripts/s3-server.sh
trap s3_server_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
s3_server_start

go test -race -count=1 -timeout 30m ./...
