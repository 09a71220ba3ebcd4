#!/usr/bin/env bash
# S3 against local files (issue 3): the same N-record JSONL run (default
# 1,000,000) from local files to a local directory, then from S3 to S3 on a
# local MinIO, against a zero-latency emulator in its own process. Prints
# records per second and peak memory of each.
# Usage: bash scripts/bench-s3.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
work=$(mktemp -d)
source scripts/s3-server.sh
cleanup() { kill "${emulator:-}" 2>/dev/null || true; s3_server_stop; rm -rf "$work"; }
trap cleanup EXIT
s3_server_start >/dev/null

go build -o "$work/batch" ./cmd/batch
python3 - "$records" > "$work/in.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader", "metadata": {"n": i}}))
PY
s3() { curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$BEDROCK_BATCH_TEST_S3_ACCESS_KEY:$BEDROCK_BATCH_TEST_S3_SECRET_KEY" "$@"; }
s3 -X PUT "$BEDROCK_BATCH_TEST_S3_ENDPOINT/bench" >/dev/null
s3 -T "$work/in.jsonl" "$BEDROCK_BATCH_TEST_S3_ENDPOINT/bench/in/in.jsonl" >/dev/null

port=18$((RANDOM % 900 + 100))
"$work/batch" emulate --addr 127.0.0.1:$port 2>"$work/emulate.log" &
emulator=$!
sleep 1
run() {
	local label=$1
	shift
	AWS_ACCESS_KEY_ID=$BEDROCK_BATCH_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BEDROCK_BATCH_TEST_S3_SECRET_KEY \
		AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
		/usr/bin/time -v "$work/batch" run --model anthropic.claude-3-haiku-20240307-v1:0 --concurrency 64 \
		--bedrock-endpoint http://127.0.0.1:$port --bedrock-control-endpoint http://127.0.0.1:$port --s3-endpoint "$BEDROCK_BATCH_TEST_S3_ENDPOINT" "$@" \
		>"$work/$label.out" 2>"$work/$label.time"
	local wall rss
	wall=$(grep -o '[0-9.]*s$' "$work/$label.out" | head -1)
	rss=$(grep "Maximum resident" "$work/$label.time" | grep -o '[0-9]*$')
	echo "$label: $records records in ${wall} ($(python3 -c "print(round($records/${wall%s}))") records/s), peak RSS $((rss / 1024)) MB"
	# The journal's syncs and segments (each an object, so a PUT, on S3).
	grep -E "msg=journal" "$work/$label.time" || true
}
run local --input "$work/in.jsonl" --output "$work/local-out"
run s3 --input s3://bench/in/in.jsonl --output s3://bench/out/
