package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// TestOverlappingRuns starts a second run of the same output while the
// first runs, locally and on S3: it exits 5 at once naming the holder and
// sends nothing, the first completes exactly, and a third started with
// --wait finishes the job after the first with no further call.
func TestOverlappingRuns(t *testing.T) {
	t.Parallel()
	const records = 600
	for _, backend := range []string{"local", "s3"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, bedrocktest.Options{Latency: 100 * time.Millisecond})
			dir := t.TempDir()
			recs := makeRecords(records)
			input := filepath.Join(dir, "in.jsonl")
			writeJSONLInput(t, input, recs)
			env := emulatorEnv(srv.URL)
			out := filepath.Join(dir, "out")
			var e *s3Env
			var extra []string
			if backend == "s3" {
				e = newS3Env(t)
				env = e.batchEnv(srv.URL)
				out = e.uri("out/")
				extra = []string{"--s3-endpoint", e.endpoint}
			}
			args := append([]string{"run", "--input", input, "--output", out, "--model", s3Model, "--concurrency", "8"}, extra...)

			first, firstErr := startBatch(t, env, args...)
			waitForAnswers(t, srv, 20, firstErr)

			second := runBatchS3(t, env, args...)
			if srv.Stats().OK >= records {
				t.Fatal("the first run finished before the second was refused: the test proves nothing")
			}
			if second.code != exitLeaseHeld {
				t.Errorf("second run: exit %d, want %d\n%s", second.code, exitLeaseHeld, second.stderr)
			}
			holder := fmt.Sprintf("pid %d", first.Process.Pid)
			if !strings.Contains(second.stderr, "is being written by another run") || !strings.Contains(second.stderr, holder) ||
				!strings.Contains(second.stderr, "last renewed") || !strings.Contains(second.stderr, "--wait") {
				t.Errorf("the refusal does not name the holder (%s), its last renewal and --wait:\n%s", holder, second.stderr)
			}

			// A third, told to wait, runs once the first is done.
			waiter, waitErr := startBatch(t, env, append(args, "--wait")...)

			if err := first.Wait(); err != nil {
				t.Fatalf("first run: %v\n%s", err, firstErr.String())
			}
			answered := srv.Stats().OK
			if err := waiter.Wait(); err != nil {
				t.Fatalf("run with --wait: %v\n%s", err, waitErr.String())
			}
			if n := srv.Stats().OK - answered; n != 0 {
				t.Errorf("the run with --wait made %d calls after the first run finished the job", n)
			}
			if total := srv.Stats().OK; total != records {
				t.Errorf("%d calls answered for %d records: %d paid twice", total, records, total-records)
			}
			local := out
			if e != nil {
				local, _ = e.download(t, "out/")
				if keys := e.incompleteUploads(t, "out/"); len(keys) > 0 {
					t.Errorf("incomplete uploads: %q", keys)
				}
			}
			checkRowsOnce(t, recs, readOutput(t, local))
			if m := readManifest(t, local); !m.Complete || m.Counts.OK != records {
				t.Errorf("manifest: complete %v counts %+v", m.Complete, m.Counts)
			}
		})
	}
}

// s3OutageProxy stands between a run and the S3 test server and can stop
// answering, as a stopped server does: connections are closed. It counts
// when the first write failed (its connection closed).
type s3OutageProxy struct {
	*httptest.Server
	down     atomic.Bool
	mu       sync.Mutex
	failedAt time.Time // when the first write failed
}

