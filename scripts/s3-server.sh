#!/usr/bin/env bash
# An S3 server for the tests: MinIO on 127.0.0.1, on a free port, with a
# temporary data directory and fixed root credentials.
#
# Sourced (as scripts/test.sh does), it defines s3_server_start, which
# installs MinIO if need be, starts it, waits until it is live and exports
# BEDROCK_BATCH_TEST_S3_ENDPOINT, BEDROCK_BATCH_TEST_S3_ACCESS_KEY and
# BEDROCK_BATCH_TEST_S3_SECRET_KEY; and s3_server_stop, which stops it and
# removes its data directory.
#
# Run directly (bash scripts/s3-server.sh), it starts the server, prints the
# export lines to paste into another shell, and stops it on Ctrl-C.
#
# MinIO is built from source with go install into $(go env GOPATH)/bin the
# first time (about 3 minutes); later runs reuse that binary.

# MINIO_MODULE is the MinIO source that go install builds. MinIO tags no Go
# module versions: this pseudo-version is its master of 2026-02-12.
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

S3_SERVER_ACCESS_KEY=bedrockbatch
S3_SERVER_SECRET_KEY=bedrockbatch-test-secret

# s3_server_install sets S3_SERVER_BIN to the minio binary, installing it
# if it is not there yet.
s3_server_install() {
	local bindir
	bindir=$(go env GOBIN)
	if [ -z "$bindir" ]; then
		bindir="$(go env GOPATH)/bin"
	fi
	S3_SERVER_BIN="$bindir/minio"
	if [ -x "$S3_SERVER_BIN" ]; then
		return 0
	fi
	echo "s3-server: installing MinIO ($MINIO_MODULE) with go install; the first time takes a few minutes" >&2
	local start=$SECONDS
	if ! GOFLAGS=-buildvcs=false go install "$MINIO_MODULE" >&2; then
		echo "s3-server: go install $MINIO_MODULE failed" >&2
		return 1
	fi
	echo "s3-server: installed $S3_SERVER_BIN in $((SECONDS - start))s" >&2
}

# s3_server_free_port prints a loopback port that nothing listens on.
s3_server_free_port() {
	local port _
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$port"); then
			echo "$port"
			return 0
		fi
	done
	echo "s3-server: found no free port" >&2
	return 1
}

# s3_server_get PORT PATH succeeds when GET PATH answers 200.
s3_server_get() {
	local status
	status=$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$2" "$1" >&3
		IFS= read -r -t 5 line <&3 && printf '%s' "$line"
	)
	[[ $status == HTTP/1.?" 200"* ]]
}

# s3_server_start starts MinIO and exports what the tests need.
s3_server_start() {
	s3_server_install || return 1
	S3_SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bedrock-batch-s3.XXXXXX") || return 1
	local try i port console
	for try in 1 2 3 4 5; do
		port=$(s3_server_free_port) && console=$(s3_server_free_port) || return 1
		MINIO_ROOT_USER=$S3_SERVER_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SERVER_SECRET_KEY \
			MINIO_BROWSER=off MINIO_UPDATE=off \
			"$S3_SERVER_BIN" server --quiet --address "127.0.0.1:$port" \
			--console-address "127.0.0.1:$console" "$S3_SERVER_DIR/data" \
			>"$S3_SERVER_DIR/minio.log" 2>&1 </dev/null &
		S3_SERVER_PID=$!
		for i in $(seq 600); do # 60 s
			if s3_server_get "$port" /minio/health/live && s3_server_get "$port" /minio/health/ready; then
				export BEDROCK_BATCH_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
				export BEDROCK_BATCH_TEST_S3_ACCESS_KEY=$S3_SERVER_ACCESS_KEY
				export BEDROCK_BATCH_TEST_S3_SECRET_KEY=$S3_SERVER_SECRET_KEY
				echo "s3-server: MinIO (pid $S3_SERVER_PID) is live at $BEDROCK_BATCH_TEST_S3_ENDPOINT, data in $S3_SERVER_DIR" >&2
				return 0
			fi
			if ! kill -0 "$S3_SERVER_PID" 2>/dev/null; then
				break # it exited, perhaps a port was taken meanwhile: try others
			fi
			sleep 0.1
		done
		echo "s3-server: MinIO did not become live on port $port (try $try); its log:" >&2
		cat "$S3_SERVER_DIR/minio.log" >&2
		s3_server_kill
	done
	return 1
}

# s3_server_kill stops the server process, if any.
s3_server_kill() {
	if [ -n "${S3_SERVER_PID:-}" ]; then
		kill "$S3_SERVER_PID" 2>/dev/null || true
		local i
		for i in $(seq 100); do # 10 s, then no more asking
			kill -0 "$S3_SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$S3_SERVER_PID" 2>/dev/null || true
		wait "$S3_SERVER_PID" 2>/dev/null || true
		S3_SERVER_PID=
	fi
}

# s3_server_stop stops the server and removes its data directory.
s3_server_stop() {
	s3_server_kill
	if [ -n "${S3_SERVER_DIR:-}" ]; then
		rm -rf "$S3_SERVER_DIR"
		S3_SERVER_DIR=
	fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	trap s3_server_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	s3_server_start
	echo "export BEDROCK_BATCH_TEST_S3_ENDPOINT=$BEDROCK_BATCH_TEST_S3_ENDPOINT"
	echo "export BEDROCK_BATCH_TEST_S3_ACCESS_KEY=$BEDROCK_BATCH_TEST_S3_ACCESS_KEY"
	echo "export BEDROCK_BATCH_TEST_S3_SECRET_KEY=$BEDROCK_BATCH_TEST_S3_SECRET_KEY"
	echo "s3-server: Ctrl-C stops it" >&2
	wait "$S3_SERVER_PID"
fi
