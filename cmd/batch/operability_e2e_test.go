package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// TestErrorBreakdownAndHint: the summary and status count error rows by
// type with the most common message, say how to send them again, and a
// re-run says how many records it skipped for their error rows. status
// exits 3 for a complete output with error rows.
func TestErrorBreakdownAndHint(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	recs := makeRecords(40)
	for i := range recs {
		if i%4 == 0 {
			recs[i].Prompt += " " + bedrocktest.InvalidMarker
		}
	}
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", input, "--output", out, "--model", "m", "--max-tokens", "50"}
	res := runBatch(t, srv.URL, args...)
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
	}
	for _, want := range []string{"error rows by type:", "ValidationException", "10 error rows", "--retry-errors"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the summary does not say %q:\n%s", want, res.stdout)
		}
	}
	m := readManifest(t, out)
	if e := m.Errors["ValidationException"]; e == nil || e.Rows != 10 || e.Message == "" {
		t.Errorf("manifest errors %+v", m.Errors)
	}

	again := runBatch(t, srv.URL, args...)
	if again.code != exitSomeErrors || !strings.Contains(again.stdout, "already done 40 (10 with an error row)") {
		t.Errorf("re-run: exit %d\n%s", again.code, again.stdout)
	}
	st := runBatch(t, srv.URL, "status", "--output", out)
	if st.code != exitSomeErrors || !strings.Contains(st.stdout, "ValidationException") || !strings.Contains(st.stdout, "--retry-errors") {
		t.Errorf("status: exit %d, want %d\n%s%s", st.code, exitSomeErrors, st.stdout, st.stderr)
	}

	// Rows say which run wrote them and when; each run keeps its own
	// manifest under _runs/.
	for _, row := range readOutput(t, out) {
		if row.RunID != m.RunID || row.FinishedAt.IsZero() || time.Since(row.FinishedAt) > time.Hour {
			t.Fatalf("row %s: run_id %q, finished_at %s", row.ID, row.RunID, row.FinishedAt)
		}
	}
	runs, err := os.ReadDir(filepath.Join(out, "_runs"))
	if err != nil || len(runs) != 2 {
		t.Errorf("_runs holds %d manifests (%v), want one per run: 2", len(runs), err)
	}
}

// TestResumeWithOtherOptionsIsRefused: a re-run into an output made with
// another model or system prompt is refused before any call, names what
// changed and how to go on; --allow-changed-options goes on.
func TestResumeWithOtherOptionsIsRefused(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(30))
	out := filepath.Join(dir, "out")
	base := []string{"run", "--input", input, "--output", out, "--max-tokens", "50"}
	// The first run is interrupted: only part of the input has rows.
	first := runBatch(t, srv.URL, append(base, "--model", "m", "--system", "Be kind.", "--tpd", "600")...)
	if first.code != exitQuota {
		t.Fatalf("first run: exit %d, want %d\n%s", first.code, exitQuota, first.stderr)
	}
	calls := srv.Stats().Requests

	res := runBatch(t, srv.URL, append(base, "--model", "other-model", "--system", "Be terse.", "--temperature", "0.9")...)
	if res.code != exitUsage {
		t.Fatalf("changed options: exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
	}
	for _, want := range []string{"--model other-model, was m", "--system changed", "--temperature 0.9, was (not given)", "--allow-changed-options", "--output"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if srv.Stats().Requests != calls {
		t.Errorf("the refused run made %d calls", srv.Stats().Requests-calls)
	}
	if v := runBatch(t, srv.URL, append([]string{"validate"}, append(base[1:], "--model", "other-model")...)...); v.code != exitUsage {
		t.Errorf("validate with changed options: exit %d, want %d\n%s", v.code, exitUsage, v.stderr)
	}

	ok := runBatch(t, srv.URL, append(base, "--model", "m", "--system", "Be kind.")...)
	if ok.code != exitOK {
		t.Errorf("the same options: exit %d\n%s", ok.code, ok.stderr)
	}
	mixed := runBatch(t, srv.URL, append(base, "--model", "other-model", "--allow-changed-options", "--retry-errors")...)
	if mixed.code != exitOK || !strings.Contains(mixed.stderr, "--allow-changed-options mixes them") {
		t.Errorf("--allow-changed-options: exit %d\n%s", mixed.code, mixed.stderr)
	}
}

// TestProgressOffATerminal: progress lines off a terminal say done, the
// total, the percentage and the ETA once the total is known, in logfmt or
// JSON, with no empty fields.
func TestProgressOffATerminal(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{Latency: 50 * time.Millisecond})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(300))
	for _, format := range []string{"text", "json"} {
		// A quota far above what 4 calls reach: with none given the run
		// starts carefully, and its first lines are bound by the quota
		// it is finding, not the concurrency.
		res := runBatch(t, srv.URL, "run", "--input", input, "--output", filepath.Join(dir, format), "--model", "m", "--max-tokens", "50",
			"--concurrency", "4", "--tpm", "100000000", "--progress-interval", "300ms", "--log-format", format)
		if res.code != exitOK {
			t.Fatalf("%s: exit %d\n%s", format, res.code, res.stderr)
		}
		var line string
		for _, l := range strings.Split(res.stderr, "\n") {
			if strings.Contains(l, "progress") && strings.Contains(l, "eta") {
				line = l
				break
			}
		}
		want := []string{"done=", "total=300", "percent=", "eta=", "per_second=", "bound_by=concurrency"}
		if format == "json" {
			want = []string{`"done":`, `"total":300`, `"percent":`, `"eta":`, `"per_second":`, `"bound_by":"concurrency"`}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: the progress line %q does not hold %q\n%s", format, line, w, res.stderr)
			}
		}
		if strings.Contains(line, `batch_jobs=""`) || strings.Contains(line, `""`) {
			t.Errorf("%s: an empty field in %q", format, line)
		}
	}
}
