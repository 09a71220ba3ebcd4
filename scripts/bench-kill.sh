#!/usr/bin/env bash
# Records paid twice when a run is killed: the issue 15 setup. A run of
# 100 records per unit of concurrency against the emulator (100 ms
# latency) is killed with kill -9 three times and stopped with SIGTERM
# once, each STOP_AFTER seconds after it started, and then run to the end;
# the emulator counts the calls it answered, so paid twice = answered -
# records. The floor is the calls in flight at the three kills.
# Usage: bash scripts/bench-kill.sh [concurrency] [batch binary]
# (without a binary, the one of this tree is built).
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-32}
work=$(mktemp -d)
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
binary=${2:-}
if [ -z "$binary" ]; then
	go build -o "$work/batch" ./cmd/batch
	binary=$work/batch
fi
records=$((concurrency * 100))
stop_after=${STOP_AFTER:-2}
python3 - "$records" > "$work/in.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader"}))
PY
port=18$((RANDOM % 900 + 100))
"$binary" emulate --addr 127.0.0.1:$port --latency 100ms 2>"$work/emulate.log" &
emulator=$!
sleep 1
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
args=(run --input "$work/in.jsonl" --output "$work/out" --model anthropic.claude-3-haiku-20240307-v1:0
	--concurrency "$concurrency" --bedrock-endpoint "http://127.0.0.1:$port")
for signal in KILL KILL KILL TERM; do
	"$binary" "${args[@]}" >/dev/null 2>>"$work/run.log" &
	pid=$! # the run itself, not a subshell: the signal must reach it
	sleep "$stop_after"
	kill -s $signal $pid 2>/dev/null || echo "  (a run ended before its signal)"
	wait $pid 2>/dev/null || true
done
"$binary" "${args[@]}" >/dev/null 2>>"$work/run.log"
kill -TERM $emulator
wait $emulator || true
ok=$(sed -n 's/.*served [0-9]* requests (\([0-9]*\) ok.*/\1/p' "$work/emulate.log")
echo "concurrency $concurrency, $records records, 3 x kill -9 + 1 x SIGTERM, each ${stop_after}s after the start:"
echo "  answered $ok calls: $((ok - records)) paid twice ($((3 * concurrency)) in flight at the kills)"
echo "  data files: $(ls "$work/out" | grep -c -E '^part-.*\.(jsonl|parquet)$')"
