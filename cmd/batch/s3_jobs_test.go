package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// TestS3KillResumeShardsRetry runs the job features against an S3 output:
// kill -9 twice and resume, three shards at once into one prefix with
// batch status over it, and --retry-errors replacing error rows in S3.
func TestS3KillResumeShardsRetry(t *testing.T) {
	t.Parallel()
	e := newS3Env(t)
	dir := t.TempDir()
	recs := makeRecords(600)
	input := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, input, recs)
	s3 := []string{"--s3-endpoint", e.endpoint, "--model", s3Model}

	t.Run("kill and resume", func(t *testing.T) {
		srv := startEmulator(t, bedrocktest.Options{Latency: 20 * time.Millisecond, Faults: bedrocktest.Faults{Throttle: 0.05}})
		args := append([]string{"run", "--input", input, "--output", e.uri("killed/"), "--concurrency", "8", "--sync-interval", "300ms"}, s3...)
		for _, after := range []time.Duration{700 * time.Millisecond, 1100 * time.Millisecond} {
			cmd := batchCommand(context.Background(), e.batchEnv(srv.URL), args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(after)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
		if res := runBatchS3(t, e.batchEnv(srv.URL), args...); res.code != exitOK {
			t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
		}
		out, _ := e.download(t, "killed/")
		checkRowsOnce(t, recs, readOutput(t, out))
		m := readManifest(t, out)
		if !m.Complete || m.Counts.OK != int64(len(recs)) {
			t.Errorf("manifest: complete %v counts %+v", m.Complete, m.Counts)
		}
		// Kills leave unfinished uploads S3 cannot clean up by itself; the
		// lifecycle rule in the README does. Only completed files count.
	})

	t.Run("shards and status", func(t *testing.T) {
		srv := startEmulator(t, bedrocktest.Options{})
		var wg sync.WaitGroup
		results := make([]result, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := append([]string{"run", "--input", input, "--output", e.uri("sharded/"), "--shard", []string{"0/3", "1/3", "2/3"}[i]}, s3...)
				results[i] = runBatchS3(t, e.batchEnv(srv.URL), args...)
			}()
		}
		wg.Wait()
		for i, res := range results {
			if res.code != exitOK {
				t.Fatalf("shard %d: exit %d\n%s", i, res.code, res.stderr)
			}
		}
		dir, _ := e.download(t, "sharded/")
		checkRows(t, recs, readOutput(t, dir), srv)
		status := runBatchS3(t, e.batchEnv(""), "status", "--output", e.uri("sharded/"), "--s3-endpoint", e.endpoint)
		if status.code != exitOK || !strings.HasPrefix(strings.TrimSpace(lastLine(status.stdout)), "total  ") ||
			strings.Fields(lastLine(status.stdout))[1] != "600" {
			t.Errorf("status: exit %d\n%s%s", status.code, status.stdout, status.stderr)
		}
	})

	t.Run("retry errors", func(t *testing.T) {
		args := append([]string{"run", "--input", input, "--output", e.uri("retried/"), "--output-format", "parquet"}, s3...)
		flaky := startEmulator(t, bedrocktest.Options{Faults: bedrocktest.Faults{InternalError: 0.2}, Seed: 5})
		if res := runBatchS3(t, e.batchEnv(flaky.URL), append(args, "--max-attempts", "1")...); res.code != exitSomeErrors {
			t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
		}
		healthy := startEmulator(t, bedrocktest.Options{})
		if res := runBatchS3(t, e.batchEnv(healthy.URL), append(args, "--retry-errors")...); res.code != exitOK {
			t.Fatalf("--retry-errors: exit %d\n%s", res.code, res.stderr)
		}
		out, _ := e.download(t, "retried/")
		checkRowsOnce(t, recs, readOutput(t, out))
		if keys := e.incompleteUploads(t, "retried/"); len(keys) > 0 {
			t.Errorf("incomplete uploads left: %q", keys)
		}
		if healthy.Stats().Requests != flaky.Stats().Faults {
			t.Errorf("%d calls sent again for %d error rows", healthy.Stats().Requests, flaky.Stats().Faults)
		}
	})
}
