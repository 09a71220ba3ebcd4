package main

// End-to-end tests of S3 inputs and outputs: the built binary reads prompts
// from and writes results to the S3 test server (MinIO, started by
// scripts/s3-server.sh), calling the Bedrock emulator. Without a server the
// tests skip (and fail under CI=true): see s3test.Endpoint.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// s3Model is the model id the S3 tests ask for.
const s3Model = "anthropic.claude-3-haiku-20240307-v1:0"

// s3Env is the S3 test server, a plain client of it and a fresh bucket.
type s3Env struct {
	endpoint, accessKey, secretKey string
	client                         *s3.Client
	bucket                         string
}

// newS3Env skips the test without an S3 server (fails it under CI=true) and
// creates a bucket that is emptied and removed when the test ends.
func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	endpoint, accessKey, secretKey := s3test.Endpoint(t)
	client := s3test.Client(t)
	return &s3Env{endpoint: endpoint, accessKey: accessKey, secretKey: secretKey,
		client: client, bucket: s3test.NewBucket(t, client)}
}

// uri is the s3:// URI of key in the bucket.
func (e *s3Env) uri(key string) string { return "s3://" + e.bucket + "/" + key }

// put writes an object directly.
func (e *s3Env) put(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// list returns every key under prefix, at any depth, in order.
func (e *s3Env) list(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.client, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", e.uri(prefix), err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// get reads an object directly.
func (e *s3Env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", e.uri(key), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("get %s: %v", e.uri(key), err)
	}
	return data
}

// download copies every object under prefix into a new local directory,
// under its name relative to prefix, and returns the directory and the
// names. An output is flat: a key in a "subfolder" fails the test.
func (e *s3Env) download(t *testing.T, prefix string) (dir string, names []string) {
	t.Helper()
	dir = t.TempDir()
	for _, key := range e.list(t, prefix) {
		name := strings.TrimPrefix(key, prefix)
		if strings.HasPrefix(name, "_runs/") {
			continue // each run's own manifest, beside the shard's
		}
		if name == "" || strings.Contains(name, "/") {
			t.Errorf("unexpected object in the output: %s", e.uri(key))
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), e.get(t, key), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return dir, names
}

// incompleteUploads returns the keys under prefix that have multipart
// uploads neither completed nor aborted, listed directly on the server.
// MinIO matches a listing's prefix against whole keys only, so this lists
// the whole bucket (each test has its own) and filters.
func (e *s3Env) incompleteUploads(t *testing.T, prefix string) []string {
	t.Helper()
	uploads, err := s3test.IncompleteUploads(context.Background(), e.client, e.bucket, "")
	if err != nil {
		t.Fatalf("listing multipart uploads: %v", err)
	}
	var keys []string
	for _, u := range uploads {
		if key := aws.ToString(u.Key); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	return keys
}

// batchEnv is emulatorEnv(bedrockEndpoint) with the S3 server's
// credentials instead of the dummy ones (the emulator takes any), plus
// extra variables.
func (e *s3Env) batchEnv(bedrockEndpoint string, extra ...string) []string {
	var env []string
	for _, kv := range emulatorEnv(bedrockEndpoint) {
		switch {
		case strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID="):
			kv = "AWS_ACCESS_KEY_ID=" + e.accessKey
		case strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY="):
			kv = "AWS_SECRET_ACCESS_KEY=" + e.secretKey
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runBatchS3 runs the binary with env, for at most two minutes.
func runBatchS3(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := batchCommand(ctx, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("batch %s did not end within 2 minutes\nstderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running batch: %v", err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// s3EncodeInput returns recs as a JSONL or Parquet file, by the name's
// extension, written by the helpers of the local end-to-end tests.
func s3EncodeInput(t *testing.T, name string, recs []inputRecord) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), path.Base(name))
	if strings.HasSuffix(name, ".parquet") {
		writeParquetInput(t, p, recs)
	} else {
		writeJSONLInput(t, p, recs)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// s3IgnoredRecords are records of objects a run must not read: a row with
// one of their ids fails checkRows as a row for an unknown id.
func s3IgnoredRecords(tag string, n int) []inputRecord {
	recs := make([]inputRecord, n)
	for i := range recs {
		recs[i] = inputRecord{ID: fmt.Sprintf("ignored-%s-%d", tag, i), Prompt: prompt(1000 + i)}
	}
	return recs
}

// s3Layout is a set of input objects and the URI a run is given.
type s3Layout struct {
	input   string                   // key, prefix or glob, relative to the bucket
	data    map[string][]inputRecord // the objects the input names, by key
	ignored []string                 // keys of objects it must not name (valid inputs all the same)
	other   map[string][]byte        // further objects: not input files at all
}

// s3LayoutFor spreads recs over objects of format ext ("jsonl" or "parquet")
// as one key, a prefix or a glob across folders, with decoys the expansion
// must leave out.
func s3LayoutFor(kind, ext string, recs []inputRecord) s3Layout {
	split := func(keys ...string) map[string][]inputRecord {
		m := make(map[string][]inputRecord, len(keys))
		per := (len(recs) + len(keys) - 1) / len(keys)
		for i, k := range keys {
			m[k] = recs[i*per : min((i+1)*per, len(recs))]
		}
		return m
	}
	switch kind {
	case "key":
		return s3Layout{
			input:   "data/prompts." + ext,
			data:    split("data/prompts." + ext),
			ignored: []string{"data/prompts-old." + ext, "data/prompts." + ext + ".bak", "data/prompts/x." + ext},
		}
	case "prefix":
		return s3Layout{
			input: "batch/",
			data:  split("batch/a."+ext, "batch/b."+ext, "batch/nested/deeper/c."+ext),
			ignored: []string{
				"batch/_previous." + ext, // bookkeeping names are skipped
				"batch/.hidden." + ext,
				"batchx/d." + ext, // not under the prefix
			},
			other: map[string][]byte{
				"batch/README.txt":     []byte("not an input: the run must not try to read it\n"),
				"batch/_manifest.json": []byte("{}\n"),
				"batch/notes.json":     []byte("{\"id\":\"x\",\"prompt\":\"json, not jsonl\"}\n"),
			},
		}
	case "glob":
		return s3Layout{
			input: "evals/2026-*/part-*." + ext,
			data:  split("evals/2026-01/part-0."+ext, "evals/2026-02/part-1."+ext, "evals/2026-11/part-2."+ext),
			ignored: []string{
				"evals/2025-12/part-3." + ext,       // a folder the pattern does not match
				"evals/2026-01/summary." + ext,      // a name it does not match
				"evals/2026-02/sub/part-4." + ext,   // a * never crosses a /
				"evals/2026-03/part-5." + ext + "x", // another extension
			},
			other: map[string][]byte{"evals/2026-02/part-9.txt": []byte("text\n")},
		}
	}
	panic("unknown layout " + kind)
}

// upload writes the layout's objects.
func (l s3Layout) upload(t *testing.T, e *s3Env) {
	t.Helper()
	for key, recs := range l.data {
		e.put(t, key, s3EncodeInput(t, key, recs))
	}
	for i, key := range l.ignored {
		name := strings.TrimSuffix(strings.TrimSuffix(key, "x"), ".bak") // encoded as its near-namesake
		e.put(t, key, s3EncodeInput(t, name, s3IgnoredRecords(fmt.Sprint(i), 5)))
	}
	for key, data := range l.other {
		e.put(t, key, data)
	}
}

// checkS3Output checks what a finished run left under the output prefix
// (the key prefix, ending in "/"): only data files of format and
// bookkeeping files, a manifest among them, no incomplete multipart
// upload. It returns the data rows, read back with encoding/json and Arrow,
// and the manifest.
func checkS3Output(t *testing.T, e *s3Env, prefix, format string) ([]writer.Row, manifest.Manifest) {
	t.Helper()
	dir, names := e.download(t, prefix)
	var data []string
	hasManifest := false
	for _, name := range names {
		switch {
		case name == manifest.Name:
			hasManifest = true
		case strings.HasPrefix(name, "_write-check"):
			t.Errorf("the writability check left an object behind: %s", e.uri(prefix+name))
		case strings.HasPrefix(name, "_"):
		case strings.HasSuffix(name, "."+format):
			data = append(data, name)
		default:
			t.Errorf("unexpected object in the output: %s", e.uri(prefix+name))
		}
	}
	if !hasManifest {
		t.Fatalf("no %s under %s; objects: %q", manifest.Name, e.uri(prefix), names)
	}
	if len(data) == 0 {
		t.Errorf("no %s data files under %s; objects: %q", format, e.uri(prefix), names)
	}
	if keys := e.incompleteUploads(t, prefix); len(keys) > 0 {
		t.Errorf("incomplete multipart uploads left under %s: %q", e.uri(prefix), keys)
	}
	m := readManifest(t, dir)
	files := slices.Clone(m.OutputFiles)
	slices.Sort(files)
	if !slices.Equal(files, data) {
		t.Errorf("manifest lists output files %q; the output holds %q", m.OutputFiles, data)
	}
	return readOutput(t, dir), m
}

// TestS3InputsAndOutputs reads JSONL and Parquet inputs from S3 (one key, a
// prefix, a glob across folders) and writes JSONL and Parquet outputs to S3,
// with Bedrock faults, and checks every record has its one right row.
func TestS3InputsAndOutputs(t *testing.T) {
	s3test.Endpoint(t)
	faults := bedrocktest.Faults{Throttle: 0.05, InternalError: 0.03}
	tests := []struct {
		name         string
		layout       string // key, prefix or glob
		inputFormat  string
		outputFormat string
		endpointEnv  bool // AWS_ENDPOINT_URL_S3 rather than --s3-endpoint
		pathStyle    bool // --s3-path-style as well
	}{
		{name: "key jsonl to jsonl", layout: "key", inputFormat: "jsonl", outputFormat: "jsonl"},
		{name: "key parquet to parquet, AWS_ENDPOINT_URL_S3", layout: "key", inputFormat: "parquet", outputFormat: "parquet", endpointEnv: true},
		{name: "prefix jsonl to parquet", layout: "prefix", inputFormat: "jsonl", outputFormat: "parquet", pathStyle: true},
		{name: "prefix parquet to jsonl", layout: "prefix", inputFormat: "parquet", outputFormat: "jsonl"},
		{name: "glob jsonl to parquet", layout: "glob", inputFormat: "jsonl", outputFormat: "parquet"},
		{name: "glob parquet to jsonl", layout: "glob", inputFormat: "parquet", outputFormat: "jsonl"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newS3Env(t)
			srv := startEmulator(t, bedrocktest.Options{Faults: faults, Seed: int64(100 + i)})
			recs := makeRecords(300)
			layout := s3LayoutFor(tt.layout, tt.inputFormat, recs)
			layout.upload(t, e)

			const outPrefix = "out/run-1/"
			args := []string{"run", "--input", e.uri(layout.input), "--output", e.uri(outPrefix),
				"--output-format", tt.outputFormat, "--model", s3Model, "--concurrency", "32"}
			var extra []string
			if tt.endpointEnv {
				extra = append(extra, "AWS_ENDPOINT_URL_S3="+e.endpoint)
			} else {
				args = append(args, "--s3-endpoint", e.endpoint)
			}
			if tt.pathStyle {
				args = append(args, "--s3-path-style")
			}
			res := runBatchS3(t, e.batchEnv(srv.URL, extra...), args...)
			if res.code != exitOK {
				t.Fatalf("exit %d, want 0\nstderr:\n%s", res.code, res.stderr)
			}

			rows, m := checkS3Output(t, e, outPrefix, tt.outputFormat)
			checkRows(t, recs, rows, srv)
			stats := srv.Stats()
			if stats.Faults == 0 {
				t.Errorf("no faults were injected: the test proves less than it says")
			}
			var wantInputs []string
			for key := range layout.data {
				wantInputs = append(wantInputs, e.uri(key))
			}
			slices.Sort(wantInputs)
			if !slices.Equal(m.Inputs, wantInputs) {
				t.Errorf("%s expanded to %q; want %q", layout.input, m.Inputs, wantInputs)
			}
			if !m.Complete || m.Counts.Records != int64(len(recs)) || m.Counts.OK != int64(len(recs)) || m.Counts.Error != 0 {
				t.Errorf("manifest counts %+v complete %v", m.Counts, m.Complete)
			}
			if m.Tokens.Input != stats.InputTokens || m.Tokens.Output != stats.OutputTokens {
				t.Errorf("manifest tokens %+v, emulator served %d/%d", m.Tokens, stats.InputTokens, stats.OutputTokens)
			}
		})
	}
}

// s3GoldenRecord is a line of a reader/testdata/*.golden file: what the
// reader makes of one row of a fixture.
type s3GoldenRecord struct {
	ID       string `json:"id"`
	Origin   string `json:"origin"` // testdata/NAME.parquet row N
	Messages []struct {
		Role string   `json:"role"`
		Text []string `json:"text"`
	} `json:"messages"`
	Metadata string `json:"metadata"` // verbatim
	Field    string `json:"err_field"`
	Err      string `json:"err"`
}

// lastUserText is what the emulator answers: the text blocks of the last
// user message, joined with "\n".
func (g s3GoldenRecord) lastUserText() string {
	for i := len(g.Messages) - 1; i >= 0; i-- {
		if g.Messages[i].Role == "user" {
			return strings.Join(g.Messages[i].Text, "\n")
		}
	}
	return ""
}

func s3ReadGolden(t *testing.T, path string) []s3GoldenRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []s3GoldenRecord
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var g s3GoldenRecord
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, g)
	}
	return recs
}

// s3ParquetRowCount reads a Parquet file's row count with Apache Arrow.
func s3ParquetRowCount(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pf.Close()
	return pf.NumRows()
}

// s3CompactJSON returns JSON text without insignificant space, or the text
// itself when it is not JSON.
func s3CompactJSON(text []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, text); err != nil {
		return string(text)
	}
	return b.String()
}

// TestS3ForeignParquetInput runs Parquet files written by DuckDB, uploaded
// to S3, and checks each row against the reader's golden file.
func TestS3ForeignParquetInput(t *testing.T) {
	s3test.Endpoint(t)
	tests := []struct {
		fixture      string
		outputFormat string
	}{
		{"duckdb_zstd_dict", "jsonl"},
		{"duckdb_snappy_int", "parquet"},
		{"duckdb_gzip_int32", "parquet"},
	}
	for i, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			e := newS3Env(t)
			srv := startEmulator(t, bedrocktest.Options{Faults: bedrocktest.Faults{InternalError: 0.03}, Seed: int64(200 + i)})
			local := filepath.Join("..", "..", "reader", "testdata", tt.fixture+".parquet")
			data, err := os.ReadFile(local)
			if err != nil {
				t.Fatal(err)
			}
			key := "fixtures/" + tt.fixture + ".parquet"
			e.put(t, key, data)
			golden := s3ReadGolden(t, filepath.Join("..", "..", "reader", "testdata", tt.fixture+".golden"))
			count := s3ParquetRowCount(t, local)

			const outPrefix = "out/"
			res := runBatchS3(t, e.batchEnv(srv.URL), "run", "--input", e.uri(key), "--output", e.uri(outPrefix),
				"--output-format", tt.outputFormat, "--model", s3Model, "--s3-endpoint", e.endpoint)
			invalid := slices.ContainsFunc(golden, func(g s3GoldenRecord) bool { return g.Err != "" })
			switch {
			case invalid && res.code != exitSomeErrors, !invalid && res.code != exitOK && res.code != exitSomeErrors:
				t.Fatalf("exit %d (invalid records in the golden file: %v)\nstderr:\n%s", res.code, invalid, res.stderr)
			}

			rows, m := checkS3Output(t, e, outPrefix, tt.outputFormat)
			if int64(len(rows)) != count || m.Counts.Records != count || !m.Complete {
				t.Errorf("%d rows, manifest %+v complete %v; the fixture has %d rows", len(rows), m.Counts, m.Complete, count)
			}
			byID := make(map[string]writer.Row, len(rows))
			var input, output int64
			for _, row := range rows {
				if _, dup := byID[row.ID]; dup {
					t.Errorf("id %q has two rows", row.ID)
				}
				byID[row.ID] = row
				if row.Status == writer.StatusOK {
					input += row.InputTokens
					output += row.OutputTokens
				}
			}
			for _, g := range golden {
				row, ok := byID[g.ID]
				switch {
				case !ok:
					t.Errorf("id %q: no row", g.ID)
				case g.Err != "":
					// The message says where: the object's URI and the row.
					where := e.uri(key) + strings.TrimPrefix(g.Origin, "testdata/"+tt.fixture+".parquet")
					if row.Status != writer.StatusError || row.ErrorType != "InvalidRecord" || !strings.HasPrefix(row.ErrorMessage, where) ||
						!strings.Contains(row.ErrorMessage, g.Err) || !strings.Contains(row.ErrorMessage, g.Field) {
						t.Errorf("id %q: status %q %s: %q; want an InvalidRecord error at %s about %s: %s",
							g.ID, row.Status, row.ErrorType, row.ErrorMessage, where, g.Field, g.Err)
					}
				case row.Status != writer.StatusOK:
					t.Errorf("id %q: status %q (%s: %s)", g.ID, row.Status, row.ErrorType, row.ErrorMessage)
				default:
					if want := bedrocktest.Answer(g.lastUserText()); row.Output != want {
						t.Errorf("id %q: output %q, want %q", g.ID, row.Output, want)
					}
					if got := s3CompactJSON(row.Metadata); g.Metadata != "" && got != s3CompactJSON([]byte(g.Metadata)) {
						t.Errorf("id %q: metadata %s, want %s", g.ID, got, g.Metadata)
					}
				}
			}
			stats := srv.Stats()
			if input != stats.InputTokens || output != stats.OutputTokens {
				t.Errorf("rows hold %d input / %d output tokens; the emulator served %d / %d", input, output, stats.InputTokens, stats.OutputTokens)
			}
		})
	}
}

