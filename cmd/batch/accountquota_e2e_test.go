package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const (
	haikuBase = "anthropic.claude-3-haiku-20240307-v1:0"
	novaUS    = "us.amazon.nova-lite-v1:0"
)

// quotaSource is where the manifest says a model's tokens-per-minute limit came from.
func quotaSource(t *testing.T, m manifest.Manifest, model string) (int64, manifest.LimitSource) {
	t.Helper()
	for _, q := range m.Quotas {
		if q.Model == model {
			if q.Sources == nil {
				t.Fatalf("the manifest gives no sources for %s", model)
			}
			return q.Quota.TokensPerMinute, q.Sources.TokensPerMinute
		}
	}
	t.Fatalf("the manifest has no quota report for %s: %+v", model, m.Quotas)
	return 0, manifest.LimitSource{}
}

// TestPacesAtTheDiscoveredQuota: no --tpm, an account whose Service Quotas say 37,000 tokens a
// minute for the model: the run reads it and paces at it from the first second, under 1% of
// calls throttled and at least 0.97 of the quota achieved.
func TestPacesAtTheDiscoveredQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 s")
	}
	t.Parallel()
	const tpm = 37_000
	srv := startEmulator(t, quotaEmulator(bedrocktest.Options{Account: &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		haikuBase: {TokensPerMinute: tpm, CrossRegionTokensPerMinute: 4 * tpm},
	}}}))
	dir := t.TempDir()
	// A record settles at about 14 input + 15 output tokens: 600 take about 28 s.
	recs := makeRecords(600)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", haikuBase, "--max-tokens", "40", "--concurrency", "32")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	checkRows(t, recs, readOutput(t, out), srv)
	if !strings.Contains(res.stderr, `tpm="37000 (Service Quotas: On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku)"`) {
		t.Errorf("the run header does not say the quota and its source:\n%s", res.stderr)
	}
	m := readManifest(t, out)
	got, source := quotaSource(t, m, haikuBase)
	if got != tpm || source.From != "service-quotas" || !strings.Contains(source.Quota, "On-demand InvokeModel tokens per minute") {
		t.Errorf("manifest: tokens/min %d from %+v", got, source)
	}
	model := srv.ModelStats()[haikuBase]
	throttled := float64(model.Throttled) / float64(model.Requests)
	ideal := float64(model.QuotaTokensSettled) / tpm * 60
	t.Logf("%d calls, %d throttled; achieved %.3f of the quota; took %.1f s, ideal %.1f s", model.Requests, model.Throttled,
		m.Quotas[0].AchievedOfQuota, m.WallSeconds, ideal)
	if throttled >= 0.01 {
		t.Errorf("%.1f%% of calls throttled", 100*throttled)
	}
	if m.Quotas[0].AchievedOfQuota < 0.97 {
		t.Errorf("achieved %.3f of the quota, want at least 0.97", m.Quotas[0].AchievedOfQuota)
	}
	if m.WallSeconds > 1.1*ideal {
		t.Errorf("took %.1f s, more than 10%% over the ideal %.1f s: the pace did not start at the quota", m.WallSeconds, ideal)
	}
}

