#!/usr/bin/env bash
# Peak memory of a 1,000,000-record JSONL run (goal: under 100 MB). The
# emulator runs as its own process, so only the batch process is measured.
# Usage: bash scripts/bench-memory.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
work=$(mktemp -d)
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/batch" ./cmd/batch
python3 - "$records" > "$work/in.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader", "metadata": {"n": i}}))
PY
port=18$((RANDOM % 900 + 100))
"$work/batch" emulate --addr 127.0.0.1:$port 2>"$work/emulate.log" &
emulator=$!
sleep 1
AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/time -v "$work/batch" run --input "$work/in.jsonl" --output "$work/out" \
	--model anthropic.claude-3-haiku-20240307-v1:0 --concurrency 64 \
	--bedrock-endpoint http://127.0.0.1:$port --bedrock-control-endpoint http://127.0.0.1:$port 2>"$work/time.log" | grep -v "^wrote"
grep -E "Maximum resident set size|Elapsed" "$work/time.log"
