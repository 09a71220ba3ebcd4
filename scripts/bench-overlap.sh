#!/usr/bin/env bash
# Two copies of one run into the same output at once (a cron night that
# overlaps the last, a retried task while the first still runs): 3,000
# records at concurrency 32 against the emulator (100 ms), the second copy
# started 2 s after the first. Prints each copy's exit status and the
# second's message, then runs a third copy with --wait once both ended,
# and the emulator's answered calls (answered - 3,000 = paid twice), and
# checks the output holds exactly one row per record.
# Usage: bash scripts/bench-overlap.sh
set -uo pipefail
cd "$(dirname "$0")/.."
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
go build -o $w/batch ./cmd/batch
python3 - > $w/in.jsonl <<'PY'
import json
for i in range(3000):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader"}))
PY
port=18$((RANDOM % 900 + 100))
$w/batch emulate --addr 127.0.0.1:$port --latency 100ms 2>$w/emulate.log &
em=$!
sleep 1
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_BEDROCK=http://127.0.0.1:$port AWS_ENDPOINT_URL_SERVICE_QUOTAS=http://127.0.0.1:$port
args=(run --input $w/in.jsonl --output $w/out --model anthropic.claude-3-haiku-20240307-v1:0 --max-tokens 50
  --concurrency 32 --bedrock-endpoint http://127.0.0.1:$port)
$w/batch "${args[@]}" >$w/first.out 2>$w/first.err &
first=$!
sleep 2
$w/batch "${args[@]}" >$w/second.out 2>$w/second.err
echo "second copy: exit $?"
sed 's/^/  /' $w/second.err | tail -3
wait $first
echo "first copy: exit $?"
$w/batch "${args[@]}" --wait >$w/third.out 2>$w/third.err
echo "third copy, --wait, after both: exit $?"
grep -o "calls [0-9]*" $w/third.out | head -1 | sed 's/^/  this run: /'
kill -INT $em; wait $em
grep -o "served [0-9]* requests ([^)]*)" $w/emulate.log
python3 - $w <<'PY'
import json, glob, sys, collections
w=sys.argv[1]
ids=collections.Counter()
for f in glob.glob(w+"/out/part-*.jsonl"):
    for line in open(f):
        r=json.loads(line); ids[r["id"]]+=1
print("rows", sum(ids.values()), "distinct ids", len(ids), "dups", sum(1 for v in ids.values() if v>1), "missing", 3000-len(ids))
PY