// TestEachModelAtItsOwnDiscoveredQuota: records of two models, one called by its own id in the
// Region and one through a cross-Region inference profile; each is paced at its own quota,
// the in-Region one for the first and the cross-Region one for the second, read from Service
// Quotas.
func TestEachModelAtItsOwnDiscoveredQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 25 s")
	}
	t.Parallel()
	const haikuTPM, novaCrossTPM = 40_000, 20_000
	srv := startEmulator(t, quotaEmulator(bedrocktest.Options{Account: &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		haikuBase:               {TokensPerMinute: haikuTPM, CrossRegionTokensPerMinute: 10 * haikuTPM},
		"amazon.nova-lite-v1:0": {TokensPerMinute: 10 * novaCrossTPM, CrossRegionTokensPerMinute: novaCrossTPM},
	}}}))
	dir := t.TempDir()
	var lines []string
	for i := range 700 {
		model := haikuBase
		if i%3 == 2 {
			model = novaUS
		}
		lines = append(lines, fmt.Sprintf(`{"id":"r%d","model":%q,"prompt":%q}`, i, model, prompt(i)))
	}
	input := writeFile(t, dir, "in.jsonl", strings.Join(lines, "\n"))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", haikuBase, "--max-tokens", "40", "--concurrency", "32")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if rows := rowsByID(t, readOutput(t, out)); len(rows) != 700 {
		t.Errorf("%d rows for 700 records", len(rows))
	}
	m := readManifest(t, out)
	stats := srv.ModelStats()
	slowest := 0.0
	for _, tt := range []struct {
		model, quotaName string
		tpm              int64
	}{
		{haikuBase, "On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku", haikuTPM},
		{novaUS, "Cross-Region InvokeModel tokens per minute for Amazon Nova Lite", novaCrossTPM},
	} {
		got, source := quotaSource(t, m, tt.model)
		if got != tt.tpm || source.Quota != tt.quotaName {
			t.Errorf("%s: tokens/min %d from %+v; want %d from %q", tt.model, got, source, tt.tpm, tt.quotaName)
		}
		s := stats[tt.model]
		ideal := float64(s.QuotaTokensSettled) / float64(tt.tpm) * 60
		slowest = max(slowest, ideal)
		t.Logf("%s: %d calls, %d throttled, ideal %.1f s", tt.model, s.Requests, s.Throttled, ideal)
		if float64(s.Throttled) >= 0.01*float64(s.Requests) {
			t.Errorf("%s: %d of %d calls throttled", tt.model, s.Throttled, s.Requests)
		}
	}
	t.Logf("took %.1f s; the slower model's ideal is %.1f s", m.WallSeconds, slowest)
	if m.WallSeconds > 1.15*slowest {
		t.Errorf("took %.1f s, more than 15%% over the slower model's ideal %.1f s: a model was not at its own quota", m.WallSeconds, slowest)
	}
}

// TestServiceQuotasDenied: a role without servicequotas:ListServiceQuotas paces adaptively,
// says so once with the action to allow, and still finishes.
func TestServiceQuotasDenied(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{Latency: 20 * time.Millisecond, Account: &bedrocktest.AccountQuotas{Denied: true,
		Models: map[string]bedrocktest.ModelQuotas{haikuBase: {TokensPerMinute: 60_000}}}})
	dir := t.TempDir()
	recs := makeRecords(150)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", haikuBase, "--max-tokens", "40")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "pacing adaptively"); n != 1 || !strings.Contains(res.stderr, "allow servicequotas:ListServiceQuotas") {
		t.Errorf("%d lines say the run paces adaptively, want one naming the action:\n%s", n, res.stderr)
	}
	if _, source := quotaSource(t, readManifest(t, out), haikuBase); source.From != "unknown" {
		t.Errorf("tokens/min from %+v, want unknown", source)
	}
	checkRows(t, recs, readOutput(t, out), srv)
	// validate reads the quotas too, and says the same.
	check := runBatch(t, srv.URL, "validate", "--input", input, "--output", filepath.Join(dir, "out2"), "--model", haikuBase)
	if !strings.Contains(check.stdout, "servicequotas:ListServiceQuotas") {
		t.Errorf("validate does not say the quotas could not be read:\n%s", check.stdout)
	}
}

// accountRouteEnv is routeEnv over an emulator that is an account with these quotas.
func accountRouteEnv(t *testing.T, batch batchjobs.Options, account *bedrocktest.AccountQuotas) *routeEnv {
	t.Helper()
	s3test.Endpoint(t)
	e := newS3Env(t)
	srv := startEmulator(t, bedrocktest.Options{BatchStore: batchjobs.NewS3ObjectStore(e.client), Batch: batch, Account: account})
	return &routeEnv{s3: e, srv: srv, out: filepath.Join(t.TempDir(), "out")}
}

