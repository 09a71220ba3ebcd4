#!/usr/bin/env bash
# Peak memory of a 1,000,000-record JSONL run (goal: under 100 MB). The
# emulator runs as its own process, so only the batch process is measured.
# With the route batch-inference (issue 17), the records go through Bedrock
# batch-inference jobs: the emulator serves the control plane over a local
# MinIO (scripts/s3-server.sh), its account's quota is 50,000 records a job
# (read from its Service Quotas), and the run stages, submits, collects and
# writes every record.
# Usage: bash scripts/bench-memory.sh [records] [on-demand|batch-inference]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
route=${2:-on-demand}
work=$(mktemp -d)
cleanup() {
	kill "${emulator:-}" 2>/dev/null || true
	if [ "$route" = batch-inference ]; then s3_server_stop; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/batch" ./cmd/batch
python3 - "$records" > "$work/in.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": i, "prompt": f"Summarise document {i} in one short paragraph for a busy reader", "metadata": {"n": i}}))
PY
model=anthropic.claude-3-haiku-20240307-v1:0
port=18$((RANDOM % 900 + 100))
emulate=(--addr 127.0.0.1:$port)
run=(--input "$work/in.jsonl" --output "$work/out" --model $model --concurrency 64 --bedrock-endpoint http://127.0.0.1:$port
	--bedrock-control-endpoint http://127.0.0.1:$port)
env=(AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
case $route in
on-demand) ;;
batch-inference)
	source scripts/s3-server.sh
	s3_server_start >/dev/null
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$BEDROCK_BATCH_TEST_S3_ACCESS_KEY:$BEDROCK_BATCH_TEST_S3_SECRET_KEY" \
		-X PUT "$BEDROCK_BATCH_TEST_S3_ENDPOINT/staging" >/dev/null
	env=(AWS_ACCESS_KEY_ID=$BEDROCK_BATCH_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BEDROCK_BATCH_TEST_S3_SECRET_KEY
		AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
	emulate+=(--batch-s3-endpoint "$BEDROCK_BATCH_TEST_S3_ENDPOINT" --account-quota "$model:records-per-job=50000,tpm=10000000")
	run+=(--route batch-inference --role-arn arn:aws:iam::123456789012:role/BedrockBatch --staging s3://staging/bench/
		--s3-endpoint "$BEDROCK_BATCH_TEST_S3_ENDPOINT"
		--service-quotas-endpoint http://127.0.0.1:$port --batch-poll 1s --max-tokens 100)
	;;
*)
	echo "bench-memory: route $route: want on-demand or batch-inference" >&2
	exit 2
	;;
esac
env "${env[@]}" "$work/batch" emulate "${emulate[@]}" 2>"$work/emulate.log" &
emulator=$!
sleep 1
env "${env[@]}" /usr/bin/time -v "$work/batch" run "${run[@]}" 2>"$work/time.log" | grep -v "^wrote"
grep -E "Maximum resident set size|Elapsed" "$work/time.log"
# How its rows became durable and how many data files they made (issue 15).
grep -E "msg=journal" "$work/time.log" || true
echo "data files: $(ls "$work/out" | grep -c -E '^part-.*\.(jsonl|parquet)$')"
if [ "$route" = batch-inference ]; then
	grep -E "batch inference: staged|job limits" "$work/time.log" | head -3
fi
