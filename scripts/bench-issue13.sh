#!/usr/bin/env bash
# The three runs issue 13 reported, through the built binary against
# `batch emulate` in a process of its own (buckets of 2 s of quota, its
# default): prompts of 5 to 80 words, concurrency 64. For each run it
# prints the calls the emulator throttled, the achieved share of the quota
# from _manifest.json (quota tokens settled per minute over the steady
# part of the run) and the wall time over the ideal (the quota tokens the
# run settled at the quota, or records at the requests-per-minute quota).
# Usage: bash scripts/bench-issue13.sh [run...]   (runs: tpm claude rpm rpm-max-tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
emulator=
trap '[ -n "$emulator" ] && kill "$emulator" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/batch" ./cmd/batch

# records N FILE: N records of 5 to 80 words, the same words every time.
records() {
	python3 - "$1" > "$2" <<'PY'
import json, random, sys
rng = random.Random(13)
words = "the quota holds calls in flight while each one waits for its answer and reserves its tokens".split()
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": " ".join(rng.choice(words) for _ in range(rng.randint(5, 80)))}))
PY
}

# run NAME RECORDS IDEAL_KIND QUOTA "EMULATE FLAGS" "RUN FLAGS"
run() {
	local name=$1 n=$2 kind=$3 quota=$4 eflags=$5 rflags=$6
	local port=18$((RANDOM % 900 + 100))
	records "$n" "$work/$name.jsonl"
	# shellcheck disable=SC2086
	"$work/batch" emulate --addr 127.0.0.1:$port $eflags 2>"$work/$name.emulate.log" &
	emulator=$!
	sleep 1
	# shellcheck disable=SC2086
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
		"$work/batch" run --input "$work/$name.jsonl" --output "$work/$name.out" --concurrency 64 \
		--bedrock-endpoint http://127.0.0.1:$port --service-quotas-endpoint http://127.0.0.1:$port \
		--bedrock-control-endpoint http://127.0.0.1:$port $rflags >"$work/$name.stdout" 2>"$work/$name.stderr" || true
	kill -INT "$emulator"
	wait "$emulator" || true
	emulator=
	python3 - "$name" "$n" "$kind" "$quota" "$work/$name.out/_manifest.json" "$work/$name.emulate.log" <<'PY'
import json, re, sys
name, n, kind, quota, manifest, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6]
m = json.load(open(manifest))
served = re.search(r"served (\d+) requests \((\d+) ok, (\d+) throttled", open(log).read())
requests, ok, throttled = (int(x) for x in served.groups())
if kind == "tpm":
    settled = sum(q["settled_tokens"] for q in m.get("quotas", []))
    ideal = settled / quota * 60
    achieved = max((q["achieved_of_quota"] for q in m.get("quotas", [])), default=0)
else:  # rpm: records at the requests-per-minute quota
    ideal = n / quota * 60
    achieved = n / m["wall_seconds"] * 60 / quota
print(f"{name}: {n} records, {m['counts']['ok']} ok; emulator: {requests} calls, {throttled} throttled "
      f"({throttled / n:.1%} of records, {throttled / requests:.1%} of calls); achieved/quota {achieved:.3f}; "
      f"wall {m['wall_seconds']:.1f} s, ideal {ideal:.1f} s, time/ideal {m['wall_seconds'] / ideal:.3f}")
PY
}

runs=${*:-tpm claude rpm rpm-max-tokens}
for r in $runs; do
	case $r in
	tpm) run tpm 300 tpm 37000 "--tpm 37000 --latency 100ms" \
		"--model amazon.nova-lite-v1:0 --tpm 37000 --max-tokens 64" ;;
	claude) run claude 200 tpm 60000 "--tpm 60000 --burndown --latency 100ms" \
		"--model us.anthropic.claude-sonnet-4-20250514-v1:0 --tpm 60000 --max-tokens 64" ;;
	rpm) run rpm 600 rpm 1200 "--rpm 1200 --latency 50ms" \
		"--model amazon.nova-lite-v1:0" ;;
	rpm-max-tokens) run rpm-max-tokens 600 rpm 1200 "--rpm 1200 --latency 50ms" \
		"--model amazon.nova-lite-v1:0 --max-tokens 64" ;;
	*) echo "unknown run $r" >&2; exit 2 ;;
	esac
done
