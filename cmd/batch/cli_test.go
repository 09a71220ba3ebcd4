package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(1))
	out := filepath.Join(dir, "out")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, exitUsage, "Usage"},
		{"unknown command", []string{"fly"}, exitUsage, "unknown command"},
		{"unknown flag", []string{"run", "--input", input, "--output", out, "--model", "m", "--colour", "red"}, exitUsage, "colour"},
		{"missing model", []string{"run", "--input", input, "--output", out}, exitUsage, "no model"},
		{"missing input", []string{"run", "--output", out, "--model", "m"}, exitUsage, "no input"},
		{"missing output", []string{"run", "--input", input, "--model", "m"}, exitUsage, "no output"},
		{"bad output format", []string{"run", "--input", input, "--output", out, "--model", "m", "--output-format", "csv"}, exitUsage, "csv"},
		{"bad temperature", []string{"run", "--input", input, "--output", out, "--model", "m", "--temperature", "warm"}, exitUsage, "warm"},
		{"input not found", []string{"run", "--input", filepath.Join(dir, "nope.jsonl"), "--output", out, "--model", "m"}, exitUsage, "nope.jsonl"},
		{"unknown extension", []string{"run", "--input", filepath.Join(dir, "in.jsonl"), "--input", writeFile(t, dir, "x.csv", "a,b\n"), "--output", out, "--model", "m"}, exitUsage, "x.csv"},
		{"help", []string{"run", "--help"}, exitOK, "--concurrency N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBatch(t, "", tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstderr: %s", res.code, tt.wantCode, res.stderr)
			}
			if !strings.Contains(res.stderr+res.stdout, tt.wantErr) {
				t.Errorf("output does not mention %q:\n%s%s", tt.wantErr, res.stdout, res.stderr)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInferenceOptionsReachTheRequest checks that every option a user sets
// is sent, zero values included, and that unset ones are left out.
func TestInferenceOptionsReachTheRequest(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		check func(t *testing.T, r bedrocktest.ObservedRequest)
	}{
		{"temperature 0 is sent", []string{"--temperature", "0"}, func(t *testing.T, r bedrocktest.ObservedRequest) {
			if r.Temperature == nil || *r.Temperature != 0 {
				t.Errorf("temperature %v, want 0 sent", r.Temperature)
			}
			if r.MaxTokens != nil || r.TopP != nil {
				t.Errorf("unset options were sent: maxTokens %v topP %v", r.MaxTokens, r.TopP)
			}
		}},
		{"all set", []string{"--max-tokens", "300", "--temperature", "0.5", "--top-p", "0", "--stop", "END", "--stop", "###", "--system", "Be brief."}, func(t *testing.T, r bedrocktest.ObservedRequest) {
			if r.MaxTokens == nil || *r.MaxTokens != 300 || r.Temperature == nil || *r.Temperature != 0.5 || r.TopP == nil || *r.TopP != 0 {
				t.Errorf("inference config %v %v %v", r.MaxTokens, r.Temperature, r.TopP)
			}
			if strings.Join(r.StopSequences, "|") != "END|###" {
				t.Errorf("stop sequences %q", r.StopSequences)
			}
			if strings.Join(r.System, "") != "Be brief." {
				t.Errorf("system %q", r.System)
			}
		}},
		{"nothing set", nil, func(t *testing.T, r bedrocktest.ObservedRequest) {
			if r.MaxTokens != nil || r.Temperature != nil || r.TopP != nil || len(r.StopSequences) > 0 || len(r.System) > 0 {
				t.Errorf("options sent that were never set: %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []bedrocktest.ObservedRequest
			srv := startEmulator(t, bedrocktest.Options{Observe: func(r bedrocktest.ObservedRequest) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, r)
			}})
			dir := t.TempDir()
			input := filepath.Join(dir, "in.jsonl")
			writeJSONLInput(t, input, makeRecords(3))
			args := append([]string{"run", "--input", input, "--output", filepath.Join(dir, "out"), "--model", "us.anthropic.claude-sonnet-4-20250514-v1:0"}, tt.flags...)
			if res := runBatch(t, srv.URL, args...); res.code != exitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 3 {
				t.Fatalf("%d requests, want 3", len(seen))
			}
			for _, r := range seen {
				if r.ModelID != "us.anthropic.claude-sonnet-4-20250514-v1:0" {
					t.Errorf("model id %q", r.ModelID)
				}
				tt.check(t, r)
			}
		})
	}
}

// TestBadRecordsBecomeErrorRows runs a file with broken lines and records
// Bedrock refuses: each becomes one error row, the rest are answered, and
// the exit status says some rows are errors.
func TestBadRecordsBecomeErrorRows(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	input := writeFile(t, dir, "mixed.jsonl", "\ufeff"+`{"id":"a","prompt":"hello there"}`+"\r\n"+
		`{"id":"b","prompt":`+"\n"+
		`{"id":"c","prompt":"please `+bedrocktest.InvalidMarker+` refuse"}`+"\n"+
		`{"id":"d","prompt":42}`+"\n"+
		`{"prompt":"no id here"}`)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", "m")
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
	}
	rows := map[string]writer.Row{}
	for _, r := range readOutput(t, out) {
		rows[r.ID] = r
	}
	want := map[string]struct{ status, errorType, mention string }{
		"a":             {writer.StatusOK, "", ""},
		"mixed.jsonl:2": {writer.StatusError, "InvalidRecord", "mixed.jsonl:2"},
		"c":             {writer.StatusError, "ValidationException", ""},
		"d":             {writer.StatusError, "InvalidRecord", "prompt"},
		"mixed.jsonl:5": {writer.StatusOK, "", ""},
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for id, w := range want {
		r, ok := rows[id]
		if !ok {
			t.Errorf("no row for %q", id)
			continue
		}
		if r.Status != w.status || r.ErrorType != w.errorType || !strings.Contains(r.ErrorMessage, w.mention) {
			t.Errorf("row %q: %s %s %q, want %s %s mentioning %q", id, r.Status, r.ErrorType, r.ErrorMessage, w.status, w.errorType, w.mention)
		}
	}
	if rows["c"].Attempts != 1 {
		t.Errorf("a ValidationException was retried: %d attempts", rows["c"].Attempts)
	}
	if strings.Contains(res.stderr, "hello there") || strings.Contains(res.stderr, "no id here") {
		t.Errorf("prompt text in the log:\n%s", res.stderr)
	}
}