// TestS3ErrorsBeforeAnyCall checks that a missing bucket, key or input
// fails the run before its first Bedrock call, with a message naming it.
func TestS3ErrorsBeforeAnyCall(t *testing.T) {
	e := newS3Env(t)
	e.put(t, "in/prompts.jsonl", s3EncodeInput(t, "prompts.jsonl", makeRecords(20)))
	e.put(t, "empty/notes.txt", []byte("not an input\n"))
	e.put(t, "empty/_manifest.json", []byte("{}\n"))
	e.put(t, "folder/a.jsonl", s3EncodeInput(t, "a.jsonl", makeRecords(3)))
	b := make([]byte, 6)
	rand.Read(b)
	missing := "bbtest-missing-" + hex.EncodeToString(b)

	tests := []struct {
		name, input, output string
		want                []string
	}{
		{"input bucket missing", "s3://" + missing + "/in/prompts.jsonl", e.uri("out/1/"),
			[]string{"s3://" + missing + "/in/prompts.jsonl", `bucket "` + missing + `" does not exist`}},
		{"input bucket of a prefix missing", "s3://" + missing + "/in/", e.uri("out/2/"),
			[]string{"s3://" + missing + "/in/", `bucket "` + missing + `" does not exist`}},
		{"input key missing", e.uri("in/nope.jsonl"), e.uri("out/3/"),
			[]string{e.uri("in/nope.jsonl"), "no such key"}},
		{"input key is a folder", e.uri("folder"), e.uri("out/4/"),
			[]string{e.uri("folder"), "end the URI with a slash"}},
		{"no input objects under a prefix", e.uri("empty/"), e.uri("out/5/"),
			[]string{e.uri("empty/"), "no input objects"}},
		{"nothing under a prefix", e.uri("nothing/"), e.uri("out/6/"),
			[]string{e.uri("nothing/"), "no input objects"}},
		{"glob matches nothing", e.uri("in/2026-*/part-*.jsonl"), e.uri("out/7/"),
			[]string{e.uri("in/2026-*/part-*.jsonl"), "matches no objects"}},
		{"output bucket missing", e.uri("in/prompts.jsonl"), "s3://" + missing + "/out/",
			[]string{"s3://" + missing + "/out/", `bucket "` + missing + `" does not exist`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startEmulator(t, bedrocktest.Options{})
			res := runBatchS3(t, e.batchEnv(srv.URL), "run", "--input", tt.input, "--output", tt.output,
				"--model", s3Model, "--s3-endpoint", e.endpoint)
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d\nstderr:\n%s", res.code, exitUsage, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, res.stderr)
				}
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("the emulator received %d requests before the error", n)
			}
		})
	}
	if keys := e.list(t, "out/"); len(keys) > 0 {
		t.Errorf("failed runs wrote to their output: %q", keys)
	}
	if keys := e.incompleteUploads(t, ""); len(keys) > 0 {
		t.Errorf("incomplete multipart uploads: %q", keys)
	}
}