func newS3OutageProxy(t *testing.T, e *s3Env) *s3OutageProxy {
	t.Helper()
	target, err := url.Parse(e.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3OutageProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.down.Load() {
			rp.ServeHTTP(w, r)
			return
		}
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		// The write has failed once its connection is closed: from then
		// on the run may know.
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			p.mu.Lock()
			if p.failedAt.IsZero() {
				p.failedAt = time.Now()
			}
			p.mu.Unlock()
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// TestS3OutageStopsSpending stops the S3 output mid-run: no model call
// starts after the first failed write reached the run, the run keeps its rows in the spool
// and exits 1 after --output-grace; with S3 back, the next run commits the
// spooled rows, pays for nothing twice and leaves no incomplete upload.
func TestS3OutageStopsSpending(t *testing.T) {
	const (
		records = 2000
		// reactionTime bounds how long after the first failed write a call
		// already on its way may arrive.
		reactionTime = 250 * time.Millisecond
	)
	e := newS3Env(t)
	srv := startEmulator(t, bedrocktest.Options{Latency: 100 * time.Millisecond})
	dir := t.TempDir()
	recs := makeRecords(records)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	p := newS3OutageProxy(t, e)
	calls := newCallClock(t, srv)
	args := []string{"run", "--input", input, "--output", e.uri("out/"), "--model", s3Model, "--concurrency", "32",
		"--s3-endpoint", p.URL, "--output-grace", "3s"}
	env := e.batchEnv(calls.URL, "AWS_NEW_RETRIES_2026=true")

	cmd, stderr := startBatch(t, env, args...)
	waitForAnswers(t, srv, 300, stderr)
	p.down.Store(true)
	code := exitCode(cmd.Wait())
	p.down.Store(false)
	t.Logf("first run:\n%s", stderr.String())
	if code != exitFailed {
		t.Fatalf("exit %d with the output down, want %d", code, exitFailed)
	}
	p.mu.Lock()
	failedAt := p.failedAt
	p.mu.Unlock()
	if failedAt.IsZero() {
		t.Fatal("no write failed: the outage proves nothing")
	}
	// A call that had passed the run's check before the failure reached it
	// (the SDK's error handling, the call's signing) may still arrive a
	// few milliseconds later; none may come once the run knew. Without the
	// check calls go on for the whole --output-grace (3 s here).
	after := calls.since(failedAt)
	t.Logf("%d calls answered before the run stopped; %d arrived after the first failed write, that long after it: %v",
		srv.Stats().OK, len(after), after)
	if late := slices.IndexFunc(after, func(d time.Duration) bool { return d > reactionTime }); late >= 0 {
		t.Errorf("a model call started %s after the first failed write: the run went on spending", after[late])
	}
	if !strings.Contains(stderr.String(), "spool") {
		t.Errorf("the failed run does not say where its rows are kept:\n%s", stderr.String())
	}

	res := runBatchS3(t, e.batchEnv(srv.URL), args...)
	if res.code != exitOK {
		t.Fatalf("resume with S3 back: exit %d\n%s", res.code, res.stderr)
	}
	if total := srv.Stats().OK; total != records {
		t.Errorf("%d calls answered for %d records: %d paid twice", total, records, total-records)
	}
	local, _ := e.download(t, "out/")
	checkRowsOnce(t, recs, readOutput(t, local))
	if keys := e.incompleteUploads(t, "out/"); len(keys) > 0 {
		t.Errorf("incomplete uploads left: %q", keys)
	}
}

// callClock stands in front of the emulator and notes when each model
// call arrives.
type callClock struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
}

func newCallClock(t *testing.T, model *bedrocktest.Server) *callClock {
	t.Helper()
	c := &callClock{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.arrivals = append(c.arrivals, time.Now())
		c.mu.Unlock()
		model.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

// since returns how long after t each call that arrived after it came.
func (c *callClock) since(t time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var after []time.Duration
	for _, a := range c.arrivals {
		if a.After(t) {
			after = append(after, a.Sub(t))
		}
	}
	return after
}

// TestLostLeaseStopsTheRun replaces a running run's lease with another
// holder's, as a run that took it over would: at its next renewal (every
// 10 s) the run finds the lease changed, writes nothing more to the
// output, keeps its rows in the spool and exits 1 naming the lease. The
// next run, the other holder gone, commits the spooled rows and finishes
// exactly, paying for nothing twice.
func TestLostLeaseStopsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lease's 10 s renewal")
	}
	t.Parallel()
	const records = 2000
	srv := startEmulator(t, bedrocktest.Options{Latency: 100 * time.Millisecond})
	dir := t.TempDir()
	recs := makeRecords(records)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", input, "--output", out, "--model", s3Model, "--concurrency", "8"}

	cmd, stderr := startBatch(t, emulatorEnv(srv.URL), args...)
	waitForAnswers(t, srv, 20, stderr)
	leaseFile := filepath.Join(out, "_lease.json")
	taker := fmt.Sprintf(`{"host":"elsewhere","pid":1,"run_id":"taker","started_at":%q,"renewed_at":%q,"renew_seconds":10}`,
		time.Now().UTC().Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(leaseFile, []byte(taker), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd.Wait()); code != exitFailed {
		t.Fatalf("exit %d after losing the lease, want %d\n%s", code, exitFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "lease") || !strings.Contains(stderr.String(), "was changed by another run") {
		t.Errorf("the run does not say it lost the lease:\n%s", stderr.String())
	}
	if srv.Stats().OK >= records {
		t.Fatal("the run finished before its lease was lost: the test proves nothing")
	}
	if names, _ := filepath.Glob(filepath.Join(out, "part-*")); len(names) > 0 {
		t.Errorf("the run wrote data files after losing its lease: %q", names)
	}
	got, err := os.ReadFile(leaseFile)
	if err != nil || string(got) != taker {
		t.Errorf("the run touched the lease it lost: %q, %v", got, err)
	}

	os.Remove(leaseFile) // the other holder is gone
	if res := runBatch(t, srv.URL, args...); res.code != exitOK {
		t.Fatalf("the next run: exit %d\n%s", res.code, res.stderr)
	}
	checkRowsOnce(t, recs, readOutput(t, out))
	if total := srv.Stats().OK; total != records {
		t.Errorf("%d calls answered for %d records: %d paid twice", total, records, total-records)
	}
}

// startBatch starts the binary with env and returns it running, with its
// stderr; the test's end kills it if it still runs.
func startBatch(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := batchCommand(context.Background(), env, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &stderr
}

// waitForAnswers waits until the emulator has answered n calls, so a run
// is well under way (at most 30 s, or the test fails).
func waitForAnswers(t *testing.T, srv *bedrocktest.Server, n int64, stderr *bytes.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); srv.Stats().OK < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls answered in 30 s, want %d\n%s", srv.Stats().OK, n, stderr.String())
		}
	}
}

// exitCode is the exit status a finished run's Wait reports.
func exitCode(err error) int {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
