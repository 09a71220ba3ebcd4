package main

// End-to-end tests of locked-down accounts: the binary's S3 traffic goes
// through s3test.PolicyProxy, which enforces the example bucket policy of
// deploy/locked-down/ (SSE-KMS with one key on every write) and the
// expected bucket owner on every call, the way S3 would.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

// The locked-down account of these tests: deploy/locked-down's example.
const (
	lockedKey   = s3test.ExampleKMSKeyID
	lockedOwner = s3test.ExampleOwner
)

// lockedDownFlags are the flags that satisfy the test policy.
var lockedDownFlags = []string{"--s3-sse", "aws:kms", "--s3-kms-key-id", lockedKey, "--expected-bucket-owner", lockedOwner}

// newLockedDownProxy starts the policy proxy in front of the test server,
// enforcing deploy/locked-down/bucket-policy.json.
func newLockedDownProxy(t *testing.T) *s3test.PolicyProxy {
	t.Helper()
	return s3test.NewPolicyProxy(t, s3test.ExamplePolicy(t))
}

// TestLockedDownRuns runs JSONL and Parquet jobs, from local and S3 inputs,
// into an S3 output behind the policy: with the options every record has
// its one right row and no request is refused, multipart uploads included.
func TestLockedDownRuns(t *testing.T) {
	s3test.Endpoint(t)
	tests := []struct {
		name, input, format string
		big                 bool // rows of ~10 KB: a data file of several multipart parts
	}{
		{name: "local jsonl", input: "local", format: "jsonl"},
		{name: "local parquet", input: "local", format: "parquet"},
		{name: "s3 jsonl", input: "s3", format: "jsonl"},
		{name: "s3 parquet", input: "s3", format: "parquet"},
		{name: "s3 jsonl, multipart output", input: "s3", format: "jsonl", big: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newS3Env(t)
			proxy := newLockedDownProxy(t)
			srv := startEmulator(t, bedrocktest.Options{Faults: bedrocktest.Faults{Throttle: 0.05}, Seed: 19})
			recs := makeRecords(300)
			input := filepath.Join(t.TempDir(), "prompts."+tt.format)
			switch {
			case tt.big:
				recs = makeRecords(1000)
				e.put(t, "in/prompts.jsonl", s3MetadataInput(len(recs)))
				input = e.uri("in/prompts.jsonl")
			case tt.input == "s3":
				layout := s3LayoutFor("key", tt.format, recs)
				layout.upload(t, e)
				input = e.uri(layout.input)
			case tt.format == "parquet":
				writeParquetInput(t, input, recs)
			default:
				writeJSONLInput(t, input, recs)
			}
			const outPrefix = "out/locked/"
			args := append([]string{"run", "--input", input, "--output", e.uri(outPrefix), "--output-format", tt.format,
				"--model", s3Model, "--concurrency", "32", "--s3-endpoint", proxy.URL}, lockedDownFlags...)
			// The rows are written from the journal into one data file at the
			// end (--part-rows is a million): ~10 MB when big, a multipart
			// upload; the journal's segments and the lease go through the
			// policy too.
			res := runBatchS3(t, e.batchEnv(srv.URL), args...)
			if res.code != exitOK {
				t.Fatalf("exit %d, want 0\nstderr:\n%s", res.code, res.stderr)
			}
			proxy.CheckNoneRefused(t)
			rows, m := checkS3Output(t, e, outPrefix, tt.format)
			if tt.big {
				checkRowsOnce(t, recs, rows)
			} else {
				checkRows(t, recs, rows, srv)
			}
			if !m.Complete || m.Counts.OK != int64(len(recs)) {
				t.Errorf("manifest: complete %v counts %+v", m.Complete, m.Counts)
			}
			passed := proxy.Passed()
			if passed["CreateMultipartUpload"] == 0 || passed["AbortMultipartUpload"] == 0 {
				t.Errorf("no write check went through the policy: %v", passed)
			}
			if tt.big && (passed["UploadPart"] < 2 || passed["CompleteMultipartUpload"] == 0) {
				t.Errorf("the output was not written as a multipart upload: %v", passed)
			}
			if tt.input == "s3" && passed["GetObject"] == 0 {
				t.Errorf("the input was not read through the policy: %v", passed)
			}
		})
	}
}

