package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// faultySink is a sink whose commits fail, or hang, from a chosen one on,
// for as long as the test says; rows written are kept.
type faultySink struct {
	mu        sync.Mutex
	rows      map[string]int
	commits   int
	committed int // rows durable
	written   int

	failFrom int           // commit number from which commits fail, 0 = never
	healed   bool          // commits work again
	hangFrom int           // commit number that hangs until release closes, 0 = never
	release  chan struct{} // ends the hang
	hung     chan struct{} // closed when the hang starts
	onFail   func()        // called at the first failure
	failed   bool
	final    bool // failures say the output is given up for good
}

// givenUp is the error of a sink that will not write its output again.
type givenUp struct{ error }

func (givenUp) Final() bool { return true }

func (s *faultySink) Write(ctx context.Context, row *writer.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == nil {
		s.rows = map[string]int{}
	}
	s.rows[row.ID]++
	s.written++
	return nil
}

func (s *faultySink) Commit(ctx context.Context) error {
	s.mu.Lock()
	s.commits++
	n := s.commits
	if s.hangFrom > 0 && n == s.hangFrom {
		s.mu.Unlock()
		close(s.hung)
		<-s.release
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if s.failFrom > 0 && n >= s.failFrom && !s.healed {
		if !s.failed && s.onFail != nil {
			s.onFail()
		}
		s.failed = true
		if s.final {
			return givenUp{errors.New("the lease was lost; the rows are in the spool")}
		}
		return errors.New("503 Slow Down")
	}
	s.committed = s.written
	return nil
}

// TestAFailedCommitStopsTheSpending: from the first failed commit on no
// call starts (only those already past the gate may still arrive). When
// the output stays down past the grace, the run ends with an OutputError,
// every row it has handed to the sink (for its spool); when it comes back
// in time, calls go again and the run finishes, every row committed once.
func TestAFailedCommitStopsTheSpending(t *testing.T) {
	for _, heals := range []bool{false, true} {
		t.Run(map[bool]string{false: "the output stays down", true: "the output comes back"}[heals], func(t *testing.T) {
			const concurrency, total = 8, 400
			m, srv := model(t, bedrocktest.Options{Latency: 20 * time.Millisecond})
			var atFailure, atHeal int64
			sink := &faultySink{failFrom: 4}
			sink.onFail = func() { atFailure = srv.Stats().Requests }
			grace := 200 * time.Millisecond
			if heals {
				grace = time.Minute
				time.AfterFunc(300*time.Millisecond, func() {
					sink.mu.Lock()
					defer sink.mu.Unlock()
					atHeal, sink.healed = srv.Stats().Requests, true
				})
			}
			run := pipeline.New(&sliceSource{records: records(total)}, m, sink, pipeline.Options{
				Concurrency: concurrency, Requests: request.New(request.Options{ModelID: "m"}),
				SyncInterval: 20 * time.Millisecond, OutputGrace: grace})
			summary, err := run.Run(context.Background(), make(chan struct{}))
			calls := srv.Stats().Requests
			if heals {
				atHeal = max(atHeal, atFailure)
			} else {
				atHeal = calls
			}
			if atFailure == 0 || atHeal-atFailure > concurrency {
				t.Errorf("%d calls at the first failed commit, %d while the output failed: more than the %d in flight started", atFailure, atHeal, concurrency)
			}
			for id, n := range sink.rows {
				if n != 1 {
					t.Errorf("id %s handed over %d times", id, n)
				}
			}
			if summary.Records != int64(sink.written) {
				t.Errorf("%d rows written, %d handed to the sink", summary.Records, sink.written)
			}
			var outErr *pipeline.OutputError
			if !heals {
				if !errors.As(err, &outErr) || summary.Records >= total {
					t.Errorf("Run: %v after %d rows; want an *pipeline.OutputError, the run stopped", err, summary.Records)
				}
				return
			}
			if err != nil || summary.OK != total || sink.committed != total {
				t.Errorf("the output came back: %v, %d ok rows, %d committed; want all %d", err, summary.OK, sink.committed, total)
			}
		})
	}
}

// TestAFinalCommitErrorStopsAtOnce: a sink that has given its output up
// for good (its lease lost) stops the run at once, with an OutputError,
// not after the grace (an hour here), every row still handed over once.
func TestAFinalCommitErrorStopsAtOnce(t *testing.T) {
	const concurrency, total = 8, 400
	m, _ := model(t, bedrocktest.Options{Latency: 20 * time.Millisecond})
	sink := &faultySink{failFrom: 4, final: true}
	run := pipeline.New(&sliceSource{records: records(total)}, m, sink, pipeline.Options{
		Concurrency: concurrency, Requests: request.New(request.Options{ModelID: "m"}),
		SyncInterval: 20 * time.Millisecond, OutputGrace: time.Hour})
	// Far beyond what the run needs, far short of the grace.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	summary, err := run.Run(ctx, make(chan struct{}))
	var outErr *pipeline.OutputError
	if !errors.As(err, &outErr) || ctx.Err() != nil || summary.Records >= total {
		t.Fatalf("Run: %v after %d of %d rows (context: %v); want an OutputError at once", err, summary.Records, total, ctx.Err())
	}
	if summary.Records != int64(sink.written) {
		t.Errorf("%d rows written, %d handed to the sink", summary.Records, sink.written)
	}
	for id, n := range sink.rows {
		if n != 1 {
			t.Errorf("id %s handed over %d times", id, n)
		}
	}
}

// TestAStalledCommitPausesCalls: while a commit hangs past StallAfter no
// call starts; once it ends, the run goes on and finishes.
func TestAStalledCommitPausesCalls(t *testing.T) {
	m, srv := model(t, bedrocktest.Options{Latency: 10 * time.Millisecond})
	sink := &faultySink{hangFrom: 3, release: make(chan struct{}), hung: make(chan struct{})}
	run := pipeline.New(&sliceSource{records: records(300)}, m, sink, pipeline.Options{
		Concurrency: 8, Requests: request.New(request.Options{ModelID: "m"}), StallAfter: 50 * time.Millisecond})
	var paused, later int64
	go func() {
		<-sink.hung
		time.Sleep(300 * time.Millisecond) // past StallAfter, and past every call in flight
		paused = srv.Stats().Requests
		time.Sleep(200 * time.Millisecond)
		later = srv.Stats().Requests
		close(sink.release)
	}()
	summary, err := run.Run(context.Background(), make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	if later != paused {
		t.Errorf("%d calls started while the commit stalled", later-paused)
	}
	if summary.OK != 300 || sink.committed != 300 {
		t.Errorf("after the stall: %d ok rows, %d committed; want 300", summary.OK, sink.committed)
	}
}
