#!/usr/bin/env bash
# Submits one bedrock-batch job to AWS Batch as an array of SHARDS children.
#
#   deploy/aws-batch/submit-array-job.sh SHARDS RUN_NAME [JOB_FILE]
#   deploy/aws-batch/submit-array-job.sh 8 reviews-2026-11
#
# Each child gets AWS_BATCH_JOB_ARRAY_INDEX (0..SHARDS-1) and
# AWS_BATCH_JOB_ARRAY_SIZE (SHARDS) from AWS Batch, which `bedrock-batch run` turns
# into its shard (--shard INDEX/SIZE): the children split the records by a
# stable hash of their id and write their own data files and manifest into
# the same output, s3://.../runs/RUN_NAME/ in deploy/job.yaml. The rpm and
# tpm of the job file are the whole job's quota; each child paces at 1/SHARDS.
#
# A child that exits 1 (interrupted, spot reclaim, I/O failure) is retried
# by the job definition's retryStrategy with the same RUN_NAME, and resumes.
# To finish a job whose attempts ran out, submit it again with the same
# SHARDS and RUN_NAME: records that have an ok row are not sent again.
#
# Needs the AWS CLI v2 and the job queue and definition below
# (aws batch register-job-definition --cli-input-json file://deploy/aws-batch/job-definition.json).
set -euo pipefail

shards=${1:?usage: $0 SHARDS RUN_NAME [JOB_FILE]}
run_name=${2:?usage: $0 SHARDS RUN_NAME [JOB_FILE]}
job_file=${3:-/etc/bedrock-batch/job.yaml}
queue=${JOB_QUEUE:-bedrock-batch}
definition=${JOB_DEFINITION:-bedrock-batch}

if ! [[ $shards =~ ^[0-9]+$ ]] || ((shards < 1 || shards > 10000)); then
	echo "$0: SHARDS must be 1 to 10000 (AWS Batch's largest array), got $shards" >&2
	exit 2
fi
if ! [[ $run_name =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$ ]]; then
	echo "$0: RUN_NAME may hold letters, digits, - and _ only, got $run_name" >&2
	exit 2
fi

args=(
	--job-name "bedrock-batch-$run_name"
	--job-queue "$queue"
	--job-definition "$definition"
	--parameters "job=$job_file"
	--container-overrides "environment=[{name=RUN_NAME,value=$run_name}]"
	--tags "run=$run_name"
	--query jobId --output text
)
# An array has 2 to 10,000 children; one shard is a plain job (no shard).
if ((shards > 1)); then
	args+=(--array-properties "size=$shards")
fi

job_id=$(aws batch submit-job "${args[@]}")
echo "submitted $job_id: $shards shard(s) of run $run_name" >&2
echo "watch: aws batch describe-jobs --jobs $job_id --query 'jobs[0].[status,arrayProperties.statusSummary]'" >&2
echo "$job_id"
