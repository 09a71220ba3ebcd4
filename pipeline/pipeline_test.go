package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// sliceSource yields prepared records.
type sliceSource struct {
	mu      sync.Mutex
	records []reader.Record
	err     error // returned after the records, instead of io.EOF, when set
}

func (s *sliceSource) Next(ctx context.Context) (reader.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.records) == 0 {
		if s.err != nil {
			return reader.Record{}, s.err
		}
		return reader.Record{}, io.EOF
	}
	r := s.records[0]
	s.records = s.records[1:]
	return r, nil
}

// memorySink keeps rows; it fails every write once failAfter rows are in.
type memorySink struct {
	mu        sync.Mutex
	rows      []writer.Row
	commits   int
	failAfter int
}

func (s *memorySink) Write(ctx context.Context, row *writer.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAfter > 0 && len(s.rows) >= s.failAfter {
		return errors.New("disk full")
	}
	s.rows = append(s.rows, *row)
	return nil
}

func (s *memorySink) Commit(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	return nil
}

func records(n int) []reader.Record {
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{ID: fmt.Sprint(i), Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: fmt.Sprintf("question %d", i)}}}}}
	}
	return recs
}

func model(t testing.TB, opts bedrocktest.Options) (*bedrock.Client, *bedrocktest.Server) {
	t.Helper()
	srv := bedrocktest.NewServer(opts)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.New(cfg, bedrock.Options{Endpoint: srv.URL}), srv
}

// fastRetry retries at once; its attempt timeout is far above any answer,
// so a loaded machine (the race detector, two cores) never times out an
// attempt the emulator has not yet seen, which would count one attempt more
// than the calls received.
var fastRetry = pipeline.Retry{MaxAttempts: 3, AttemptTimeout: 30 * time.Second, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func TestRunRows(t *testing.T) {
	invalid := reader.Record{ID: "broken", Err: &reader.InvalidRecordError{Origin: reader.Origin{File: "in.jsonl", Line: 7}, Field: "prompt", Reason: "missing"}}
	refused := reader.Record{ID: "refused", Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: bedrocktest.InvalidMarker}}}}}
	tests := []struct {
		name         string
		opts         bedrocktest.Options
		records      []reader.Record
		wantOK       int64
		wantErrors   map[string]string // id -> error_type
		wantAttempts int64             // of each error row from calls, 0 = not checked
	}{
		{"all ok", bedrocktest.Options{}, records(50), 50, nil, 0},
		{"invalid record and validation error", bedrocktest.Options{}, append(records(5), invalid, refused), 5,
			map[string]string{"broken": pipeline.ErrorTypeInvalidRecord, "refused": "ValidationException"}, 0},
		{"throttled until attempts run out", bedrocktest.Options{Faults: bedrocktest.Faults{Throttle: 1}}, records(4), 0,
			map[string]string{"0": "ThrottlingException", "1": "ThrottlingException", "2": "ThrottlingException", "3": "ThrottlingException"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, srv := model(t, tt.opts)
			sink := &memorySink{}
			run := pipeline.New(&sliceSource{records: tt.records}, m, sink, pipeline.Options{
				Concurrency: 4, Requests: request.New(request.Options{ModelID: "m"}), Retry: fastRetry})
			summary, err := run.Run(context.Background(), make(chan struct{}))
			if err != nil {
				t.Fatal(err)
			}
			if summary.OK != tt.wantOK || summary.Records != int64(len(tt.records)) || len(sink.rows) != len(tt.records) {
				t.Errorf("summary %+v, %d rows", summary, len(sink.rows))
			}
			for _, row := range sink.rows {
				want, isError := tt.wantErrors[row.ID]
				switch {
				case isError && (row.Status != writer.StatusError || row.ErrorType != want):
					t.Errorf("row %s: %s %s, want error %s", row.ID, row.Status, row.ErrorType, want)
				case isError && tt.wantAttempts > 0 && row.Attempts != tt.wantAttempts:
					t.Errorf("row %s: %d attempts, want %d", row.ID, row.Attempts, tt.wantAttempts)
				case !isError && row.Status != writer.StatusOK:
					t.Errorf("row %s: %s %s %s", row.ID, row.Status, row.ErrorType, row.ErrorMessage)
				}
			}
			if summary.Attempts != srv.Stats().Requests {
				t.Errorf("%d attempts counted, %d calls received", summary.Attempts, srv.Stats().Requests)
			}
			if sink.commits == 0 {
				t.Errorf("rows were never committed")
			}
		})
	}
}