// rowsByRoute counts rows by route.
func rowsByRoute(rows map[string]writer.Row) map[string]int {
	routes := map[string]int{}
	for _, row := range rows {
		routes[row.Route]++
	}
	return routes
}

// TestBatchJobsFitTheAccountsQuota: 2,060 records, an account whose records-per-job quota is
// 1,000, and no --batch-max-records: the parts are sized by the quota read from Service
// Quotas, so at least 1,900 records go through jobs and no job goes on demand whole.
func TestBatchJobsFitTheAccountsQuota(t *testing.T) {
	t.Parallel()
	r := accountRouteEnv(t, batchjobs.Options{}, &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		routeModel: {RecordsPerJob: 1000, TokensPerMinute: 1_000_000}}})
	input, prompts := routeRecords(t, t.TempDir(), 2060, 0)
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), r.args(input)...)
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	routes := rowsByRoute(rows)
	m := readManifest(t, r.out)
	t.Logf("rows by route %v; jobs %d, refused %d", routes, r.srv.BatchStats().JobsCreated, r.srv.BatchStats().JobsRejected)
	if routes[writer.RouteBatchInference] < 1900 {
		t.Errorf("%d records through jobs, want at least 1,900", routes[writer.RouteBatchInference])
	}
	if len(m.WholeJobsOnDemand) != 0 || strings.Contains(res.stdout, "warning:") {
		t.Errorf("jobs went on demand whole: %+v\n%s", m.WholeJobsOnDemand, res.stdout)
	}
	if st := r.srv.BatchStats(); st.JobsRejected != 0 {
		t.Errorf("%d jobs refused: the parts were not sized by the quota", st.JobsRejected)
	}
	if !strings.Contains(res.stderr, `records_per_job="1000 (Service Quotas: Records per batch inference job for Claude 3 Haiku)"`) {
		t.Errorf("the log does not say the job limit and its source:\n%s", res.stderr)
	}
}

// TestBatchJobsWithinTheJobsQuota: with two jobs a model at once and five parts, never more
// than two jobs are in flight (the emulator refuses a third), and all five complete.
func TestBatchJobsWithinTheJobsQuota(t *testing.T) {
	t.Parallel()
	r := accountRouteEnv(t, batchjobs.Options{RecordsPerSecond: 500}, &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		routeModel: {RecordsPerJob: 200, JobsPerModel: 2}}})
	input, prompts := routeRecords(t, t.TempDir(), 1000, 0)
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), r.args(input)...)
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	st := r.srv.BatchStats()
	if st.JobsCreated != 5 || st.JobsRejected != 0 || rowsByRoute(rows)[writer.RouteBatchInference] != 1000 {
		t.Errorf("%d jobs created, %d refused, rows by route %v; want 5, none refused, all 1,000 through jobs", st.JobsCreated, st.JobsRejected, rowsByRoute(rows))
	}
	for _, j := range r.srv.BatchJobs() {
		if j.Status != "Completed" {
			t.Errorf("job %s: %s", j.Name, j.Status)
		}
	}
}

