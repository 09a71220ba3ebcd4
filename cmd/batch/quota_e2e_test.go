package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const (
	claude4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	nova    = "us.amazon.nova-lite-v1:0"
)

// quotaEmulator is an emulator that counts quota as Bedrock does: per model,
// maxTokens reserved at admission, Claude 4 output counted five times.
func quotaEmulator(o bedrocktest.Options) bedrocktest.Options {
	o.Latency, o.QuotaBurst, o.Burndown = 100*time.Millisecond, 2*time.Second, bedrocktest.ClaudeBurndown
	return o
}

// TestClaude4AtItsQuota runs a Claude 4 inference profile at its
// tokens-per-minute quota with --max-tokens: every output token counts five
// times, and the run must still finish within 10% of the ideal time (quota
// tokens settled ÷ quota) with under 1% of calls throttled.
func TestClaude4AtItsQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 s")
	}
	t.Parallel()
	// A record settles at about 14 input + 5 × 15 output = 90 quota
	// tokens: 600 records at 108,000 a minute take about 30 s.
	const tpm = 108_000
	srv := startEmulator(t, quotaEmulator(bedrocktest.Options{TokensPerMinute: tpm}))
	dir := t.TempDir()
	recs := makeRecords(600)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", claude4,
		"--tpm", fmt.Sprint(tpm), "--max-tokens", "40", "--concurrency", "32")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	checkRows(t, recs, readOutput(t, out), srv)
	m := readManifest(t, out)
	model := srv.ModelStats()[claude4]
	ideal := float64(model.QuotaTokensSettled) / tpm * 60
	throttled := float64(model.Throttled) / float64(model.Requests)
	t.Logf("ideal %.1f s, took %.1f s (ratio %.3f), %d of %d calls throttled", ideal, m.WallSeconds, ideal/m.WallSeconds, model.Throttled, model.Requests)
	if m.WallSeconds > 1.1*ideal {
		t.Errorf("took %.1f s, more than 10%% over the ideal %.1f s", m.WallSeconds, ideal)
	}
	if throttled >= 0.01 {
		t.Errorf("%.1f%% of calls throttled", throttled*100)
	}
	if len(m.Quotas) != 1 || m.Quotas[0].Model != claude4 || m.Quotas[0].Burndown != 5 ||
		m.Quotas[0].SettledTokens != model.QuotaTokensSettled || m.Quotas[0].Quota.TokensPerMinute != tpm {
		t.Errorf("manifest quotas %+v; the emulator settled %d", m.Quotas, model.QuotaTokensSettled)
	}
}

// TestTwoModelsTwoQuotas runs one file that alternates between two models
// with different quotas: each is paced at its own at the same time, so the
// run takes as long as the slower model alone.
func TestTwoModelsTwoQuotas(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 40 s")
	}
	t.Parallel()
	const claudeTPM, novaTPM = 54_000, 24_000
	srv := startEmulator(t, quotaEmulator(bedrocktest.Options{ModelQuotas: map[string]bedrocktest.Quota{
		claude4: {TokensPerMinute: claudeTPM}, nova: {TokensPerMinute: novaTPM}}}))
	dir := t.TempDir()
	var lines []string
	for i := range 900 {
		model := claude4
		if i%2 == 1 {
			model = nova
		}
		lines = append(lines, fmt.Sprintf(`{"id":"r%d","model":%q,"prompt":%q}`, i, model, prompt(i)))
	}
	input := writeFile(t, dir, "in.jsonl", strings.Join(lines, "\n"))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", claude4,
		"--tpm", claude4+"="+fmt.Sprint(claudeTPM), "--tpm", nova+"="+fmt.Sprint(novaTPM), "--max-tokens", "40", "--concurrency", "32")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, out))
	if len(rows) != 900 {
		t.Errorf("%d rows for 900 records", len(rows))
	}
	for id, r := range rows {
		if r.Status != writer.StatusOK {
			t.Errorf("%s: %s %s", id, r.ErrorType, r.ErrorMessage)
		}
	}
	m := readManifest(t, out)
	stats := srv.ModelStats()
	slowest := 0.0
	for model, tpm := range map[string]float64{claude4: claudeTPM, nova: novaTPM} {
		s := stats[model]
		ideal := float64(s.QuotaTokensSettled) / tpm * 60
		slowest = max(slowest, ideal)
		t.Logf("%s: %d calls, %d throttled, ideal %.1f s", model, s.Requests, s.Throttled, ideal)
		if float64(s.Throttled) >= 0.01*float64(s.Requests) {
			t.Errorf("%s: %d of %d calls throttled", model, s.Throttled, s.Requests)
		}
	}
	t.Logf("took %.1f s; the slower model's ideal is %.1f s (ratio %.3f)", m.WallSeconds, slowest, slowest/m.WallSeconds)
	if m.WallSeconds > 1.15*slowest {
		t.Errorf("took %.1f s, more than 15%% over the slower model's ideal %.1f s", m.WallSeconds, slowest)
	}
}