func TestRunStops(t *testing.T) {
	t.Run("source fails", func(t *testing.T) {
		m, _ := model(t, bedrocktest.Options{})
		sink := &memorySink{}
		run := pipeline.New(&sliceSource{records: records(10), err: errors.New("gzip: invalid header")}, m, sink,
			pipeline.Options{Concurrency: 2, Requests: request.New(request.Options{ModelID: "m"})})
		_, err := run.Run(context.Background(), make(chan struct{}))
		if err == nil {
			t.Fatal("a failing source did not fail the run")
		}
	})
	t.Run("sink fails", func(t *testing.T) {
		m, _ := model(t, bedrocktest.Options{})
		run := pipeline.New(&sliceSource{records: records(100)}, m, &memorySink{failAfter: 10},
			pipeline.Options{Concurrency: 4, Requests: request.New(request.Options{ModelID: "m"})})
		_, err := run.Run(context.Background(), make(chan struct{}))
		if err == nil {
			t.Fatal("a failing sink did not fail the run")
		}
	})
	t.Run("stop before start", func(t *testing.T) {
		m, srv := model(t, bedrocktest.Options{})
		stop := make(chan struct{})
		close(stop)
		sink := &memorySink{}
		run := pipeline.New(&sliceSource{records: records(100)}, m, sink,
			pipeline.Options{Concurrency: 4, Requests: request.New(request.Options{ModelID: "m"})})
		summary, err := run.Run(context.Background(), stop)
		if err != nil {
			t.Fatal(err)
		}
		if !summary.Interrupted || len(sink.rows) != 0 || srv.Stats().Requests != 0 {
			t.Errorf("after stop: interrupted %v, %d rows, %d calls", summary.Interrupted, len(sink.rows), srv.Stats().Requests)
		}
	})
	t.Run("cancel abandons hanging calls", func(t *testing.T) {
		m, _ := model(t, bedrocktest.Options{Faults: bedrocktest.Faults{Hang: 1}})
		ctx, cancel := context.WithCancel(context.Background())
		sink := &memorySink{}
		run := pipeline.New(&sliceSource{records: records(20)}, m, sink,
			pipeline.Options{Concurrency: 4, Requests: request.New(request.Options{ModelID: "m"})})
		time.AfterFunc(200*time.Millisecond, cancel)
		summary, err := run.Run(ctx, make(chan struct{}))
		if err != nil {
			t.Fatal(err)
		}
		if !summary.Interrupted || len(sink.rows) != 0 || summary.Abandoned != 4 {
			t.Errorf("interrupted %v, %d rows, %d abandoned (want 4: the calls in flight)", summary.Interrupted, len(sink.rows), summary.Abandoned)
		}
	})
}

// TestRequestLargerThanTheQuota: a call that alone needs more tokens than
// the whole tokens-per-minute quota becomes an error row at once instead of
// waiting forever; the other records go on.
func TestRequestLargerThanTheQuota(t *testing.T) {
	m, srv := model(t, bedrocktest.Options{})
	huge := reader.Record{ID: "huge", Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: strings.Repeat("word ", 2000)}}}}}
	sink := &memorySink{}
	maxTokens := int32(10)
	run := pipeline.New(&sliceSource{records: append(records(3), huge)}, m, sink, pipeline.Options{
		Concurrency: 2,
		Requests:    request.New(request.Options{ModelID: "m", Inference: bedrock.InferenceConfig{MaxTokens: &maxTokens}}),
		Limiter:     pipeline.RateLimited(ratelimit.NewModels(ratelimit.ModelsConfig{Default: ratelimit.Quota{TokensPerMinute: 2000}}, nil)),
	})
	summary, err := run.Run(context.Background(), make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	if summary.OK != 3 || summary.Errors != 1 {
		t.Fatalf("summary %+v", summary)
	}
	for _, row := range sink.rows {
		if row.ID == "huge" && (row.ErrorType != pipeline.ErrorTypeRequestTooLarge || row.Attempts != 0) {
			t.Errorf("huge record: %s %q after %d attempts", row.ErrorType, row.ErrorMessage, row.Attempts)
		}
	}
	if srv.Stats().Requests != 3 {
		t.Errorf("%d calls, want 3: the huge record must not be sent", srv.Stats().Requests)
	}
}

// countingCounter counts requests' input tokens as the emulator does, and
// refuses one model, as CountTokens refuses models it does not serve.
type countingCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingCounter) CountTokens(ctx context.Context, req *bedrock.Request) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[req.ModelID]++
	if req.ModelID == "uncountable" {
		return 0, errors.New("ValidationException: this model does not support CountTokens")
	}
	return bedrocktest.CountTokens(req.Messages[0].Content[0].Text), nil
}

