#!/usr/bin/env bash
# DuckDB for the tests and benchmarks: the npm package @duckdb/node-api, run
# under node, installed once into a cache directory outside the repository.
#
# Sourced (as scripts/test.sh does), it defines duckdb_install, which
# installs it if need be (a few seconds) and exports BEDROCK_BATCH_TEST_DUCKDB
# (the directory whose node_modules holds it; internal/duckdbtest reads it),
# and duckdb_sql, which runs SQL statements given as arguments.

DUCKDB_NODE_API=1.5.6-r.1

duckdb_install() {
	local dir=${BEDROCK_BATCH_TEST_DUCKDB:-${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-batch/duckdb-node-api-$DUCKDB_NODE_API}
	if [ ! -f "$dir/node_modules/@duckdb/node-api/package.json" ]; then
		mkdir -p "$dir"
		npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "@duckdb/node-api@$DUCKDB_NODE_API" >&2 || return 1
	fi
	export BEDROCK_BATCH_TEST_DUCKDB=$dir
}

# duckdb_sql STATEMENT...: runs the statements in one in-memory database.
duckdb_sql() {
	node - "$BEDROCK_BATCH_TEST_DUCKDB" "$@" <<'JS'
const duckdb = require(require('path').join(process.argv[2], 'node_modules', '@duckdb', 'node-api'));
(async () => {
  const c = await (await duckdb.DuckDBInstance.create(':memory:')).connect();
  for (const s of process.argv.slice(3)) await c.run(s);
})().catch(e => { console.error(e.message); process.exit(1); });
JS
}
