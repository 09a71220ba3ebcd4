#!/usr/bin/env bash
# Peak memory of Parquet inputs as DuckDB writes them (issue 18; goal: under
# 150 MB each), through the built binary under /usr/bin/time -v:
#   short1m   1,000,000 short prompts in one row group (2 MB, zstd)
#   docs100k  100,000 documents of about 10 KB in one row group (1 GB of text)
#   big20m    one prompt of 20 MB
# each with --dry-run and as a full run (concurrency 64) against the
# emulator in its own process; then the same records as JSONL for
# reference. With a git revision as argument, that revision is measured too
# (for before/after tables).
# Usage: bash scripts/bench-parquet-memory.sh [revision]
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-}
work=$(mktemp -d)
cleanup() {
	kill "${emulator:-}" 2>/dev/null || true
	[ -n "$before" ] && git worktree remove --force "$work/before-src" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
source scripts/duckdb.sh
duckdb_install

go build -o "$work/batch" ./cmd/batch
bins=(batch)
if [ -n "$before" ]; then
	git worktree add -q --detach "$work/before-src" "$before"
	(cd "$work/before-src" && go build -o "$work/before" ./cmd/batch)
	bins=(before batch)
fi

echo "generating the inputs with DuckDB" >&2
duckdb_sql \
	"COPY (SELECT i AS id, 'Summarise document ' || i || ' in one short paragraph for a busy reader' AS prompt, '{\"n\":' || i || '}' AS metadata
	  FROM range(1000000) t(i)) TO '$work/short1m.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)" \
	"COPY (SELECT i AS id, 'Summarise this document. ' || (SELECT string_agg(md5((i*1000+j)::VARCHAR), ' ') FROM range(310) s(j)) AS prompt
	  FROM range(100000) t(i)) TO '$work/docs100k.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)" \
	"COPY (SELECT 1 AS id, 'Summarise this. ' || (SELECT string_agg(md5(j::VARCHAR), ' ') FROM range(635000) s(j)) AS prompt)
	  TO '$work/big20m.parquet' (FORMAT parquet, COMPRESSION zstd)" \
	"COPY (SELECT * FROM '$work/short1m.parquet') TO '$work/short1m.jsonl' (FORMAT json)" \
	"COPY (SELECT * FROM '$work/docs100k.parquet') TO '$work/docs100k.jsonl' (FORMAT json)" \
	"COPY (SELECT * FROM '$work/big20m.parquet') TO '$work/big20m.jsonl' (FORMAT json)"

port=18$((RANDOM % 900 + 100))
"$work/batch" emulate --addr 127.0.0.1:$port 2>"$work/emulate.log" &
emulator=$!
sleep 1

# measure BIN INPUT MODE prints one table row: peak RSS and wall time.
measure() {
	local bin=$1 input=$2 mode=$3 args=(--concurrency 64 --bedrock-endpoint "http://127.0.0.1:$port")
	[ "$mode" = dry-run ] && args=(--dry-run)
	rm -rf "$work/out"
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
		/usr/bin/time -v "$work/$bin" run --input "$work/$input" --output "$work/out" \
		--model anthropic.claude-3-haiku-20240307-v1:0 "${args[@]}" >"$work/stdout" 2>"$work/time.log" ||
		{ echo "$bin $input $mode failed:" >&2; tail -3 "$work/time.log" >&2; }
	local rss wall
	rss=$(grep "Maximum resident" "$work/time.log" | grep -o '[0-9]*$')
	wall=$(grep "Elapsed (wall" "$work/time.log" | grep -o '[0-9:.]*$')
	printf '| %s | %s | %s | %s | %.1f MB |\n' "$bin" "$input" "$mode" "$wall" "$(echo "$rss / 1000" | bc -l)"
}

echo "| binary | input | mode | wall time | peak RSS |"
echo "|---|---|---|---|---|"
for input in short1m docs100k big20m; do
	for mode in dry-run run; do
		for bin in "${bins[@]}"; do
			measure "$bin" "$input.parquet" "$mode"
		done
	done
done
for input in short1m docs100k big20m; do
	for mode in dry-run run; do
		measure batch "$input.jsonl" "$mode"
	done
done