// TestSystematicErrorStopsEarly: every call fails with the same
// ValidationException (a base model id that needs an inference profile),
// so the run stops after a few dozen calls with Bedrock's reason.
func TestSystematicErrorStopsEarly(t *testing.T) {
	const base = "anthropic.claude-sonnet-4-20250514-v1:0"
	srv := startEmulator(t, bedrocktest.Options{NeedsInferenceProfile: []string{base}, Latency: 10 * time.Millisecond})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, makeRecords(5000))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", base, "--concurrency", "8", "--max-tokens", "100")
	if res.code != exitUsage {
		t.Fatalf("exit %d, want %d (no retry gets past it)\n%s", res.code, exitUsage, res.stderr)
	}
	for _, want := range []string{base, "ValidationException", "inference profile", "--retry-errors"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the message does not say %q:\n%s", want, res.stderr)
		}
	}
	if calls := srv.Stats().Requests; calls > 40 {
		t.Errorf("%d calls before stopping", calls)
	}
	rows := readOutput(t, out)
	if len(rows) > 40 {
		t.Errorf("%d error rows written", len(rows))
	}
	for _, r := range rows {
		if r.ErrorType != "ValidationException" {
			t.Errorf("row %s: %s", r.ID, r.ErrorType)
		}
	}
}

// TestDailyQuota: the emulator's daily quota runs out mid-run; the run
// exits 4 with every finished row right and no error rows, and after the
// quota resets the same command completes the output exactly once.
func TestDailyQuota(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{TokensPerDay: 6_000, Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	recs := makeRecords(400) // about 27 tokens each: 10,800 in all
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", input, "--output", out, "--model", "m", "--max-tokens", "40", "--concurrency", "8", "--grace", "5s"}
	start := time.Now()
	res := runBatch(t, srv.URL, args...)
	if res.code != exitQuota {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitQuota, res.stderr)
	}
	if !strings.Contains(res.stderr, "Too many tokens per day") || !strings.Contains(res.stderr, "run the same command again") {
		t.Errorf("stderr does not say why and what to do:\n%s", res.stderr)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %s to stop", took)
	}
	first := readOutput(t, out)
	if len(first) == 0 || len(first) >= len(recs) {
		t.Fatalf("%d rows after the first run", len(first))
	}
	for _, r := range first {
		if r.Status != writer.StatusOK {
			t.Errorf("%s: %s %s: the quota must not make error rows", r.ID, r.ErrorType, r.ErrorMessage)
		}
	}
	if m := readManifest(t, out); m.Complete || m.StoppedAtQuota["m"] == "" {
		t.Errorf("manifest complete %v stopped_at_quota %v", m.Complete, m.StoppedAtQuota)
	}
	status := runBatch(t, "", "status", "--output", out)
	if !strings.Contains(status.stdout, "daily quota") {
		t.Errorf("status does not say the run stopped at the daily quota:\n%s", status.stdout)
	}

	srv.ResetDay()
	for attempt := 0; attempt < 3; attempt++ {
		if res = runBatch(t, srv.URL, args...); res.code != exitQuota {
			break
		}
		srv.ResetDay()
	}
	if res.code != exitOK {
		t.Fatalf("after the reset: exit %d\n%s", res.code, res.stderr)
	}
	checkRowsOnce(t, recs, readOutput(t, out))
}

// TestTokensPerDayBudget: --tpd alone (no quota on the server) stops the
// run before the budget is exceeded by more than one call per worker.
func TestTokensPerDayBudget(t *testing.T) {
	t.Parallel()
	const tpd, concurrency, maxTokens = 5_000, 8, 40
	srv := startEmulator(t, bedrocktest.Options{Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	recs := makeRecords(400)
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", "m", "--tpd", fmt.Sprint(tpd),
		"--max-tokens", fmt.Sprint(maxTokens), "--concurrency", fmt.Sprint(concurrency))
	if res.code != exitQuota {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitQuota, res.stderr)
	}
	used := srv.ModelStats()["m"].QuotaTokensSettled
	// One call is at most about 20 input tokens and maxTokens of output.
	if most := int64(tpd + concurrency*(20+maxTokens)); used > most || used < tpd/2 {
		t.Errorf("the run used %d tokens of a %d budget (at most %d allowed)", used, tpd, most)
	}
	rows := readOutput(t, out)
	for _, r := range rows {
		if r.Status != writer.StatusOK {
			t.Errorf("%s: %s", r.ID, r.ErrorType)
		}
	}
	if len(rows) == len(recs) {
		t.Error("every record ran: the budget was not applied")
	}
}
