package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// TestRunsAtTheQuota runs 600 records against an emulator that enforces a
// quota, with the quota given to the tool (it must not be throttled more
// than 1% of calls) or not (it must discover it and still answer every
// record). How close to the quota it runs is measured in BENCHMARKS.md, not
// asserted here.
func TestRunsAtTheQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 s per case")
	}
	const records = 600
	tests := []struct {
		name         string
		emulator     bedrocktest.Options
		flags        []string
		maxThrottled float64 // share of calls
	}{
		{"rpm given", bedrocktest.Options{RequestsPerMinute: 1200, Latency: 100 * time.Millisecond, QuotaBurst: 2 * time.Second},
			[]string{"--rpm", "1200", "--concurrency", "32"}, 0.01},
		// Each record reserves about 14 input + 40 output tokens and uses
		// about 27: 32,400 tokens a minute is 1,200 records a minute.
		{"tpm given", bedrocktest.Options{TokensPerMinute: 32400, Latency: 100 * time.Millisecond, QuotaBurst: 2 * time.Second},
			[]string{"--tpm", "32400", "--max-tokens", "40", "--concurrency", "32"}, 0.01},
		{"quota not given", bedrocktest.Options{RequestsPerMinute: 1200, Latency: 100 * time.Millisecond, QuotaBurst: 2 * time.Second},
			[]string{"--concurrency", "32"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, tt.emulator)
			dir := t.TempDir()
			recs := makeRecords(records)
			input := filepath.Join(dir, "in.jsonl")
			writeJSONLInput(t, input, recs)
			out := filepath.Join(dir, "out")
			args := append([]string{"run", "--input", input, "--output", out, "--model", "m"}, tt.flags...)
			res := runBatch(t, srv.URL, args...)
			if res.code != exitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			checkRows(t, recs, readOutput(t, out), srv)
			stats := srv.Stats()
			share := float64(stats.Throttled) / float64(stats.Requests)
			if share > tt.maxThrottled {
				t.Errorf("%d of %d calls throttled (%.1f%%), want at most %.0f%%", stats.Throttled, stats.Requests, share*100, tt.maxThrottled*100)
			}
			m := readManifest(t, out)
			if m.Calls.Throttled != stats.Throttled || m.Calls.LatencyMs.P50 < 100 {
				t.Errorf("manifest calls %+v; emulator throttled %d", m.Calls, stats.Throttled)
			}
			t.Logf("%s: %.1f s, %d calls, %d throttled, settled at %.0f requests/min", tt.name, m.WallSeconds, stats.Requests, stats.Throttled, m.Calls.SettledRequestsPerMinute)
		})
	}
}

// TestFatalErrorStopsTheRun: a model the account cannot use fails every
// call, so the run stops at once with a clear message instead of writing
// an error row per record.
func TestFatalErrorStopsTheRun(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{Models: []string{"anthropic.claude-3-haiku-20240307-v1:0"}, Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(2000))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", "anthropic.claude-typo-v1:0", "--concurrency", "4")
	if res.code != exitUsage {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
	}
	// The model is looked up before any call (the control plane knows no
	// such model); TestSetupRefusedByBedrockStopsAtOnce covers the same
	// answer from Bedrock Runtime in the middle of a run.
	if !strings.Contains(res.stderr, "no such model") || !strings.Contains(res.stderr, "--model") {
		t.Errorf("the error does not say what went wrong:\n%s", res.stderr)
	}
	if rows := readOutputIfAny(t, out); len(rows) != 0 {
		t.Errorf("%d error rows written for a fatal error", len(rows))
	}
	if calls := srv.Stats().Requests; calls != 0 {
		t.Errorf("%d calls made for a model that does not exist", calls)
	}
}