// s3FaultProxy is a reverse proxy to the S3 test server that lets the
// first allow PUT and POST requests of keys under an output prefix through
// and then fails every later one, for good: with a 500 InternalError like
// S3's, or by closing the connection. Other requests pass.
type s3FaultProxy struct {
	*httptest.Server
	outPath   string // "/bucket/prefix/": the output's keys as URL paths
	allow     int
	closeConn bool
	spare     bool // bookkeeping files (names starting with "_") always pass

	mu         sync.Mutex
	writes     int            // PUT and POST requests of the output seen
	faults     map[string]int // faults injected, by operation
	firstFault string         // the operation of the first fault
	started    []string       // keys whose CreateMultipartUpload succeeded
}

func newS3FaultProxy(t *testing.T, e *s3Env, outPrefix string, allow int, closeConn, spare bool) *s3FaultProxy {
	t.Helper()
	target, err := url.Parse(e.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3FaultProxy{outPath: "/" + e.bucket + "/" + outPrefix, allow: allow, closeConn: closeConn, spare: spare,
		faults: make(map[string]int)}
	rp := httputil.NewSingleHostReverseProxy(target) // keeps the Host header the client signed
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := s3Operation(r)
		fail := false
		rel := strings.TrimPrefix(r.URL.Path, p.outPath)
		// The record of the run's options, written once at the start, the
		// lease and the journal are not what these faults are about: the
		// data files written from the journal are.
		untouched := rel == "_options.json" || strings.HasPrefix(rel, "_lease") || strings.HasPrefix(rel, "_journal/")
		if (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.HasPrefix(r.URL.Path, p.outPath) && !untouched {
			bookkeeping := strings.HasPrefix(rel, "_")
			p.mu.Lock()
			p.writes++
			if p.writes > p.allow && !(p.spare && bookkeeping) {
				fail = true
				p.faults[op]++
				if p.firstFault == "" {
					p.firstFault = op
				}
			}
			p.mu.Unlock()
		}
		switch {
		case fail && p.closeConn:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case fail:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message>`+
				`<Resource>%s</Resource><RequestId>TESTPROXY</RequestId></Error>`, r.URL.Path)
		default:
			sw := &s3StatusWriter{ResponseWriter: w, status: http.StatusOK}
			rp.ServeHTTP(sw, r)
			if op == "CreateMultipartUpload" && sw.status == http.StatusOK {
				p.mu.Lock()
				p.started = append(p.started, strings.TrimPrefix(r.URL.Path, "/"+e.bucket+"/"))
				p.mu.Unlock()
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// s3StatusWriter remembers the status of a response.
type s3StatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *s3StatusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// s3Operation names the S3 operation of a request, roughly.
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	}
	return r.Method
}

// s3MetadataInput returns a JSONL file of n records whose metadata carries
// about 10 KB of text, so that their rows, which copy it, make an output
// file larger than S3's smallest multipart part.
func s3MetadataInput(n int) []byte {
	pad := strings.Repeat("metadata padding, copied to the row as is. ", 233) // ~10 KB
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i, r := range makeRecords(n) {
		enc.Encode(map[string]any{"id": r.ID, "prompt": r.Prompt, "metadata": map[string]any{"n": i, "pad": pad}})
	}
	return b.Bytes()
}

// TestS3OutputFailure breaks the S3 output for good in the middle of a
// multipart upload and checks the run fails naming the output and leaves
// no incomplete upload behind.
func TestS3OutputFailure(t *testing.T) {
	s3test.Endpoint(t)
	tests := []struct {
		name      string
		allow     int // output PUT/POSTs let through: the writability check's CreateMultipartUpload, the data file's, its parts...
		closeConn bool
		spare     bool // the manifest is written
		wantOp    string
	}{
		{name: "UploadPart answered 500", allow: 2, wantOp: "UploadPart"},
		{name: "CompleteMultipartUpload answered 500, manifest written", allow: 4, spare: true, wantOp: "CompleteMultipartUpload"},
		{name: "connections closed from the first part", allow: 2, closeConn: true, wantOp: "UploadPart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newS3Env(t)
			srv := startEmulator(t, bedrocktest.Options{})
			input := s3MetadataInput(1000)
			if len(input) < 9<<20 {
				t.Fatalf("the input is %d bytes: too small to make a multipart output", len(input))
			}
			e.put(t, "in/prompts.jsonl", input)
			const outPrefix = "out/"
			p := newS3FaultProxy(t, e, outPrefix, tt.allow, tt.closeConn, tt.spare)

			// AWS_NEW_RETRIES_2026 makes the SDK back off from 50 ms rather
			// than 1 s between tries of a 5xx, so the S3 client's 8 tries
			// take seconds rather than minutes.
			env := e.batchEnv(srv.URL, "AWS_NEW_RETRIES_2026=true")
			start := time.Now()
			res := runBatchS3(t, env, "run", "--input", e.uri("in/prompts.jsonl"), "--output", e.uri(outPrefix),
				"--output-format", "jsonl", "--model", s3Model, "--concurrency", "64", "--s3-endpoint", p.URL,
				"--output-grace", "2s") // one data file, written from the journal at the end: a multipart upload
			t.Logf("run took %s\n%s", time.Since(start).Round(time.Millisecond), res.stderr)

			p.mu.Lock()
			firstFault, faults, started := p.firstFault, p.faults[tt.wantOp], slices.Clone(p.started)
			p.mu.Unlock()
			if res.code != exitFailed {
				t.Errorf("exit %d, want %d\nstderr:\n%s", res.code, exitFailed, res.stderr)
			}
			if !strings.Contains(res.stderr, e.uri(outPrefix)) || !strings.Contains(res.stderr, tt.wantOp) {
				t.Errorf("stderr does not name the output %s and %s:\n%s", e.uri(outPrefix), tt.wantOp, res.stderr)
			}
			if !tt.closeConn && !strings.Contains(res.stderr, "InternalError") {
				t.Errorf("stderr does not say InternalError:\n%s", res.stderr)
			}
			if firstFault != tt.wantOp || faults < 2 {
				t.Errorf("the first fault went to %q, %d faults to %s; want %s, retried", firstFault, faults, tt.wantOp, tt.wantOp)
			}
			multipart := slices.ContainsFunc(started, func(key string) bool {
				return strings.HasPrefix(key, outPrefix) && !strings.HasPrefix(path.Base(key), "_")
			})
			if !multipart {
				t.Errorf("no multipart upload of a data file was started (%q): the test proves nothing", started)
			}

			// Directly on the server, not through the proxy.
			if keys := e.incompleteUploads(t, outPrefix); len(keys) > 0 {
				t.Errorf("incomplete multipart uploads left under %s: %q", e.uri(outPrefix), keys)
			}
			var names []string
			for _, key := range e.list(t, outPrefix) {
				name := strings.TrimPrefix(key, outPrefix)
				names = append(names, name)
				if !strings.HasPrefix(name, "_") {
					t.Errorf("a data file is visible after its upload failed: %s", e.uri(key))
				}
			}
			if tt.spare {
				if !slices.Contains(names, manifest.Name) {
					t.Fatalf("no manifest under %s: %q", e.uri(outPrefix), names)
				}
				var m manifest.Manifest
				if err := json.Unmarshal(e.get(t, outPrefix+manifest.Name), &m); err != nil {
					t.Fatal(err)
				}
				if m.Complete || len(m.OutputFiles) != 0 || !strings.Contains(m.Error, e.uri(outPrefix)) || !strings.Contains(m.Error, tt.wantOp) {
					t.Errorf("manifest: complete %v, output files %q, error %q", m.Complete, m.OutputFiles, m.Error)
				}
			}
		})
	}
}
