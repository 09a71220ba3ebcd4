#!/usr/bin/env bash
# Pacing at a quota read from Service Quotas (issue 17): runs with no --tpm
# against an emulator account whose on-demand quota for the model is TPM
# tokens a minute, at the given concurrencies and latencies, once with the
# quotas readable and once with ListServiceQuotas denied (adaptive pacing,
# as before). Prints, for each, the share of the quota achieved over the
# steady part of the run, the calls throttled, and the wall time against
# the ideal (quota tokens settled / quota).
# Usage: bash scripts/bench-quota-discovery.sh [records] [tpm]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000}
tpm=${2:-120000}
model=anthropic.claude-3-haiku-20240307-v1:0
work=$(mktemp -d)
cleanup() { kill "${emulator:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/batch" ./cmd/batch
python3 - "$records" > "$work/in.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader"}))
PY
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
printf "%-8s %-11s %-10s %-9s %-10s %-9s %s\n" latency concurrency quotas achieved throttled wall ideal
for latency in 100ms 1s; do
	for concurrency in 64 256; do
		for quotas in read denied; do
			port=16$((RANDOM % 900 + 100))
			deny=()
			if [ $quotas = denied ]; then deny=(--deny-service-quotas); fi
			"$work/batch" emulate --addr 127.0.0.1:$port --latency $latency --account-quota "$model:tpm=$tpm" "${deny[@]}" 2>"$work/emulate.log" &
			emulator=$!
			sleep 1
			out="$work/out-$latency-$concurrency-$quotas"
			"$work/batch" run --input "$work/in.jsonl" --output "$out" --model $model --max-tokens 40 \
				--concurrency $concurrency --bedrock-endpoint http://127.0.0.1:$port \
				--service-quotas-endpoint http://127.0.0.1:$port --bedrock-control-endpoint http://127.0.0.1:$port \
				>/dev/null 2>"$work/run.log" || true
			kill $emulator; wait $emulator 2>/dev/null || true
			python3 - "$out/_manifest.json" "$latency" "$concurrency" "$quotas" "$tpm" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
q = m["quotas"][0]
calls = m["calls"]
tpm = float(sys.argv[5])
ideal = q["settled_tokens"] / tpm * 60
achieved = q["achieved_per_minute"] / tpm
print("%-8s %-11s %-10s %-9.3f %-10s %-9s %.1fs" % (sys.argv[2], sys.argv[3], sys.argv[4], achieved,
      "%d/%d" % (calls["throttled"], calls["attempts"]), "%.1fs" % m["wall_seconds"], ideal))
PY
		done
	done
done
