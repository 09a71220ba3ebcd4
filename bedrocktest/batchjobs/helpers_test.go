package batchjobs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	bedrockclient "github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

const testModel = "anthropic.claude-3-haiku-20240307-v1:0"

// batchEnv is an emulator serving batch inference over a bucket of an ObjectStore, with real
// clients for the control plane and the runtime.
type batchEnv struct {
	srv     *bedrocktest.Server
	bedrock *bedrock.Client
	runtime *bedrockruntime.Client
	store   batchjobs.ObjectStore
	bucket  string
}

// The ObjectStores a test can run on.
const (
	memoryStore = "memory" // a batchjobs.MemoryStore
	s3Store     = "s3"     // the test S3 server (MinIO)
)

// stores are the ObjectStores tests of the outputs' layout run on.
var stores = []string{memoryStore, s3Store}

// newBatchEnv is an emulator whose jobs read and write a MemoryStore.
func newBatchEnv(t *testing.T, opts bedrocktest.Options) *batchEnv {
	t.Helper()
	return newBatchEnvOn(t, memoryStore, opts)
}

// newBatchEnvOn is an emulator whose jobs read and write the named store, in a bucket of their
// own. The S3 store skips the test without an S3 server (fails it under CI), as s3test does.
func newBatchEnvOn(t *testing.T, kind string, opts bedrocktest.Options) *batchEnv {
	t.Helper()
	store, bucket := newStore(t, kind) // before the server, so the server closes first
	opts.BatchStore = store
	srv := newServer(t, opts)
	return &batchEnv{srv: srv, bedrock: newBedrockClient(srv.URL), runtime: newRuntimeClient(srv.URL), store: store, bucket: bucket}
}

// newStore returns the named store and an empty bucket in it, removed when the test ends.
func newStore(t *testing.T, kind string) (batchjobs.ObjectStore, string) {
	t.Helper()
	if kind == memoryStore {
		return batchjobs.NewMemoryStore("bucket"), "bucket"
	}
	client := s3test.Client(t)
	return batchjobs.NewS3ObjectStore(client), s3test.NewBucket(t, client)
}

// newServer starts an emulator closed at the end of the test.
func newServer(t *testing.T, opts bedrocktest.Options) *bedrocktest.Server {
	t.Helper()
	srv := bedrocktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// newRuntimeClient is the SDK client the tool itself uses for on-demand calls.
func newRuntimeClient(url string) *bedrockruntime.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrockclient.NewRuntimeClient(cfg, bedrockclient.Options{Endpoint: url})
}