// TestLockedDownMedia reads a record's documents from S3 behind the policy:
// the bytes the run reads itself go through it with the owner, and a model
// that reads S3 itself gets the owner as the location's bucketOwner.
func TestLockedDownMedia(t *testing.T) {
	e := newS3Env(t)
	proxy := newLockedDownProxy(t)
	var seen observed
	const nova, claude = "us.amazon.nova-lite-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"
	srv := startEmulator(t, bedrocktest.Options{Observe: seen.observe, S3LocationModels: []string{"amazon.nova-lite-v1:0"}})
	report := []byte("Quarterly report. Revenue grew nine percent.")
	e.put(t, "docs/report.txt", report)
	var lines []string
	for _, model := range []string{nova, claude} {
		lines = append(lines, fmt.Sprintf(`{"id":%q,"model":%q,"prompt":"Summarize the attachment.","documents":[%q]}`,
			model, model, e.uri("docs/report.txt")))
	}
	e.put(t, "in/records.jsonl", []byte(strings.Join(lines, "\n")))
	args := append([]string{"run", "--input", e.uri("in/records.jsonl"), "--output", e.uri("out/"),
		"--model", claude, "--s3-endpoint", proxy.URL, "--s3-location-models", "amazon.nova-*"}, lockedDownFlags...)
	if res := runBatchS3(t, e.batchEnv(srv.URL), args...); res.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", res.code, res.stderr)
	}
	proxy.CheckNoneRefused(t)
	rows, _ := checkS3Output(t, e, "out/", "jsonl")
	for _, r := range rows {
		if r.Status != "ok" {
			t.Errorf("%s: %s %s", r.ID, r.ErrorType, r.ErrorMessage)
		}
	}
	for _, r := range seen.all() {
		if len(r.Messages) != 1 || len(r.Messages[0].Documents) != 1 {
			t.Fatalf("%s: sent %+v", r.ModelID, r.Messages)
		}
		doc := r.Messages[0].Documents[0]
		switch r.ModelID {
		case nova:
			if doc.S3URI != e.uri("docs/report.txt") || doc.S3BucketOwner != lockedOwner {
				t.Errorf("nova got %+v; want the s3Location with bucketOwner %s", doc, lockedOwner)
			}
		case claude:
			if doc.Bytes != len(report) {
				t.Errorf("claude got %+v; want the bytes, read through the policy", doc)
			}
		}
	}
	if n := len(seen.all()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

// TestLockedDownRunsWithoutTheOptions runs the same jobs without one of the
// options: each fails at preflight, exit 2, before any model call, saying
// which rule bit and which flag satisfies it, and writes nothing.
func TestLockedDownRunsWithoutTheOptions(t *testing.T) {
	e := newS3Env(t)
	proxy := newLockedDownProxy(t)
	recs := makeRecords(20)
	dir := t.TempDir()
	writeJSONLInput(t, filepath.Join(dir, "prompts.jsonl"), recs)
	writeParquetInput(t, filepath.Join(dir, "prompts.parquet"), recs)
	for _, format := range []string{"jsonl", "parquet"} {
		s3LayoutFor("key", format, recs).upload(t, e)
	}
	noSSE := []string{"--expected-bucket-owner", lockedOwner}
	noOwner := []string{"--s3-sse", "aws:kms", "--s3-kms-key-id", lockedKey}
	otherKey := []string{"--s3-kms-key-id", "alias/other", "--expected-bucket-owner", lockedOwner}
	tests := []struct {
		name, input string
		flags       []string
		want        []string
	}{
		{"local jsonl, no encryption", filepath.Join(dir, "prompts.jsonl"), noSSE,
			[]string{"CreateMultipartUpload", "explicit deny", "requires server-side encryption", "--s3-sse aws:kms", "--s3-kms-key-id"}},
		{"s3 parquet, no encryption", e.uri("data/prompts.parquet"), noSSE,
			[]string{"CreateMultipartUpload", "--s3-sse aws:kms", "--s3-kms-key-id"}},
		{"local parquet, no owner", filepath.Join(dir, "prompts.parquet"), noOwner,
			[]string{"access denied", "--expected-bucket-owner ACCOUNT_ID"}},
		{"s3 jsonl, no owner", e.uri("data/prompts.jsonl"), noOwner,
			[]string{e.uri("data/prompts.jsonl"), "--expected-bucket-owner ACCOUNT_ID"}},
		{"s3 jsonl, another key", e.uri("data/prompts.jsonl"), otherKey,
			[]string{"--s3-kms-key-id alias/other is the key the bucket policy names", "kms:GenerateDataKey"}},
		{"local jsonl, nothing", filepath.Join(dir, "prompts.jsonl"), nil,
			[]string{"--s3-sse aws:kms", "--expected-bucket-owner ACCOUNT_ID"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startEmulator(t, bedrocktest.Options{})
			refusedBefore := len(proxy.Refused())
			out := e.uri("out/" + string(rune('a'+i)) + "/")
			args := append([]string{"run", "--input", tt.input, "--output", out, "--model", s3Model, "--s3-endpoint", proxy.URL}, tt.flags...)
			res := runBatchS3(t, e.batchEnv(srv.URL), args...)
			t.Logf("stderr:\n%s", res.stderr)
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d (a setup error)\nstderr:\n%s", res.code, exitUsage, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, res.stderr)
				}
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("the emulator received %d model calls before the error", n)
			}
			if len(proxy.Refused()) == refusedBefore {
				t.Error("the policy refused nothing: the run did not meet it")
			}
		})
	}
	if keys := e.list(t, "out/"); len(keys) > 0 {
		t.Errorf("refused runs wrote to their output: %q", keys)
	}
	if keys := e.incompleteUploads(t, ""); len(keys) > 0 {
		t.Errorf("incomplete multipart uploads: %q", keys)
	}
}

