package batchroute

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/internal/fakeclock"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const driveModel = "anthropic.claude-3-haiku-20240307-v1:0"

// stageObjects is the staging prefix, s3://stage/area/, as the emulated
// jobs see it (a batchjobs.ObjectStore), over the files the route sees as
// a storage.Dir.
type stageObjects struct{ dir *storagetest.Dir }

func (s stageObjects) name(bucket, key string) (string, error) {
	name, ok := strings.CutPrefix(key, "area/")
	if bucket != "stage" || !ok {
		return "", fmt.Errorf("s3://%s/%s: %w", bucket, key, fs.ErrNotExist)
	}
	return name, nil
}

func (s stageObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	name, err := s.name(bucket, key)
	if err != nil {
		return nil, err
	}
	return s.dir.Get(ctx, name)
}

func (s stageObjects) Put(ctx context.Context, bucket, key string, data []byte) error {
	name, err := s.name(bucket, key)
	if err != nil {
		return err
	}
	return s.dir.Put(ctx, name, data)
}

func (s stageObjects) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	p, err := s.name(bucket, prefix)
	if err != nil {
		return nil, nil
	}
	names, err := s.dir.List(ctx, p)
	for i := range names {
		names[i] = "area/" + names[i]
	}
	return names, err
}

var _ batchjobs.ObjectStore = stageObjects{}

// driveEnv is a route over in-memory storage, with the emulator's batch
// control plane behind the real service/bedrock client, on a fake clock.
type driveEnv struct {
	clock *fakeclock.Clock
	srv   *bedrocktest.Server
	stage *storagetest.Dir
	out   *storagetest.Dir
	ctrl  *bedrock.Client
	// watch, when set, is called each time the fake clock moves.
	watch func()
}

func newDriveEnv(t *testing.T, batch batchjobs.Options) *driveEnv {
	t.Helper()
	e := &driveEnv{clock: fakeclock.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), stage: storagetest.NewDirAt("s3://stage/area/"), out: storagetest.NewDir()}
	batch.Clock = e.clock.Now
	e.srv = bedrocktest.NewServer(bedrocktest.Options{Models: []string{driveModel}, BatchStore: stageObjects{e.stage}, Batch: batch})
	t.Cleanup(e.srv.Close)
	e.ctrl = bedrock.New(bedrock.Options{
		BaseEndpoint: aws.String(e.srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
	return e
}

// route makes a route of env's over its storage and clock.
func (e *driveEnv) route(opts Options) *Route {
	opts.Clock = e.clock
	opts.StateName = "_batch.json"
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.Batch.RunKey == "" {
		opts.Batch.RunKey = "out"
	}
	opts.Batch.RoleARN = "arn:aws:iam::111122223333:role/BedrockBatch"
	opts.Batch.PollInterval = time.Minute
	return New(e.ctrl, e.stage, e.out, func(string) bool { return false }, opts)
}

func records(n int) *sliceSource {
	recs := make(sliceSource, n)
	for i := range recs {
		recs[i] = reader.Record{ID: fmt.Sprintf("r%03d", i), Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: fmt.Sprint("question ", i)}}}},
			Metadata: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return &recs
}

// drive runs r until it ends, moving the fake clock whenever the route
// sleeps; it returns the rows jobs answered and the records left for on
// demand.
func (e *driveEnv) drive(t *testing.T, r *Route) ([]*writer.Row, []reader.Record) {
	t.Helper()
	rows, left, err := e.driveErr(t, r)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rows, left
}

// driveErr is drive, returning what Run returned.
func (e *driveEnv) driveErr(t *testing.T, r *Route) ([]*writer.Row, []reader.Record, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows := make(chan *writer.Row, 16)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, stop, rows) }()
	var got []*writer.Row
	var left []reader.Record
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for row := range rows {
			got = append(got, row)
		}
	}()
	// The on-demand pass reads the same input as the plan, as in a run.
	onDemand := r.OnDemand(records(int(r.expect)), stop)
	fallback := make(chan struct{})
	go func() {
		defer close(fallback)
		for {
			rec, err := onDemand.Next(ctx)
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			left = append(left, rec)
		}
	}()
	finished := make(chan struct{})
	go func() {
		for e.clock.Next(finished) {
			if e.watch != nil {
				e.watch()
			}
		}
	}()
	err := <-done
	close(finished)
	<-collected
	<-fallback
	return got, left, err
}