// TestValidateAndDryRun: neither calls the model; validate fails on a
// sample with broken records and names them, dry-run prints the estimate.
func TestValidateAndDryRun(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeJSONLInput(t, good, makeRecords(50))
	var exact int64
	for _, r := range makeRecords(50) {
		exact += bedrocktest.CountTokens(r.Prompt)
	}
	bad := writeFile(t, dir, "bad.jsonl", `{"id":"x","prompt":"fine"}`+"\n"+`{"id":"y"}`+"\n")
	out := filepath.Join(dir, "out")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"validate good", []string{"validate", "--input", good, "--output", out, "--model", "m"}, exitOK, []string{"validated: 50 records read, 0 invalid"}},
		{"validate bad", []string{"validate", "--input", good, "--input", bad, "--output", out, "--model", "m"}, exitSomeErrors, []string{"1 invalid", "bad.jsonl:2", `"prompt"`}},
		{"validate unknown job key", []string{"validate", "--job", writeFile(t, dir, "job.yaml", "modle: m\n")}, exitUsage, []string{"job.yaml:1", `unknown key "modle"`}},
		{"dry run", []string{"run", "--dry-run", "--input", good, "--output", out, "--model", "anthropic.claude-3-haiku-20240307-v1:0", "--max-tokens", "100", "--rpm", "600"},
			exitOK, []string{"50 records to send", "output at most 5000", "estimated cost: $", "about 5s"}},
		// 6,000 tokens a minute hold 200 in Bedrock's two-second bucket:
		// calls reserving 1,000 start one at a time.
		{"dry run, --max-tokens beyond the quota's bucket", []string{"run", "--dry-run", "--input", good, "--output", out, "--model", "m", "--max-tokens", "1000", "--tpm", "6000"},
			exitOK, []string{"calls in flight per second a call takes", "more than the 200 (2 s of quota) Bedrock's bucket holds at the least", "lower --max-tokens"}},
		{"validate against the model rules", []string{"validate", "--input", good, "--output", out, "--model", "anthropic.claude-sonnet-4-20250514-v1:0",
			"--max-tokens", "100000", "--temperature", "0.5"}, exitUsage,
			[]string{"preflight problem: anthropic.claude-sonnet-4-20250514-v1:0 has no on-demand throughput", "above the model's maximum output of 64000"}},
		{"dry run with per-model rules", []string{"run", "--dry-run", "--input", writeFile(t, dir, "two.jsonl",
			`{"id":"a","prompt":"x","model":"global.anthropic.claude-sonnet-4-5-20250929-v1:0"}`+"\n"+`{"id":"b","prompt":"y"}`+"\n"),
			"--output", out, "--model", "m", "--temperature", "0.5", "--top-p", "0.9"}, exitUsage,
			[]string{"takes --temperature or --top-p, not both", "preflight note: m: not in the rules table", "global.anthropic.claude-sonnet-4-5-20250929-v1:0: 1 records"}},
		{"dry run counting tokens", []string{"run", "--dry-run", "--count-tokens", "--input", good, "--output", out, "--model", "m"},
			exitOK, []string{fmt.Sprintf("input tokens %d (counted by Bedrock CountTokens)", exact)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBatch(t, srv.URL, tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stdout+res.stderr, w) {
					t.Errorf("output does not mention %q:\n%s%s", w, res.stdout, res.stderr)
				}
			}
		})
	}
	if calls := srv.Stats().Requests; calls != 0 {
		t.Errorf("validate and dry-run made %d model calls", calls)
	}
	if counted := srv.Stats().CountTokens; counted != 50 {
		t.Errorf("%d CountTokens calls, want one per record (50)", counted)
	}
	if rows := readOutput(t, out); len(rows) != 0 {
		t.Errorf("validate or dry-run wrote %d rows", len(rows))
	}
}

// TestHelpAndVersionOnStdout: help and version go to standard output, so
// `batch help run | head` shows the usage, and exit 0.
func TestHelpAndVersionOnStdout(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "run"}, "Usage: batch run --input PATH..."},
		{[]string{"help", "validate"}, "Usage: batch validate --input PATH..."},
		{[]string{"run", "--help"}, "Quotas and pacing:"},
		{[]string{"help", "status"}, "Usage: batch status --output"},
		{[]string{"version"}, "batch github.com/bedrock-batch/bedrock-batch"},
	} {
		res := runBatch(t, "", tt.args...)
		if res.code != exitOK || !strings.Contains(res.stdout, tt.want) {
			t.Errorf("%q: exit %d, stdout does not hold %q:\n%s\nstderr: %s", tt.args, res.code, tt.want, res.stdout, res.stderr)
		}
	}
	res := runBatch(t, "", "run", "--concurency", "3")
	if lines := strings.Count(res.stderr, "\n"); res.code != exitUsage || lines > 2 || !strings.Contains(res.stderr, "did you mean --concurrency?") {
		t.Errorf("a typo: exit %d, %d lines:\n%s", res.code, lines, res.stderr)
	}
}
