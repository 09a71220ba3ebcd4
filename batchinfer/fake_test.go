package batchinfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// memStore is an in-memory staging area, s3://stage/area/ by URI, that can fail its
// creates and writes.
type memStore struct {
	mu        sync.Mutex
	files     map[string][]byte
	pending   map[string]bool // created, neither committed nor aborted
	createErr error           // injected into Create
	writeErr  error           // injected into Write
	discard   bool            // objects keep nothing: benchmarks measure the Stager alone
}

func newMemStore() *memStore {
	return &memStore{files: map[string][]byte{}, pending: map[string]bool{}}
}

var _ storage.Dir = (*memStore)(nil)

func (s *memStore) Create(ctx context.Context, name string) (storage.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return nil, s.createErr
	}
	if _, ok := s.files[name]; ok || s.pending[name] {
		return nil, fmt.Errorf("create %s: %w", name, fs.ErrExist)
	}
	s.pending[name] = true
	return &memObject{s: s, name: name}, nil
}

func (s *memStore) Get(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[name]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", name, fs.ErrNotExist)
	}
	return bytes.Clone(data), nil
}

func (s *memStore) List(ctx context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name := range s.files {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (s *memStore) URI(name string) string { return "s3://stage/area/" + name }

func (s *memStore) put(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = data
}

func (s *memStore) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Open streams a file through a reader that returns a few bytes at a time, to exercise
// the line reader.
func (s *memStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	data, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(&trickle{data}), nil
}

func (s *memStore) OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, io.Closer, error) {
	data, err := s.Get(ctx, name)
	if err != nil {
		return nil, 0, nil, err
	}
	return bytes.NewReader(data), int64(len(data)), io.NopCloser(nil), nil
}

func (s *memStore) Put(ctx context.Context, name string, data []byte) error {
	s.put(name, bytes.Clone(data))
	return nil
}

func (s *memStore) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[name]; ok {
		return fmt.Errorf("create %s: %w", name, fs.ErrExist)
	}
	s.files[name] = bytes.Clone(data)
	return nil
}

func (s *memStore) Remove(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, name)
	return nil
}

type trickle struct{ data []byte }

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], t.data)
	t.data = t.data[n:]
	return n, nil
}

type memObject struct {
	s    *memStore
	name string
	buf  bytes.Buffer
	done bool
}

func (o *memObject) Write(p []byte) (int, error) {
	if o.done {
		return 0, fs.ErrClosed
	}
	if o.s.writeErr != nil {
		return 0, o.s.writeErr
	}
	if o.s.discard {
		return len(p), nil
	}
	return o.buf.Write(p)
}

func (o *memObject) Commit() error {
	if o.done {
		return fs.ErrClosed
	}
	o.done = true
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	delete(o.s.pending, o.name)
	o.s.files[o.name] = o.buf.Bytes()
	return nil
}

func (o *memObject) Abort() error {
	if !o.done {
		o.done = true
		o.s.mu.Lock()
		delete(o.s.pending, o.name)
		o.s.mu.Unlock()
	}
	return nil
}

// The API reference's patterns, which fakeControl checks as Bedrock does.
var (
	jobNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$`)
	tokenPattern   = regexp.MustCompile(`^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$`)
	s3URIPattern   = regexp.MustCompile(`^s3://[a-z0-9][-.a-z0-9]{1,61}(?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?$`)
)

// fakeControl is Bedrock's control plane in memory: jobs by ARN, with idempotent tokens.
type fakeControl struct {
	mu      sync.Mutex
	jobs    map[string]*fakeJob // by ARN
	tokens  map[string]string   // token → ARN
	creates []*bedrock.CreateModelInvocationJobInput
	gets    int
	stops   int
	failErr error // injected into every call
}

type fakeJob struct {
	in       *bedrock.CreateModelInvocationJobInput
	statuses []string // the statuses successive Gets report; the last one stays
	message  string
}