// TestLockedDownBatchInference runs the batch-inference route with its
// staging prefix behind the policy and an emulator whose jobs reach S3
// through it too: every job carries the key, the owners, the VPC and the
// tags, the jobs write their outputs (which they could not without the
// key), and no request of the run is refused. Without the key, the run
// stops at preflight.
func TestLockedDownBatchInference(t *testing.T) {
	s3test.Endpoint(t)
	proxy := newLockedDownProxy(t)
	r := newRouteEnvThrough(t, proxy)
	input, prompts := routeRecords(t, t.TempDir(), 250, 0)
	subnets := []string{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"}
	groups := []string{"sg-0123456789abcdef0"}
	args := append(r.args(input), "--s3-endpoint", proxy.URL,
		"--batch-subnets", strings.Join(subnets, ","), "--batch-security-groups", groups[0],
		"--tag", "team=evals", "--tag", "cost-center=4711")
	res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), append(args, lockedDownFlags...)...)
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	proxy.CheckNoneRefused(t)
	rows := rowsByID(t, readOutput(t, r.out))
	checkAnswered(t, prompts, rows)
	jobs := r.srv.BatchJobs()
	if len(jobs) == 0 {
		t.Fatal("no batch-inference job was created")
	}
	for _, j := range jobs {
		if j.OutputKMSKeyID != lockedKey || j.InputBucketOwner != lockedOwner || j.OutputBucketOwner != lockedOwner ||
			!slices.Equal(j.SubnetIDs, subnets) || !slices.Equal(j.SecurityGroupIDs, groups) ||
			j.Tags["team"] != "evals" || j.Tags["cost-center"] != "4711" || len(j.Tags) != 2 {
			t.Errorf("job %s was created with key %q, owners %q/%q, subnets %q, groups %q, tags %v",
				j.Name, j.OutputKMSKeyID, j.InputBucketOwner, j.OutputBucketOwner, j.SubnetIDs, j.SecurityGroupIDs, j.Tags)
		}
		if j.Status != "Completed" {
			t.Errorf("job %s: %s %q", j.Name, j.Status, j.Message)
		}
	}
	batchRows := 0
	for _, row := range rows {
		if row.Route == "batch-inference" {
			batchRows++
		}
	}
	if batchRows != len(prompts) {
		t.Errorf("%d of %d rows from batch-inference jobs", batchRows, len(prompts))
	}
	checkSameMode(t, r.out)

	t.Run("without the key", func(t *testing.T) {
		r := newRouteEnvThrough(t, proxy)
		args := append(r.args(input), "--s3-endpoint", proxy.URL, "--expected-bucket-owner", lockedOwner)
		res := runBatchS3(t, r.s3.batchEnv(r.srv.URL), args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, r.s3.uri("staging/")) || !strings.Contains(res.stderr, "--s3-sse aws:kms") {
			t.Errorf("exit %d, want %d naming the staging prefix and --s3-sse\nstderr:\n%s", res.code, exitUsage, res.stderr)
		}
		if n, jobs := r.srv.Stats().Requests, len(r.srv.BatchJobs()); n != 0 || jobs != 0 {
			t.Errorf("%d model calls and %d jobs before the error", n, jobs)
		}
	})
}

// newRouteEnvThrough is newRouteEnv whose emulator's jobs reach S3 through
// proxy, as Bedrock would reach a locked-down bucket.
func newRouteEnvThrough(t *testing.T, proxy *s3test.PolicyProxy) *routeEnv {
	t.Helper()
	e := newS3Env(t)
	srv := startEmulator(t, bedrocktest.Options{BatchStore: batchjobsStoreThrough(t, proxy.URL)})
	return &routeEnv{s3: e, srv: srv, out: filepath.Join(t.TempDir(), "out")}
}

// batchjobsStoreThrough is the emulator's S3 object store, reaching the test
// server through the proxy at url.
func batchjobsStoreThrough(t *testing.T, url string) batchjobs.ObjectStore {
	t.Helper()
	return batchjobs.NewS3ObjectStore(s3.NewFromConfig(s3test.Config(t), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(url), true
	}))
}

// checkSameMode checks that every file a run left in a local output has
// the same mode: data files, the manifest and bookkeeping alike.
func checkSameMode(t *testing.T, dir string) {
	t.Helper()
	modes := map[os.FileMode][]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		modes[fi.Mode().Perm()] = append(modes[fi.Mode().Perm()], strings.TrimPrefix(p, dir))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(modes) != 1 {
		t.Errorf("the output's files have %d modes: %v", len(modes), modes)
	}
}