func newBedrockClient(url string) *bedrock.Client {
	return bedrock.New(bedrock.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// testRecord is one input record, kept in a form that makes both its JSONL line and the
// on-demand ConverseInput of the same body.
type testRecord struct {
	id        string
	prompt    string
	system    string
	maxTokens int32
	extra     string // raw JSON members appended to modelInput, such as a toolConfig
}

func (r testRecord) modelInput() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"messages":[{"role":"user","content":[{"text":%q}]}]`, r.prompt)
	if r.system != "" {
		fmt.Fprintf(&b, `,"system":[{"text":%q}]`, r.system)
	}
	if r.maxTokens > 0 {
		fmt.Fprintf(&b, `,"inferenceConfig":{"maxTokens":%d}`, r.maxTokens)
	}
	b.WriteString(r.extra)
	b.WriteString("}")
	return b.String()
}

func (r testRecord) line() string {
	return fmt.Sprintf(`{"recordId":%q,"modelInput":%s}`, r.id, r.modelInput())
}

func (r testRecord) converseInput() *bedrockruntime.ConverseInput {
	in := converseInput(r.prompt)
	if r.system != "" {
		in.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: r.system}}
	}
	if r.maxTokens > 0 {
		in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(r.maxTokens)}
	}
	return in
}

// makeRecords returns n records with ids prefix00000...; every seventh has a small maxTokens,
// so some answers stop at max_tokens.
func makeRecords(prefix string, n int) []testRecord {
	recs := make([]testRecord, n)
	for i := range recs {
		recs[i] = testRecord{
			id:     fmt.Sprintf("%s%05d", prefix, i),
			prompt: fmt.Sprintf("Question %d of %s: what is %d times %d?", i, prefix, i, i+1),
		}
		if i%5 == 0 {
			recs[i].system = "You answer briefly."
		}
		if i%7 == 0 {
			recs[i].maxTokens = 4
		}
	}
	return recs
}

func jsonl(recs []testRecord) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		b.WriteString(r.line())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (e *batchEnv) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if err := e.store.Put(testCtx(t), e.bucket, key, data); err != nil {
		t.Fatal(err)
	}
}

func (e *batchEnv) get(t *testing.T, key string) []byte {
	t.Helper()
	data, err := e.store.Get(testCtx(t), e.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (e *batchEnv) uri(key string) string { return "s3://" + e.bucket + "/" + key }

// jobInput is a CreateModelInvocationJob request reading in and writing under out/.
func (e *batchEnv) jobInput(name, in string) *bedrock.CreateModelInvocationJobInput {
	return &bedrock.CreateModelInvocationJobInput{
		JobName:             aws.String(name),
		ModelId:             aws.String(testModel),
		ModelInvocationType: btypes.ModelInvocationTypeConverse,
		RoleArn:             aws.String("arn:aws:iam::123456789012:role/BatchRole"),
		InputDataConfig: &btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{
			Value: btypes.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String(e.uri(in)), S3InputFormat: btypes.S3InputFormatJsonl},
		},
		OutputDataConfig: &btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{
			Value: btypes.ModelInvocationJobS3OutputDataConfig{S3Uri: aws.String(e.uri("out/"))},
		},
	}
}

func (e *batchEnv) create(t *testing.T, in *bedrock.CreateModelInvocationJobInput) string {
	t.Helper()
	out, err := e.bedrock.CreateModelInvocationJob(testCtx(t), in)
	if err != nil {
		t.Fatalf("CreateModelInvocationJob: %v", err)
	}
	return aws.ToString(out.JobArn)
}

func (e *batchEnv) job(t *testing.T, ident string) *bedrock.GetModelInvocationJobOutput {
	t.Helper()
	out, err := e.bedrock.GetModelInvocationJob(testCtx(t), &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(ident)})
	if err != nil {
		t.Fatalf("GetModelInvocationJob: %v", err)
	}
	return out
}

// wait polls the job until it is finished.
func (e *batchEnv) wait(t *testing.T, arn string) *bedrock.GetModelInvocationJobOutput {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		j := e.job(t, arn)
		if terminal(j.Status) || time.Now().After(deadline) {
			return j
		}
	}
}

// outputLine is one line of a .out file.
type outputLine struct {
	RecordID    string          `json:"recordId"`
	ModelInput  json.RawMessage `json:"modelInput"`
	ModelOutput *struct {
		Output struct {
			Message struct {
				Role    string `json:"role"`
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason string `json:"stopReason"`
		Usage      struct {
			InputTokens, OutputTokens, TotalTokens int32
		} `json:"usage"`
		Metrics struct {
			LatencyMs int64 `json:"latencyMs"`
		} `json:"metrics"`
	} `json:"modelOutput"`
	Error *struct {
		ErrorCode    int    `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"error"`
}

func (e *batchEnv) outputLines(t *testing.T, key string) []outputLine {
	t.Helper()
	var lines []outputLine
	sc := bufio.NewScanner(bytes.NewReader(e.get(t, key)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: line %d: %v: %s", key, len(lines)+1, err, sc.Bytes())
		}
		lines = append(lines, l)
	}
	return lines
}

// manifest is manifest.json.out.
type manifest struct {
	TotalRecordCount, ProcessedRecordCount, SuccessRecordCount, ErrorRecordCount int64
	InputTokenCount, OutputTokenCount                                            int64
}

func (e *batchEnv) manifest(t *testing.T, jobID string) manifest {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(e.get(t, "out/"+jobID+"/manifest.json.out"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jobID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// fakeClock is a batchjobs.Options.Clock a test steps by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// terminal reports whether a job in status is finished.
func terminal(status btypes.ModelInvocationJobStatus) bool {
	switch status {
	case btypes.ModelInvocationJobStatusCompleted, btypes.ModelInvocationJobStatusPartiallyCompleted,
		btypes.ModelInvocationJobStatusFailed, btypes.ModelInvocationJobStatusStopped, btypes.ModelInvocationJobStatusExpired:
		return true
	}
	return false
}

// testCtx is a context that gives up well before the test binary would.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func converseInput(prompt string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: prompt}}},
	}}
}

// outputText is the text of a Converse output's first block.
func outputText(t testing.TB, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok || len(msg.Value.Content) == 0 {
		t.Fatalf("output is %T, want a message", out.Output)
	}
	text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText)
	if !ok {
		t.Fatalf("first block is %T, want text", msg.Value.Content[0])
	}
	return text.Value
}
