package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// TestSIGTERMStopsGracefully sends SIGTERM mid-run: the run takes no new
// records, lets the calls in flight finish, writes a row for every call the
// emulator answered, and exits 1.
func TestSIGTERMStopsGracefully(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{Latency: 400 * time.Millisecond})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	recs := makeRecords(200)
	writeJSONLInput(t, input, recs)
	out := filepath.Join(dir, "out")

	cmd := batchCommand(context.Background(), emulatorEnv(srv.URL), "run", "--input", input, "--output", out, "--model", "m", "--concurrency", "8", "--grace", "5s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().OK < 16 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitFailed {
		t.Fatalf("exit %v, want %d\n%s", err, exitFailed, stderr.String())
	}

	rows := readOutput(t, out)
	stats := srv.Stats()
	if int64(len(rows)) != stats.OK {
		t.Errorf("%d rows written, but the emulator answered %d calls: finished calls were lost", len(rows), stats.OK)
	}
	if len(rows) == 0 || len(rows) >= len(recs) {
		t.Errorf("%d rows of %d: the stop did not land mid-run", len(rows), len(recs))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.ID] || r.Status != writer.StatusOK {
			t.Errorf("row %q: duplicate or not ok (%s %s)", r.ID, r.Status, r.ErrorType)
		}
		seen[r.ID] = true
	}
	m := readManifest(t, out)
	if m.Complete || !m.Interrupted || m.Counts.Records != int64(len(rows)) {
		t.Errorf("manifest: complete %v interrupted %v records %d (rows %d)", m.Complete, m.Interrupted, m.Counts.Records, len(rows))
	}
}
