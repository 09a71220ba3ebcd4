package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// TestKillAndResume kills the run with SIGKILL at seeded random moments,
// many times, and runs it again after each: the output ends with exactly
// one row per record, and each kill cost at most the calls in flight plus
// the rows of one sync interval, counted by the emulator: every answered
// call that no durable row (data file or journal) holds is paid again.
func TestKillAndResume(t *testing.T) {
	const (
		records      = 3000
		concurrency  = 32
		latency      = 100 * time.Millisecond
		syncInterval = 100 * time.Millisecond
		kills        = 8
	)
	srv := startEmulator(t, bedrocktest.Options{Latency: latency, Faults: bedrocktest.Faults{InternalError: 0.05}, Seed: 7})
	dir := t.TempDir()
	recs := makeRecords(records)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	// A quota well above what the calls can use: the runs start at full
	// concurrency rather than discovering a quota the emulator does not
	// enforce, which is not what this test is about.
	args := []string{"run", "--input", input, "--output", out, "--model", "m", "--concurrency", fmt.Sprint(concurrency),
		"--sync-interval", syncInterval.String(), "--rpm", "1000000", "--tpm", "1000000000"}

	// The calls in flight, plus the most rows one sync interval can
	// finish (every slot answered at the emulator's latency): what one
	// kill may have to pay for again.
	perKill := int64(concurrency) + int64(concurrency)*int64(syncInterval)/int64(latency)
	dice := rand.New(rand.NewPCG(1, 2))
	var lostBefore int64
	for k := range kills {
		cmd := batchCommand(context.Background(), emulatorEnv(srv.URL), args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Start-up (taking over the killed run's lease, reading the
		// output) takes a while under -race: kill once calls are going.
		answered := srv.Stats().OK
		for deadline := time.Now().Add(10 * time.Second); srv.Stats().OK == answered && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(dice.IntN(800)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		durable := durableRows(t, out)
		lost := srv.Stats().OK - durable
		t.Logf("kill %d: %d rows durable, %d calls answered, %d answered calls without a row (%d this kill)",
			k+1, durable, srv.Stats().OK, lost, lost-lostBefore)
		if lost-lostBefore > perKill {
			t.Errorf("kill %d: %d answered calls have no durable row: more than the %d in flight plus one sync interval's rows", k+1, lost-lostBefore, perKill)
		}
		lostBefore = lost
	}
	res := runBatch(t, srv.URL, args...)
	if res.code != exitOK {
		t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
	}
	checkRowsOnce(t, recs, readOutput(t, out))
	extra := srv.Stats().OK - records
	t.Logf("%d calls paid twice over %d kills at concurrency %d (%.1f per kill)", extra, kills, concurrency, float64(extra)/kills)
	if extra > kills*perKill {
		t.Errorf("%d calls paid twice over %d kills: more than %d per kill", extra, kills, perKill)
	}
	if m := readManifest(t, out); !m.Complete || m.Counts.Records != records || m.Counts.OK != records {
		t.Errorf("manifest after resume: complete %v counts %+v", m.Complete, m.Counts)
	}
}

// durableRows counts the rows a killed run left durable in dir: in data
// files and in the journal, as the next run's resume reads them.
func durableRows(t *testing.T, dir string) int64 {
	t.Helper()
	l, err := ledger.Scan(context.Background(), storage.NewLocalDir(dir), shard.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Totals.Records
}

// TestSIGTERMThenResume: a run stopped by SIGTERM exits 1 and the next run
// into the same output finishes the job without sending a done record again.
func TestSIGTERMThenResume(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{Latency: 100 * time.Millisecond})
	dir := t.TempDir()
	recs := makeRecords(400)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", input, "--output", out, "--model", "m", "--concurrency", "8", "--grace", "3s"}
	cmd := batchCommand(context.Background(), emulatorEnv(srv.URL), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().OK < 40 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if exitErr, ok := err.(*exec.ExitError); !ok || exitErr.ExitCode() != exitFailed {
		t.Fatalf("exit %v, want %d\n%s", err, exitFailed, stderr.String())
	}
	if waited := time.Since(start); waited > 3*time.Second+2*time.Second {
		t.Errorf("exit %v after SIGTERM, beyond the 3 s grace", waited)
	}
	answered := srv.Stats().OK
	res := runBatch(t, srv.URL, args...)
	if res.code != exitOK {
		t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
	}
	checkRows(t, recs, readOutput(t, out), srv)
	if total := srv.Stats().OK; total != int64(len(recs)) {
		t.Errorf("%d calls answered for %d records (%d before the resume): a finished record was sent again", total, len(recs), answered)
	}
}

// TestShardsShareOneOutput runs four shards at once into one output, each
// told its shard a different way, and checks the union and batch status.
func TestShardsShareOneOutput(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{Latency: 5 * time.Millisecond, Faults: bedrocktest.Faults{Throttle: 0.05}})
	dir := t.TempDir()
	recs := makeRecords(2000)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	base := []string{"run", "--input", input, "--output", out, "--model", "anthropic.claude-3-haiku-20240307-v1:0", "--rpm", "60000"}
	shards := []struct {
		env  []string
		args []string
	}{
		{nil, []string{"--shard", "0/4"}},
		{[]string{"AWS_BATCH_JOB_ARRAY_INDEX=1", "AWS_BATCH_JOB_ARRAY_SIZE=4"}, nil},
		{[]string{"JOB_COMPLETION_INDEX=2"}, []string{"--shards", "4"}},
		{nil, []string{"--shard", "3/4"}},
	}
	var wg sync.WaitGroup
	results := make([]result, len(shards))
	for i, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runBatchEnv(t, srv.URL, s.env, append(append([]string{}, base...), s.args...)...)
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.code != exitOK {
			t.Fatalf("shard %d: exit %d\n%s", i, res.code, res.stderr)
		}
		if !strings.Contains(res.stdout, fmt.Sprintf("output (%d/4)", i)) {
			t.Errorf("shard %d did not run as %d/4:\n%s", i, i, res.stdout)
		}
	}
	checkRows(t, recs, readOutput(t, out), srv)
	status := runBatch(t, "", "status", "--output", out)
	if status.code != exitOK {
		t.Fatalf("status: exit %d\n%s%s", status.code, status.stdout, status.stderr)
	}
	for _, want := range []string{"0/4", "1/4", "2/4", "3/4"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status does not list shard %s:\n%s", want, status.stdout)
		}
	}
	total := strings.Fields(lastLine(status.stdout))
	if len(total) < 4 || total[0] != "total" || total[1] != "2000" || total[2] != "2000" || total[3] != "0" {
		t.Errorf("status total line %q, want 2000 records, 2000 ok, 0 error", lastLine(status.stdout))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestDuplicateIDs: a second record with an id already used gets a
// DuplicateID error row and is not sent; the first keeps its ok row, and a
// re-run changes nothing.
func TestDuplicateIDs(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	input := writeFile(t, dir, "dup.jsonl", `{"id":"a","prompt":"first a"}`+"\n"+`{"id":"b","prompt":"only b"}`+"\n"+`{"id":"a","prompt":"second a"}`+"\n")
	out := filepath.Join(dir, "out")
	for run := range 2 {
		res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--model", "m")
		if res.code != exitSomeErrors {
			t.Fatalf("run %d: exit %d, want %d\n%s", run+1, res.code, exitSomeErrors, res.stderr)
		}
	}
	rows := readOutput(t, out)
	var got []string
	for _, r := range rows {
		got = append(got, r.ID+":"+r.Status+":"+r.ErrorType)
		if r.ID == "a" && r.Status == writer.StatusOK && r.Output != bedrocktest.Answer("first a") {
			t.Errorf("the ok row of a answers %q, not the first record", r.Output)
		}
		if r.ErrorType == "DuplicateID" && !strings.Contains(r.ErrorMessage, "dup.jsonl:3") {
			t.Errorf("the duplicate's message does not say where it is: %q", r.ErrorMessage)
		}
	}
	want := "a:error:DuplicateID a:ok: b:ok:"
	if sortJoin(got) != want {
		t.Errorf("rows %q, want %q", sortJoin(got), want)
	}
	if calls := srv.Stats().Requests; calls != 2 {
		t.Errorf("%d calls, want 2 (a and b, once)", calls)
	}
}

func sortJoin(items []string) string {
	sorted := append([]string{}, items...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	return strings.Join(sorted, " ")
}

// TestJobFile runs from a job file with an ${ENV} reference, a flag
// overriding one of its keys, and checks an unknown key is a usage error
// naming its line.
func TestJobFile(t *testing.T) {
	var mu sync.Mutex
	var temperatures []*float32
	srv := startEmulator(t, bedrocktest.Options{Observe: func(r bedrocktest.ObservedRequest) {
		mu.Lock()
		defer mu.Unlock()
		temperatures = append(temperatures, r.Temperature)
	}})
	dir := t.TempDir()
	recs := makeRecords(20)
	writeJSONLInput(t, filepath.Join(dir, "in.jsonl"), recs)
	job := writeFile(t, dir, "job.yaml", "input: ${DATA}/in.jsonl\noutput: "+filepath.Join(dir, "out")+
		"\nmodel: anthropic.claude-3-haiku-20240307-v1:0\ntemperature: 0\nconcurrency: 999999\n")
	res := runBatchEnv(t, srv.URL, []string{"DATA=" + dir}, "run", "--job", job, "--concurrency", "4")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	checkRows(t, recs, readOutput(t, filepath.Join(dir, "out")), srv)
	if m := readManifest(t, filepath.Join(dir, "out")); m.Options.Concurrency != 4 {
		t.Errorf("concurrency %d: the flag did not override the job file", m.Options.Concurrency)
	}
	mu.Lock()
	for _, temp := range temperatures {
		if temp == nil || *temp != 0 {
			t.Fatalf("temperature 0 from the job file was not sent: %v", temp)
		}
	}
	mu.Unlock()

	bad := writeFile(t, dir, "bad.yaml", "input: x.jsonl\noutput: out\nmodel: m\nconcurency: 4\n")
	res = runBatch(t, srv.URL, "run", "--job", bad)
	if res.code != exitUsage || !strings.Contains(res.stderr, "bad.yaml:4") || !strings.Contains(res.stderr, "concurrency") {
		t.Errorf("unknown key: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// TestRetryErrors: records whose calls failed are skipped on a plain
// re-run and sent again with --retry-errors, which replaces their error
// rows: the output ends with one ok row per record, in both formats.
func TestRetryErrors(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"jsonl", "parquet"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			recs := makeRecords(300)
			input := filepath.Join(dir, "in.jsonl")
			writeJSONLInput(t, input, recs)
			out := filepath.Join(dir, "out")
			args := []string{"run", "--input", input, "--output", out, "--model", "m", "--output-format", format}

			flaky := startEmulator(t, bedrocktest.Options{Faults: bedrocktest.Faults{InternalError: 0.3}, Seed: 3})
			if res := runBatch(t, flaky.URL, append(args, "--max-attempts", "1")...); res.code != exitSomeErrors {
				t.Fatalf("first run: exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
			}
			failed := flaky.Stats().Faults
			if failed == 0 {
				t.Fatal("no call failed: the test proves nothing")
			}
			healthy := startEmulator(t, bedrocktest.Options{})
			if res := runBatch(t, healthy.URL, args...); res.code != exitSomeErrors || healthy.Stats().Requests != 0 {
				t.Fatalf("plain re-run: exit %d, %d calls; want %d and none\n%s", res.code, healthy.Stats().Requests, exitSomeErrors, res.stderr)
			}
			if res := runBatch(t, healthy.URL, append(args, "--retry-errors")...); res.code != exitOK {
				t.Fatalf("--retry-errors: exit %d\n%s", res.code, res.stderr)
			}
			if healthy.Stats().Requests != failed {
				t.Errorf("--retry-errors sent %d calls for %d error rows", healthy.Stats().Requests, failed)
			}
			checkRowsOnce(t, recs, readOutput(t, out))
			if m := readManifest(t, out); m.Counts.Records != int64(len(recs)) || m.Counts.Error != 0 {
				t.Errorf("manifest counts %+v", m.Counts)
			}
		})
	}
}
