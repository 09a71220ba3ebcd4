package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const (
	routeModel = "anthropic.claude-3-haiku-20240307-v1:0"
	tailModel  = "amazon.nova-lite-v1:0"
	roleARN    = "arn:aws:iam::123456789012:role/BedrockBatchInference"
)

// routeEnv is an emulator serving Converse and the batch-inference control
// plane over a real S3 server, and a local output.
type routeEnv struct {
	s3  *s3Env
	srv *bedrocktest.Server
	out string
}

func newRouteEnv(t *testing.T, batch batchjobs.Options) *routeEnv {
	t.Helper()
	s3test.Endpoint(t)
	e := newS3Env(t)
	srv := startEmulator(t, bedrocktest.Options{BatchStore: batchjobs.NewS3ObjectStore(e.client), Batch: batch})
	return &routeEnv{s3: e, srv: srv, out: filepath.Join(t.TempDir(), "out")}
}

// args are the flags of a batch-inference run over input.
func (r *routeEnv) args(input string, extra ...string) []string {
	return append([]string{"run", "--input", input, "--output", r.out, "--model", routeModel, "--max-tokens", "100",
		"--route", "batch-inference", "--role-arn", roleARN, "--staging", r.s3.uri("staging/"),
		"--s3-endpoint", r.s3.endpoint, "--bedrock-control-endpoint", r.srv.URL, "--batch-poll", "100ms",
		"--concurrency", "32"}, extra...)
}

// routeRecords are n records of routeModel and tail of tailModel.
func routeRecords(t *testing.T, dir string, n, tail int) (string, map[string]string) {
	t.Helper()
	prompts := map[string]string{}
	var lines []string
	for i := range n + tail {
		id, model := fmt.Sprintf("r%05d", i), routeModel
		if i >= n {
			model = tailModel
		}
		prompts[id] = prompt(i)
		metadata := ""
		if i%3 == 0 {
			metadata = fmt.Sprintf(`,"metadata":{"n":%d}`, i)
		}
		lines = append(lines, fmt.Sprintf(`{"id":%q,"model":%q,"prompt":%q%s}`, id, model, prompts[id], metadata))
	}
	return writeFile(t, dir, "in.jsonl", strings.Join(lines, "\n")+"\n"), prompts
}

// checkAnswered asserts every ok row is its own prompt's answer, with the
// emulator's usage, whichever route answered it.
func checkAnswered(t *testing.T, prompts map[string]string, rows map[string]writer.Row) {
	t.Helper()
	if len(rows) != len(prompts) {
		t.Errorf("%d rows for %d records", len(rows), len(prompts))
	}
	for id, row := range rows {
		p, ok := prompts[id]
		if !ok {
			t.Errorf("row for unknown id %s", id)
			continue
		}
		var n int
		fmt.Sscanf(id, "r%d", &n)
		if want := fmt.Sprintf(`{"n":%d}`, n); n%3 == 0 && string(row.Metadata) != want {
			t.Errorf("%s (%s): metadata %s, want %s", id, row.Route, row.Metadata, want)
		}
		if row.Status != writer.StatusOK {
			continue
		}
		if row.Output != bedrocktest.Answer(p) || row.InputTokens != bedrocktest.CountTokens(p) || row.OutputTokens == 0 ||
			row.TotalTokens != row.InputTokens+row.OutputTokens {
			t.Errorf("%s (%s): output %q tokens %d/%d/%d; want the answer to %q", id, row.Route, row.Output,
				row.InputTokens, row.OutputTokens, row.TotalTokens, p)
		}
	}
}

