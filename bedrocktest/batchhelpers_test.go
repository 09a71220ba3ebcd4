package bedrocktest

import (
	"bufio"
	"bytes"
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
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

// batchEnv is an emulator serving batch inference over a fresh bucket of the test S3 server,
// with real clients for the control plane, the runtime and S3.
type batchEnv struct {
	srv     *Server
	bedrock *bedrock.Client
	runtime *bedrockruntime.Client
	s3      *s3.Client
	bucket  string
}

// newBatchEnv skips the test without an S3 server (fails it under CI), as s3test does.
func newBatchEnv(t *testing.T, opts Options) *batchEnv {
	t.Helper()
	client := s3test.Client(t)
	bucket := s3test.NewBucket(t, client) // before the server, so the server closes first
	opts.BatchStore = NewS3ObjectStore(client)
	srv, rt := newServer(t, opts)
	return &batchEnv{srv: srv, bedrock: newBedrockClient(srv.URL), runtime: rt, s3: client, bucket: bucket}
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
	if err := e.srv.handler.opts.BatchStore.Put(testCtx(t), e.bucket, key, data); err != nil {
		t.Fatal(err)
	}
}

func (e *batchEnv) get(t *testing.T, key string) []byte {
	t.Helper()
	data, err := e.srv.handler.opts.BatchStore.Get(testCtx(t), e.bucket, key)
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
		if terminal(string(j.Status)) || time.Now().After(deadline) {
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

// fakeClock is a BatchOptions.Clock a test steps by hand.
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