// TestCounterReservesExactInput: with a Counter, each call of a countable
// model is counted; a model it cannot count is asked once, then estimated.
func TestCounterReservesExactInput(t *testing.T) {
	m, _ := model(t, bedrocktest.Options{})
	recs := records(20)
	for i := range recs {
		if i%2 == 1 {
			recs[i].ModelID = "uncountable"
		}
	}
	counter := &countingCounter{}
	limiter := ratelimit.NewModels(ratelimit.ModelsConfig{Default: ratelimit.Quota{TokensPerMinute: 1_000_000}}, nil)
	run := pipeline.New(&sliceSource{records: recs}, m, &memorySink{}, pipeline.Options{
		Concurrency: 1,
		Requests:    request.New(request.Options{ModelID: "m"}),
		Limiter:     pipeline.RateLimited(limiter),
		Counter:     counter,
	})
	if summary, err := run.Run(context.Background(), make(chan struct{})); err != nil || summary.OK != 20 {
		t.Fatalf("%v %+v", err, summary)
	}
	if counter.calls["m"] != 10 || counter.calls["uncountable"] != 1 {
		t.Errorf("CountTokens calls %v, want 10 for m and 1 for the model it cannot count", counter.calls)
	}
	for _, r := range limiter.Report() {
		if r.Model == "m" && r.ReservedTokens != 10*(2+4096) {
			t.Errorf("m reserved %d, want the exact 2 input tokens + 4096 output per call", r.ReservedTokens)
		}
	}
}

// blockingLimiter never admits calls to one model.
type blockingLimiter struct{ blocked string }

func (l blockingLimiter) Wait(ctx context.Context, model string, r ratelimit.Reservation) (pipeline.Ticket, error) {
	if model == l.blocked {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return noopTicket{}, nil
}

func (blockingLimiter) EstimateInput(model string, estimate int64) int64 { return estimate }

type noopTicket struct{}

func (noopTicket) Done(ratelimit.Usage) {}
func (noopTicket) Throttled()           {}
func (noopTicket) Failed()              {}
func (noopTicket) DailyQuotaExhausted() {}

// TestNoHeadOfLineBlockingAcrossModels: records waiting for one model's
// quota (here, forever) do not hold up another model's, even when they
// outnumber the workers and come first in the input.
func TestNoHeadOfLineBlockingAcrossModels(t *testing.T) {
	m, _ := model(t, bedrocktest.Options{})
	recs := records(60)
	for i := range recs {
		if i < 20 || i%2 == 0 {
			recs[i].ModelID = "slow"
		}
	}
	sink := &memorySink{}
	run := pipeline.New(&sliceSource{records: recs}, m, sink, pipeline.Options{
		Concurrency: 4,
		Requests:    request.New(request.Options{ModelID: "fast"}),
		Limiter:     blockingLimiter{blocked: "slow"},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Summary)
	go func() {
		s, _ := run.Run(ctx, make(chan struct{}))
		done <- s
	}()
	deadline := time.After(10 * time.Second)
	for run.Progress().OK < 20 {
		select {
		case <-deadline:
			cancel()
			t.Fatalf("only %d of the 20 fast records finished while the slow model waited", run.Progress().OK)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	summary := <-done
	for _, row := range sink.rows {
		if row.ModelID != "fast" {
			t.Errorf("row %s for model %s", row.ID, row.ModelID)
		}
	}
	if summary.OK != 20 || summary.Records != 20 {
		t.Errorf("summary %+v", summary)
	}
}

// TestLocalRefusalsDoNotStopTheRun: many records refused before the call
// for the same reason (an image format Bedrock does not take) are error
// rows of their own; only Bedrock's answers can stop a run as systematic.
func TestLocalRefusalsDoNotStopTheRun(t *testing.T) {
	m, srv := model(t, bedrocktest.Options{})
	recs := records(30)
	for i := range recs {
		recs[i].Messages[0].Content = append([]reader.Content{{Image: &reader.Media{Format: "bmp", Bytes: []byte("BM")}}},
			recs[i].Messages[0].Content...)
	}
	sink := &memorySink{}
	run := pipeline.New(&sliceSource{records: recs}, m, sink, pipeline.Options{
		Concurrency: 2, Requests: request.New(request.Options{ModelID: "m"}), StopAfterErrors: 5,
	})
	summary, err := run.Run(context.Background(), make(chan struct{}))
	if err != nil || summary.Errors != 30 {
		t.Fatalf("err %v, %d error rows; want 30 error rows and no stop", err, summary.Errors)
	}
	for _, row := range sink.rows {
		if row.ErrorType != bedrock.TypeInvalidContent {
			t.Errorf("%s: %s %s", row.ID, row.ErrorType, row.ErrorMessage)
		}
	}
	if srv.Stats().Requests != 0 {
		t.Errorf("%d calls sent for records Bedrock would refuse", srv.Stats().Requests)
	}
}