// TestBatchInferenceRoute runs 5,000 records through batch inference: every
// ok row is identical to what on-demand gives, records a job failed with a
// retryable error finish on demand, a model's tail under the minimum job
// size goes on demand, and the manifest prices each route.
func TestBatchInferenceRoute(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t, batchjobs.Options{FailRecord: func(id string) (int, string, bool) {
		switch {
		case strings.HasSuffix(id, "17"):
			return 429, "Too many requests, please wait before trying again.", true
		case strings.HasSuffix(id, "123"):
			return 400, "Malformed input request: extraneous key [foo] is not permitted", true
		}
		return 0, "", false
	}})
	input, prompts := routeRecords(t, t.TempDir(), 4950, 50)
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), r.args(input, "--batch-max-records", "2000")...)
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d (the 400 records are error rows)\n%s", res.code, exitSomeErrors, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	var batchOK, onDemand, failed int
	for id, row := range rows {
		switch {
		case strings.HasSuffix(id, "123") && prompts[id] != "" && id < "r04950":
			failed++
			if row.Status != writer.StatusError || row.ErrorType != "ValidationException" || row.Route != writer.RouteBatchInference ||
				!strings.Contains(row.ErrorMessage, "Malformed input") {
				t.Errorf("%s: %+v; want the job's ValidationException as an error row", id, row)
			}
		case id >= "r04950", strings.HasSuffix(id, "17"):
			onDemand++
			if row.Status != writer.StatusOK || row.Route != writer.RouteOnDemand {
				t.Errorf("%s: status %s route %s; want ok on demand", id, row.Status, row.Route)
			}
		default:
			batchOK++
			if row.Status != writer.StatusOK || row.Route != writer.RouteBatchInference || row.ModelID != routeModel {
				t.Errorf("%s: status %s route %s model %s", id, row.Status, row.Route, row.ModelID)
			}
		}
	}
	stats, bstats := r.srv.Stats(), r.srv.BatchStats()
	t.Logf("%d rows from jobs, %d on demand, %d error rows; %d jobs, %d on-demand calls", batchOK, onDemand, failed, bstats.JobsCreated, stats.Requests)
	if bstats.JobsCreated != 3 || bstats.IdempotentRepeats != 0 {
		t.Errorf("jobs created %d (repeats %d), want 3: 2,000 + 2,000 + 950 records", bstats.JobsCreated, bstats.IdempotentRepeats)
	}
	if stats.Requests != int64(onDemand) || bstats.RecordsOK != int64(batchOK) {
		t.Errorf("on-demand calls %d for %d on-demand rows; job records ok %d for %d batch rows: a record billed twice or lost",
			stats.Requests, onDemand, bstats.RecordsOK, batchOK)
	}
	m := readManifest(t, r.out)
	if m.CostUSD == nil || m.CostAllOnDemandUSD == nil || m.SavingUSD == nil || *m.SavingUSD <= 0 || *m.CostUSD >= *m.CostAllOnDemandUSD {
		t.Fatalf("manifest cost %v, all on demand %v, saving %v", m.CostUSD, m.CostAllOnDemandUSD, m.SavingUSD)
	}
	if b := m.Models[routeModel].Batch; b == nil || b.OK != int64(batchOK) {
		t.Errorf("manifest batch rows %+v, want %d ok", b, batchOK)
	}
	t.Logf("cost $%.4f, all on demand $%.4f, saving $%.4f", *m.CostUSD, *m.CostAllOnDemandUSD, *m.SavingUSD)
	if len(m.BatchJobs) != 4 || !m.Complete {
		t.Errorf("manifest batch jobs %+v, complete %v", m.BatchJobs, m.Complete)
	}
	if !strings.Contains(res.stdout, "routes: 4900 rows from batch-inference jobs (4895 ok), 100 on demand") || !strings.Contains(res.stdout, "saved $") {
		t.Errorf("the summary does not report the split and the saving:\n%s", res.stdout)
	}
	status := runBatch(t, "", "status", "--output", r.out)
	if !strings.Contains(status.stdout, fmt.Sprintf("batch inference saved $%.4f", *m.SavingUSD)) {
		t.Errorf("status does not report the saving:\n%s", status.stdout)
	}
}