// TestWholeJobOnDemandIsAWarning: with --route batch-inference, a job that fails sends its
// records on demand, and the summary warns with their count and what they cost more; with
// --no-on-demand they keep no row and the run exits 1.
func TestWholeJobOnDemandIsAWarning(t *testing.T) {
	t.Parallel()
	for _, noOnDemand := range []bool{false, true} {
		t.Run(fmt.Sprint("no-on-demand=", noOnDemand), func(t *testing.T) {
			r := accountRouteEnv(t, batchjobs.Options{FailJob: func(name string) (string, bool) {
				return "The service role cannot read the input.", strings.Contains(name, "part-00002")
			}}, nil)
			input, _ := routeRecords(t, t.TempDir(), 600, 0)
			args := r.args(input, "--batch-max-records", "300")
			if noOnDemand {
				args = append(args, "--no-on-demand")
			}
			res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
			rows := rowsByID(t, readOutput(t, r.out))
			routes := rowsByRoute(rows)
			if noOnDemand {
				if res.code != exitFailed || routes[writer.RouteOnDemand] != 0 || len(rows) != 300 || r.srv.Stats().Requests != 0 ||
					!strings.Contains(res.stderr, "300 records have no row") {
					t.Errorf("exit %d, rows by route %v, %d on-demand calls; want exit 1, 300 rows, no call\n%s", res.code, routes, r.srv.Stats().Requests, res.stderr)
				}
				return
			}
			if res.code != exitOK || routes[writer.RouteOnDemand] != 300 {
				t.Fatalf("exit %d, rows by route %v\n%s", res.code, routes, res.stderr)
			}
			warning := regexp.MustCompile(`warning: 300 records of ` + regexp.QuoteMeta(routeModel) + ` went on demand, not through batch inference \(its job ended Failed\): about \$[0-9.]+ more`)
			if !warning.MatchString(res.stdout) {
				t.Errorf("the summary does not warn of the job that went on demand:\n%s", res.stdout)
			}
			m := readManifest(t, r.out)
			if len(m.WholeJobsOnDemand) != 1 || m.WholeJobsOnDemand[0].ExtraCostUSD == nil || *m.WholeJobsOnDemand[0].ExtraCostUSD <= 0 {
				t.Errorf("manifest whole jobs on demand %+v", m.WholeJobsOnDemand)
			}
		})
	}
}

// TestAutoSpendsTheDeadline: --route auto with the model's quota read from Service Quotas and
// a deadline that leaves time for part of the job: the job runs until the deadline less the
// margin less the on-demand time of what it has not done, the rows it finished are kept, the
// rest finish on demand, and the run ends before the deadline.
func TestAutoSpendsTheDeadline(t *testing.T) {
	const deadline, margin = 30 * time.Second, 3 * time.Second
	// One job of 1,000 records at 25 a second would take 40 s. On demand, a record counts its
	// input (about 40 tokens staged) and 40 max tokens: at 600,000 tokens a minute, 1,000
	// records take about 8 s. The job must run until about 30 - 3 - (1000 - 25t)/125 s,
	// that is about 23 s, having done about 570 records.
	r := accountRouteEnv(t, batchjobs.Options{RecordsPerSecond: 25}, &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		routeModel: {TokensPerMinute: 600_000}}})
	input, prompts := routeRecords(t, t.TempDir(), 1000, 0)
	args := append(r.args(input, "--max-tokens", "40", "--deadline", deadline.String(), "--deadline-margin", margin.String()), "--route", "auto")
	start := time.Now()
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
	took := time.Since(start)
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	routes := rowsByRoute(rows)
	jobs := r.srv.BatchJobs()
	t.Logf("took %s of a %s deadline; rows by route %v; jobs %+v", took.Round(time.Millisecond), deadline, routes, jobs)
	if took >= deadline {
		t.Errorf("took %s, past the deadline", took)
	}
	if len(jobs) != 1 || jobs[0].Status != "Stopped" || jobs[0].Processed < 400 || jobs[0].Processed >= 1000 {
		t.Errorf("jobs %+v; want one stopped after most of the time it had (about 570 records)", jobs)
	}
	if routes[writer.RouteBatchInference] != int(jobs[0].Processed) || routes[writer.RouteOnDemand] != 1000-int(jobs[0].Processed) {
		t.Errorf("rows by route %v; the job's %d records must be kept and the rest on demand", routes, jobs[0].Processed)
	}
	if !strings.Contains(res.stderr, "on_demand_estimate") || !strings.Contains(res.stderr, "tokens/min (600000 (Service Quotas: On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku))") {
		t.Errorf("the log does not give the estimate and its basis:\n%s", res.stderr)
	}
}