func newFakeControl() *fakeControl {
	return &fakeControl{jobs: map[string]*fakeJob{}, tokens: map[string]string{}}
}

var _ Control = (*fakeControl)(nil)

func apiError(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func (c *fakeControl) CreateModelInvocationJob(ctx context.Context, in *bedrock.CreateModelInvocationJobInput, _ ...func(*bedrock.Options)) (*bedrock.CreateModelInvocationJobOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creates = append(c.creates, in)
	if c.failErr != nil {
		return nil, c.failErr
	}
	name, token := aws.ToString(in.JobName), aws.ToString(in.ClientRequestToken)
	inCfg, ok1 := in.InputDataConfig.(*types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig)
	outCfg, ok2 := in.OutputDataConfig.(*types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig)
	hours := aws.ToInt32(in.TimeoutDurationInHours)
	switch {
	case len(name) > 63 || !jobNamePattern.MatchString(name):
		return nil, apiError("ValidationException", "jobName "+name)
	case len(token) > 256 || !tokenPattern.MatchString(token):
		return nil, apiError("ValidationException", "clientRequestToken "+token)
	case !ok1 || !ok2 || !s3URIPattern.MatchString(aws.ToString(inCfg.Value.S3Uri)) || !s3URIPattern.MatchString(aws.ToString(outCfg.Value.S3Uri)):
		return nil, apiError("ValidationException", "s3Uri")
	case in.ModelInvocationType != types.ModelInvocationTypeConverse, hours < 24 || hours > 168:
		return nil, apiError("ValidationException", "type or timeout")
	}
	if arn, ok := c.tokens[token]; ok {
		return &bedrock.CreateModelInvocationJobOutput{JobArn: aws.String(arn)}, nil
	}
	arn := fmt.Sprintf("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/job%09d", len(c.jobs))
	c.jobs[arn] = &fakeJob{in: in, statuses: []string{StatusSubmitted}}
	c.tokens[token] = arn
	return &bedrock.CreateModelInvocationJobOutput{JobArn: aws.String(arn)}, nil
}

func (c *fakeControl) GetModelInvocationJob(ctx context.Context, in *bedrock.GetModelInvocationJobInput, _ ...func(*bedrock.Options)) (*bedrock.GetModelInvocationJobOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.failErr != nil {
		return nil, c.failErr
	}
	j, ok := c.jobs[aws.ToString(in.JobIdentifier)]
	if !ok {
		return nil, apiError("ResourceNotFoundException", "no job")
	}
	status := j.statuses[0]
	if len(j.statuses) > 1 {
		j.statuses = j.statuses[1:]
	}
	return &bedrock.GetModelInvocationJobOutput{
		JobArn: in.JobIdentifier, Status: types.ModelInvocationJobStatus(status), Message: aws.String(j.message),
	}, nil
}

func (c *fakeControl) StopModelInvocationJob(ctx context.Context, in *bedrock.StopModelInvocationJobInput, _ ...func(*bedrock.Options)) (*bedrock.StopModelInvocationJobOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stops++
	if c.failErr != nil {
		return nil, c.failErr
	}
	j, ok := c.jobs[aws.ToString(in.JobIdentifier)]
	if !ok {
		return nil, apiError("ResourceNotFoundException", "no job")
	}
	if Finished(j.statuses[0]) {
		return nil, apiError("ConflictException", "job is "+j.statuses[0])
	}
	j.statuses = []string{StatusStopping, StatusStopped}
	return &bedrock.StopModelInvocationJobOutput{}, nil
}

// setStatuses sets what the next Gets of arn report.
func (c *fakeControl) setStatuses(arn string, message string, statuses ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobs[arn].statuses = statuses
	c.jobs[arn].message = message
}

// testCtx is a context that gives up well before the test binary would.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lines splits a file into its lines, checking that it ends with a newline.
func lines(t *testing.T, data []byte) []string {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("file does not end with a newline: %q", data)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}