// TestBatchInferenceKilledAndResumed kills the run while its jobs run and
// runs it again: it re-attaches to the jobs, submits none twice, bills no
// record twice, and the output is exact.
func TestBatchInferenceKilledAndResumed(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t, batchjobs.Options{RecordsPerSecond: 400})
	input, prompts := routeRecords(t, t.TempDir(), 3000, 0)
	args := r.args(input, "--batch-max-records", "1000")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := batchCommand(ctx, r.s3.batchEnv(r.srv.URL), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the state file holds every job's ARN.
	state := filepath.Join(r.out, "_batch.json")
	for {
		data, err := os.ReadFile(state)
		if err == nil {
			if s, err := batchinfer.UnmarshalState(data); err == nil && len(s.Parts) == 3 && s.Parts[2].JobARN != "" {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the run never submitted its jobs")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if jobs := r.srv.BatchJobs(); len(jobs) != 3 {
		t.Fatalf("%d jobs before the kill", len(jobs))
	}
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
	if res.code != exitOK {
		t.Fatalf("re-run: exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	bstats := r.srv.BatchStats()
	if bstats.JobsCreated != 3 || r.srv.Stats().Requests != 0 || bstats.RecordsOK != 3000 {
		t.Errorf("jobs created %d (want 3), on-demand calls %d (want 0), job records ok %d (want 3000)",
			bstats.JobsCreated, r.srv.Stats().Requests, bstats.RecordsOK)
	}
}

// TestAutoRouteKeepsTheDeadline: jobs too slow for the deadline are
// stopped in time, what they finished is kept, and the rest is finished
// on demand before the deadline.
func TestAutoRouteKeepsTheDeadline(t *testing.T) {
	r := newRouteEnv(t, batchjobs.Options{RecordsPerSecond: 40})
	input, prompts := routeRecords(t, t.TempDir(), 2000, 0)
	const deadline = 14 * time.Second
	args := append(r.args(input, "--batch-max-records", "1000", "--deadline", deadline.String(), "--deadline-margin", "3s", "--rpm", "60000"),
		"--route", "auto")
	start := time.Now()
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
	took := time.Since(start)
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	routes := map[string]int{}
	for _, row := range rows {
		routes[row.Route]++
	}
	jobs := r.srv.BatchJobs()
	t.Logf("took %s against a %s deadline; rows by route %v; jobs %+v", took.Round(time.Millisecond), deadline, routes, jobs)
	if took >= deadline {
		t.Errorf("took %s, past the %s deadline", took, deadline)
	}
	for _, j := range jobs {
		if j.Status != "Stopped" || j.Processed == 0 || j.Processed >= j.Records {
			t.Errorf("job %s: %s after %d of %d records; want stopped part way", j.Name, j.Status, j.Processed, j.Records)
		}
	}
	if routes[writer.RouteBatchInference] == 0 || routes[writer.RouteOnDemand] == 0 {
		t.Errorf("rows by route %v: want both", routes)
	}
	if got := r.srv.BatchStats().RecordsOK + r.srv.Stats().OK; got != 2000 {
		t.Errorf("%d records answered in all, want 2000: none twice", got)
	}
	var m struct {
		BatchJobs []struct{ Status string } `json:"batch_jobs"`
	}
	data, _ := os.ReadFile(filepath.Join(r.out, "_manifest.json"))
	json.Unmarshal(data, &m)
	if len(m.BatchJobs) != 2 || m.BatchJobs[0].Status != "Stopped" {
		t.Errorf("manifest batch jobs %+v", m.BatchJobs)
	}
}

// TestFailedJobResubmitted: with --batch-resubmit, the records of a job
// that failed go to one new job (still at the batch price), not on demand;
// without it, on demand.
func TestFailedJobResubmitted(t *testing.T) {
	t.Parallel()
	for _, resubmit := range []bool{true, false} {
		t.Run(fmt.Sprint("resubmit=", resubmit), func(t *testing.T) {
			var created atomic.Int32
			r := newRouteEnv(t, batchjobs.Options{FailJob: func(name string) (string, bool) {
				if created.Add(1) == 1 {
					return "Internal error while processing the job", true
				}
				return "", false
			}})
			input, prompts := routeRecords(t, t.TempDir(), 600, 0)
			args := r.args(input, "--batch-max-records", "300")
			if resubmit {
				args = append(args, "--batch-resubmit")
			}
			res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
			if res.code != exitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			rows := rowsByID(t, readOutput(t, r.out))
			checkAnswered(t, prompts, rows)
			routes := map[string]int{}
			for _, row := range rows {
				routes[row.Route]++
			}
			jobs, calls := r.srv.BatchStats().JobsCreated, r.srv.Stats().Requests
			switch {
			case resubmit && (jobs != 3 || calls != 0 || routes[writer.RouteBatchInference] != 600):
				t.Errorf("jobs %d, on-demand calls %d, rows by route %v; want the failed job's 300 records in a third job", jobs, calls, routes)
			case !resubmit && (jobs != 2 || calls != 300 || routes[writer.RouteOnDemand] != 300):
				t.Errorf("jobs %d, on-demand calls %d, rows by route %v; want the failed job's 300 records on demand", jobs, calls, routes)
			}
		})
	}
}
