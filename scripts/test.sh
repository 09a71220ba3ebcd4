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
# package @duckdb/node-api under node. It is installed once into a cache
# directory outside the repository (a few seconds) and reused after.
DUCKDB_NODE_API=1.5.6-r.1
duckdb_dir=${BEDROCK_BATCH_TEST_DUCKDB:-${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-batch/duckdb-node-api-$DUCKDB_NODE_API}
if [ ! -f "$duckdb_dir/node_modules/@duckdb/node-api/package.json" ]; then
	mkdir -p "$duckdb_dir"
	npm install --prefix "$duckdb_dir" --no-audit --no-fund --no-save --loglevel=error "@duckdb/node-api@$DUCKDB_NODE_API" >&2
fi
export BEDROCK_BATCH_TEST_DUCKDB=$duckdb_dir

# The S3 tests talk to a local MinIO (scripts/s3-server.sh), stopped and
# its data removed however the tests end.
source scripts/s3-server.sh
trap s3_server_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
s3_server_start

go test -race -count=1 -timeout 30m ./...
