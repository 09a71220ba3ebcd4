package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// withoutEnv is env with the variables named dropped.
func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// TestSetupFailuresStopBeforeAnyCall: every setup problem ends the run, the
// validation and the dry run with exit 2 and one line that says what to
// fix, before the emulator sees a single call.
func TestSetupFailuresStopBeforeAnyCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(20))
	notADir := writeFile(t, dir, "file", "x")
	badSchema := writeFile(t, dir, "schema.json", `{"type": "object", "properties": `)
	tests := []struct {
		name  string
		env   func(endpoint string) []string
		args  []string
		wants []string
	}{
		{"no credentials", func(e string) []string {
			return withoutEnv(emulatorEnv(e), "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
		}, nil, []string{"no AWS credentials", "AWS_PROFILE", "IMDS"}},
		{"no region", func(e string) []string { return withoutEnv(emulatorEnv(e), "AWS_REGION") }, nil,
			[]string{"no AWS region", "--region"}},
		{"output not writable", emulatorEnv, []string{"--output", filepath.Join(notADir, "out")},
			[]string{filepath.Join(notADir, "out"), "not a directory"}},
		{"input missing", emulatorEnv, []string{"--input", filepath.Join(dir, "nope.jsonl")}, []string{"nope.jsonl"}},
		{"bad JSON Schema file", emulatorEnv, []string{"--json-schema", badSchema}, []string{"--json-schema", "schema.json"}},
	}
	for _, tt := range tests {
		for _, command := range [][]string{{"run"}, {"validate"}, {"run", "--dry-run"}} {
			t.Run(tt.name+"/"+strings.Join(command, " "), func(t *testing.T) {
				srv := startEmulator(t, bedrocktest.Options{})
				args := append(slices.Clone(command), "--input", input, "--output", filepath.Join(t.TempDir(), "out"), "--model", "m", "--max-tokens", "50")
				args = append(args, tt.args...)
				res := runBatchRaw(t, tt.env(srv.URL), args...)
				if res.code != exitUsage {
					t.Errorf("exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
				}
				for _, want := range tt.wants {
					if !strings.Contains(res.stderr, want) {
						t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
					}
				}
				if lines := strings.Count(strings.TrimSpace(res.stderr), "\n") + 1; lines > 3 {
					t.Errorf("%d lines on stderr, want the problem in one:\n%s", lines, res.stderr)
				}
				if n := srv.Stats().Requests; n != 0 {
					t.Errorf("the emulator received %d calls", n)
				}
			})
		}
	}
}

// TestSetupRefusedByBedrockStopsAtOnce: when Bedrock's first answers say
// the setup is wrong, the run stops after the calls already in flight:
// no retry, no error row, exit 2 and Bedrock's reason.
func TestSetupRefusedByBedrockStopsAtOnce(t *testing.T) {
	for _, refusal := range []string{"AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"} {
		t.Run(refusal, func(t *testing.T) {
			srv := startEmulator(t, bedrocktest.Options{Refuse: refusal})
			dir := t.TempDir()
			input := filepath.Join(dir, "in.jsonl")
			writeJSONLInput(t, input, makeRecords(200))
			out := filepath.Join(dir, "out")
			const concurrency = 8
			res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", "m", "--max-tokens", "50",
				"--concurrency", "8")
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
			}
			if !strings.Contains(res.stderr, refusal) {
				t.Errorf("stderr does not name %s:\n%s", refusal, res.stderr)
			}
			if n := srv.Stats().Requests; n == 0 || n > concurrency {
				t.Errorf("the emulator received %d calls, want 1 to %d (the calls in flight)", n, concurrency)
			}
			if rows := readOutputIfAny(t, out); len(rows) != 0 {
				t.Errorf("%d rows written; a setup failure is no record's error", len(rows))
			}
		})
	}
}

// readOutputIfAny is readOutput of an output that may hold no data file.
func readOutputIfAny(t *testing.T, dir string) []string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	var lines []string
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Fields(string(data))...)
	}
	return lines
}

// TestUnreachableEndpointStopsWithoutErrorRows: when no call of the run is
// ever answered (nothing listens at the endpoint), the run stops once a
// record has used its attempts, writes no error rows, and exits 1: it may
// be an outage, which a later run gets past.
func TestUnreachableEndpointStopsWithoutErrorRows(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{})
	endpoint := srv.URL
	srv.Close() // nothing listens there now
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(50))
	out := filepath.Join(dir, "out")
	res := runBatch(t, endpoint, "run", "--input", input, "--output", out, "--model", "m", "--max-tokens", "50",
		"--max-attempts", "2", "--concurrency", "4")
	if res.code != exitFailed {
		t.Errorf("exit %d, want %d\n%s", res.code, exitFailed, res.stderr)
	}
	if !strings.Contains(res.stderr, "Bedrock could not be reached") || !strings.Contains(res.stderr, "--bedrock-endpoint") {
		t.Errorf("stderr does not say Bedrock could not be reached:\n%s", res.stderr)
	}
	if rows := readOutputIfAny(t, out); len(rows) != 0 {
		t.Errorf("%d error rows written for an endpoint no call reached", len(rows))
	}
}

// TestModelLifecycle: a Legacy model gets one warning with its end-of-life
// date and the run goes on; a model past its end of life stops the run,
// validate and the dry run with exit 2 before any call.
func TestModelLifecycle(t *testing.T) {
	const legacy, retired = "anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"
	eol := time.Now().AddDate(0, 2, 0)
	srv := startEmulator(t, bedrocktest.Options{Lifecycles: map[string]bedrocktest.Lifecycle{
		legacy: {Status: "LEGACY", LegacyAt: time.Now().AddDate(0, -1, 0), EndOfLife: eol},
		"anthropic.claude-3-5-haiku-20241022-v1:0": {Status: "LEGACY", EndOfLife: time.Now().AddDate(0, 0, -1)},
	}})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(10))

	res := runBatch(t, srv.URL, "run", "--input", input, "--output", filepath.Join(dir, "a"), "--model", legacy, "--max-tokens", "50")
	if res.code != exitOK {
		t.Fatalf("legacy model: exit %d\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "is Legacy"); n != 1 || !strings.Contains(res.stderr, "end of life on "+eol.UTC().Format(time.DateOnly)) {
		t.Errorf("legacy model: %d warnings, want one with its end-of-life date:\n%s", n, res.stderr)
	}
	for _, command := range [][]string{{"run"}, {"validate"}, {"run", "--dry-run"}} {
		calls := srv.Stats().Requests
		args := append(command, "--input", input, "--output", filepath.Join(t.TempDir(), "b"), "--model", retired, "--max-tokens", "50")
		res := runBatch(t, srv.URL, args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, "reached its end of life") {
			t.Errorf("%q with a retired model: exit %d, want %d\n%s%s", command, res.code, exitUsage, res.stdout, res.stderr)
		}
		if srv.Stats().Requests != calls {
			t.Errorf("%q with a retired model made %d calls", command, srv.Stats().Requests-calls)
		}
	}
}
