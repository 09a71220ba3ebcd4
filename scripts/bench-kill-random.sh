#!/usr/bin/env bash
# Records paid twice over many kill -9 at random (seeded) moments: 25,600
# records at concurrency 256 against the emulator (100 ms), killed KILLS
# times (default 10) 0.7 to 3.2 s after each start, then run to the end.
# Prints the emulator's answered calls (answered - 25,600 = paid twice) and
# checks the output holds exactly one row per record.
# Usage: bash scripts/bench-kill-random.sh
set -uo pipefail
cd "$(dirname "$0")/.."
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
go build -o $w/batch ./cmd/batch
python3 - > $w/in.jsonl <<'PY'
import json
for i in range(25600):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader"}))
PY
port=18$((RANDOM % 900 + 100))
$w/batch emulate --addr 127.0.0.1:$port --latency 100ms 2>$w/emulate.log &
em=$!
sleep 1
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_BEDROCK=http://127.0.0.1:$port AWS_ENDPOINT_URL_SERVICE_QUOTAS=http://127.0.0.1:$port
args=(run --input $w/in.jsonl --output $w/out --model anthropic.claude-3-haiku-20240307-v1:0 --max-tokens 50
  --concurrency 256 --bedrock-endpoint http://127.0.0.1:$port)
RANDOM=15
for k in $(seq 1 "${KILLS:-10}"); do
  $w/batch "${args[@]}" >/dev/null 2>>$w/run.log &
  pid=$!
  ms=$((700 + RANDOM % 2500))
  sleep $(python3 -c "print($ms/1000)")
  kill -9 $pid 2>/dev/null && echo "kill $k at ${ms}ms" || echo "run $k ended before kill"
  wait $pid 2>/dev/null
done
$w/batch "${args[@]}" >$w/final.out 2>>$w/run.log; echo "final exit $?"
kill -INT $em; wait $em
grep -o "served [0-9]* requests ([^)]*)" $w/emulate.log
python3 - $w <<'PY'
import json, glob, sys, collections
w=sys.argv[1]
ids=collections.Counter()
for f in glob.glob(w+"/out/part-*.jsonl"):
    for line in open(f):
        r=json.loads(line); ids[r["id"]]+=1
print("rows", sum(ids.values()), "distinct ids", len(ids), "dups", sum(1 for v in ids.values() if v>1), "missing", 25600-len(ids))
PY
tail -2 $w/final.out