// TestDriveCollectsCompletedJobs: parts become jobs, the loop polls them
// on the clock until they complete, and every record comes back once as a
// row carrying its metadata, from the job's output.
func TestDriveCollectsCompletedJobs(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute, StartAfter: time.Minute, RecordsPerSecond: 1})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 20}})
	ctx := context.Background()
	if err := r.Prepare(ctx, records(45), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	rows, left := e.drive(t, r)
	if len(left) != 0 {
		t.Errorf("%d records left for on demand, want none", len(left))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.ID] || row.Status != writer.StatusOK || row.Route != writer.RouteBatchInference || row.OutputTokens == 0 {
			t.Errorf("row %+v (seen before: %v)", row, seen[row.ID])
		}
		seen[row.ID] = true
		if want := fmt.Sprintf(`{"n":%s}`, strings.TrimLeft(strings.TrimPrefix(row.ID, "r"), "0")); string(row.Metadata) != want && row.ID != "r000" {
			t.Errorf("row %s metadata %s, want %s", row.ID, row.Metadata, want)
		}
	}
	if len(seen) != 45 {
		t.Errorf("%d records answered, want 45", len(seen))
	}
	parts := r.Parts()
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3 of at most 20", len(parts))
	}
	for _, p := range parts {
		if p.Status != "Completed" || p.JobARN == "" {
			t.Errorf("part %s: status %q, job %q", p.Name, p.Status, p.JobARN)
		}
	}
	if _, err := e.out.Get(ctx, "_batch.json"); err != nil {
		t.Errorf("no state file in the output: %v", err)
	}
	if got := e.srv.BatchStats().JobsCreated; got != 3 {
		t.Errorf("%d jobs created, want 3", got)
	}

	// A run killed now and started again re-attaches: no new job, no record
	// staged again.
	again := e.route(Options{Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 20}})
	if err := again.Prepare(ctx, records(45), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.BatchStats().JobsCreated; got != 3 {
		t.Errorf("re-attaching created jobs: %d in all, want 3", got)
	}
	if !again.Owns("r007") {
		t.Error("the re-attached route does not own its staged records")
	}
}

// TestDriveStopsJobsAtTheDeadline: with a deadline, the loop stops jobs at
// the last moment their records could still be sent on demand in time,
// keeps what they answered, and hands the rest to on demand.
func TestDriveStopsJobsAtTheDeadline(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, RecordsPerSecond: 0.01}) // 100 s a record
	start := e.clock.Now()
	perRecord := 10 * time.Second
	r := e.route(Options{
		Deadline: start.Add(time.Hour), Margin: 5 * time.Minute,
		OnDemandTime: func(p *batchinfer.Part, records int) (time.Duration, string) {
			return time.Duration(records) * perRecord, "10 s a record"
		},
		Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 100},
	})
	ctx := context.Background()
	if err := r.Prepare(ctx, records(60), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	rows, left := e.drive(t, r)
	// The job answers a record every 100 s, and the records it has not
	// answered take 10 s each on demand: it runs until T = 55 min - (60 -
	// T/100 s) x 10 s, that is 50 min, with 30 records answered.
	if len(rows)+len(left) != 60 {
		t.Fatalf("%d rows and %d on-demand records, want 60 in all", len(rows), len(left))
	}
	if len(rows) < 27 || len(rows) > 31 || len(left) == 0 {
		t.Errorf("%d answered by the job, %d left on demand; want about 30 and 30", len(rows), len(left))
	}
	t.Logf("%d answered, %d on demand, stopped after %s", len(rows), len(left), e.clock.Now().Sub(start))
	stopped := r.Parts()[0]
	if stopped.Status != "Stopped" {
		t.Errorf("the job is %s, want Stopped", stopped.Status)
	}
	if elapsed := e.clock.Now().Sub(start); elapsed > 50*time.Minute {
		t.Errorf("the route ran %s of a 1 h deadline: it stopped the job late", elapsed)
	}
	ids := map[string]bool{}
	for _, row := range rows {
		ids[row.ID] = true
	}
	for _, rec := range left {
		if ids[rec.ID] {
			t.Errorf("record %s both answered by the job and sent on demand", rec.ID)
		}
	}
}

// TestDriveSendsAFailedJobsRecordsOnDemand: a job that fails hands all its
// records to on demand, and the route still ends.
func TestDriveSendsAFailedJobsRecordsOnDemand(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute,
		FailJob: func(name string) (string, bool) { return "injected", true }})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 100}})
	if err := r.Prepare(context.Background(), records(12), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	rows, left := e.drive(t, r)
	if len(rows) != 0 || len(left) != 12 {
		t.Errorf("%d rows, %d on-demand records; want 0 and 12", len(rows), len(left))
	}
	if p := r.Parts()[0]; p.Status != "Failed" {
		t.Errorf("part status %q, want Failed", p.Status)
	}
}
