// Package pipeline moves records from a source through the model to a sink
// with bounded concurrency; it owns every goroutine of a run.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Model answers one request with one call.
type Model interface {
	Converse(ctx context.Context, req *bedrock.Request) (bedrock.Response, error)
}

// FailureNotifier is a Sink that can say its output failed the moment a
// write fails, before its Commit returns (after it spooled the rows,
// say): calls are held back from then on, as after a failed Commit.
type FailureNotifier interface {
	NotifyFailure(func())
}

// Sink takes result rows; Commit makes every row written so far durable.
// Write hands a row over without waiting for storage; Commit may run while
// Write does (one goroutine calls each), so one commit covers every row
// handed over while the last one ran.
type Sink interface {
	Write(ctx context.Context, row *writer.Row) error
	Commit(ctx context.Context) error
}

// RowSource yields rows already answered elsewhere (a Bedrock
// batch-inference job), written with the run's own; io.EOF ends it.
type RowSource interface {
	NextRow(ctx context.Context) (*writer.Row, error)
}

// Limiter decides when a call to a model may start, given what it
// reserves against that model's quota; the ticket it returns is settled
// once the call ends. Each model has its own quota: waiting for one never
// holds up another.
type Limiter interface {
	Wait(ctx context.Context, model string, r ratelimit.Reservation) (Ticket, error)
	// EstimateInput corrects an input estimate by what the model's
	// settled calls have shown.
	EstimateInput(model string, estimate int64) int64
}

// Ticket is an admitted call's reservation: exactly one method settles it.
type Ticket interface {
	Done(ratelimit.Usage) // succeeded, having used this
	Throttled()           // Bedrock throttled it
	Failed()              // failed otherwise
	DailyQuotaExhausted() // Bedrock said the model's daily quota is spent
}

// RateLimited adapts ratelimit.Models to Limiter.
func RateLimited(m *ratelimit.Models) Limiter { return rateLimited{m} }

type rateLimited struct{ m *ratelimit.Models }

func (r rateLimited) Wait(ctx context.Context, model string, res ratelimit.Reservation) (Ticket, error) {
	ticket, err := r.m.Wait(ctx, model, res)
	if err != nil {
		return nil, err
	}
	return ticket, nil
}

func (r rateLimited) EstimateInput(model string, estimate int64) int64 {
	return r.m.EstimateInput(model, estimate)
}

// Options configure a run.
type Options struct {
	// Concurrency caps the calls in flight.
	Concurrency int
	// Requests builds the request each record is sent as.
	Requests Builder
	// Schema, when set, checks the structured output of calls whose request
	// forces a tool; an answer that does not match is asked for again, up
	// to SchemaAttempts times (default 3), then the record gets an error
	// row of type SchemaMismatch.
	Schema         Schema
	SchemaAttempts int
	// QueueRecords and QueueBytes bound the records read ahead of their
	// calls, over all models (defaults: 16 per worker, at least 2,000;
	// 32 MiB): enough for one model's backlog not to starve another's
	// in an input that mixes them, small beside a million-record run.
	QueueRecords int
	QueueBytes   int64
	// EchoModelInput puts each record's Converse-shaped request in its
	// row (the bedrock-batch output style echoes it as modelInput).
	EchoModelInput bool
	// Retry says how often and how patiently failed calls are made again.
	Retry Retry
	// SyncInterval is the least time between the starts of two commits:
	// what a kill -9 can cost on top of the calls in flight. 0 commits
	// continuously: the next commit starts as soon as the last has ended,
	// with every row finished meanwhile.
	SyncInterval time.Duration
	// StallAfter pauses new calls while a commit takes longer than this,
	// until it ends (default: 4 sync intervals, at least 2 s), so a
	// storage that stops answering stops the spending too.
	StallAfter time.Duration
	// OutputGrace is how long the output may fail: from a failed commit
	// on no new call starts, commits are tried again, and the first that
	// works lets calls go again; when none has for OutputGrace, the run
	// stops taking records and ends with an OutputError. Default 2 minutes.
	OutputGrace time.Duration
	// Limiter, when set, is asked before every call.
	Limiter Limiter
	// RunID is written in every row, with the time the row was finished.
	RunID string
	// Answered, when set, yields rows answered elsewhere, written with
	// the rows of the run's calls; the run ends when both are done.
	Answered RowSource
	// Counter, when set, counts each request's input tokens exactly
	// (Bedrock's CountTokens) for its reservation; a model it cannot count
	// falls back to the estimate for the rest of the run.
	Counter Counter
	// StopAfterErrors stops the run when this many calls in a row to one
	// model fail with the same error that no retry or record can fix (a
	// model id that needs an inference profile, a parameter the model
	// refuses): 0 means DefaultStopAfterErrors, negative never stops.
	StopAfterErrors int
}

// DefaultStopAfterErrors is how many identical failures in a row stop a
// run.
const DefaultStopAfterErrors = 20

// Builder builds the request a record is sent as. An error that has an
// ErrorType() method is the record's fault and becomes its error row.
// Model says which model a record goes to before its request is built,
// to queue it with that model's records.
type Builder interface {
	Build(ctx context.Context, rec *reader.Record) (*bedrock.Request, error)
	Model(rec *reader.Record) string
}

// Counter counts a request's input tokens exactly.
type Counter interface {
	CountTokens(ctx context.Context, req *bedrock.Request) (int64, error)
}

// Schema checks a structured output.
type Schema interface {
	Validate(output json.RawMessage) error
}

// DefaultSchemaAttempts is how often a call is made when its structured
// output does not match the schema.
const DefaultSchemaAttempts = 3

// Run is one pass of a source through the model into a sink.
type Run struct {
	source reader.Source
	model  Model
	sink   Sink
	opts   Options
	stats  stats
	// systematic notices calls to a model that all fail the same way.
	systematic systematic
	// uncountable holds the models Counter could not count.
	uncountable sync.Map
	// calls holds a token per call in flight: the Concurrency cap over
	// every model's workers, taken only around the call itself, so a
	// worker waiting for its model's quota holds no slot.
	calls chan struct{}
	// output pauses new calls while a commit stalls.
	output gate
}

// New returns a Run; nothing starts until Run.Run.
func New(source reader.Source, model Model, sink Sink, opts Options) *Run {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.SyncInterval < 0 {
		opts.SyncInterval = 0
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = max(2*time.Second, 4*opts.SyncInterval)
	}
	if opts.OutputGrace <= 0 {
		opts.OutputGrace = DefaultOutputGrace
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.QueueRecords <= 0 {
		opts.QueueRecords = max(16*opts.Concurrency, 2_000)
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = 32 << 20
	}
	if opts.SchemaAttempts <= 0 {
		opts.SchemaAttempts = DefaultSchemaAttempts
	}
	if opts.StopAfterErrors == 0 {
		opts.StopAfterErrors = DefaultStopAfterErrors
	}
	r := &Run{source: source, model: model, sink: sink, opts: opts, systematic: systematic{limit: opts.StopAfterErrors}}
	if n, ok := sink.(FailureNotifier); ok {
		n.NotifyFailure(r.output.fail)
	}
	return r
}

// Run reads every record, calls the model for each, and writes one row per
// record. Closing stop makes it take no new records and finish the calls in
// flight; cancelling ctx abandons them too. Rows of finished calls are
// always committed before Run returns. The error is non-nil only when the
// run could not go on (the source or the sink failed); an interrupted run
// returns a Summary with Interrupted set.
func (r *Run) Run(ctx context.Context, userStop <-chan struct{}) (Summary, error) {
	start := time.Now()
	queued := newLanes(r.opts.QueueRecords, r.opts.QueueBytes)
	results := make(chan *writer.Row, r.opts.Concurrency)
	r.calls = make(chan struct{}, r.opts.Concurrency)

	group, gctx := errgroup.WithContext(ctx)
	// stop closes when the caller stops the run or the output stops taking
	// rows: either way no new record is taken and no new call starts.
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	if isClosed(userStop) {
		// Stopped before it started: the watcher below might run only
		// after the reader and workers have taken records.
		halt()
	}
	committed := make(chan struct{}) // the last commit is done
	group.Go(func() error {
		select {
		case <-userStop:
			halt()
		case <-committed:
		case <-gctx.Done():
		}
		return nil
	})
	// Rows must reach the sink even after ctx is cancelled: a finished call
	// is paid for, and losing its row would mean paying again on resume.
	writeCtx := context.WithoutCancel(ctx)

	// writerGone tells workers nobody takes rows any more (the sink
	// failed); until then a finished row is always handed over, even when
	// ctx is cancelled.
	writerGone := make(chan struct{})

	// Each model's lane gets its own workers when its first record
	// arrives; results closes once the reader is done and every worker
	// has ended.
	var workers sync.WaitGroup
	startLane := func(q *lane) {
		for range r.opts.Concurrency {
			workers.Add(1)
			group.Go(func() error {
				defer workers.Done()
				return r.work(gctx, stop, queued, q, results, writerGone)
			})
		}
	}
	readerDone := make(chan struct{})
	group.Go(func() error {
		defer close(readerDone)
		defer queued.close()
		return r.read(gctx, stop, queued, startLane)
	})
	group.Go(func() error {
		// Stopping: records still queued were never started; they get no
		// row and a resumed run sends them.
		select {
		case <-stop:
		case <-gctx.Done():
		case <-readerDone:
			return nil
		}
		queued.drop()
		queued.close()
		return nil
	})
	answeredDone := make(chan struct{})
	group.Go(func() error {
		defer close(answeredDone)
		return r.forwardAnswered(gctx, stop, results, writerGone)
	})
	group.Go(func() error {
		<-readerDone
		workers.Wait()
		<-answeredDone
		close(results)
		return nil
	})
	received := make(chan struct{}) // every row is handed to the sink
	nudge := make(chan struct{}, 1) // a row was handed over
	group.Go(func() error {
		defer close(writerGone)
		defer close(received)
		return r.receive(writeCtx, results, nudge)
	})
	var outputErr error
	group.Go(func() error {
		defer close(committed)
		outputErr = r.commit(writeCtx, nudge, received, halt)
		return nil
	})

	err := group.Wait()
	if err == nil {
		err = outputErr
	}
	summary := r.stats.summary()
	summary.WallTime = time.Since(start)
	summary.Interrupted = isClosed(stop) || ctx.Err() != nil
	return summary, err
}

// Progress is a snapshot of the counters, safe to call while Run runs.
func (r *Run) Progress() Summary { return r.stats.summary() }

func (r *Run) read(ctx context.Context, stop <-chan struct{}, queued *lanes, startLane func(*lane)) error {
	for !isClosed(stop) && ctx.Err() == nil {
		rec, err := r.source.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading input: %w", err)
		}
		r.stats.read.Add(1)
		model := r.opts.Requests.Model(&rec)
		if rec.Err == nil && r.stats.quotaSpent(model) {
			// Its model's daily quota is spent: the record waits for a
			// later run, and once every model's is, reading stops.
			r.stats.deferByQuota(model, errQuotaSpent)
			if r.stats.allQuotaSpent(queued.models()) {
				return nil
			}
			continue
		}
		created, ok := queued.push(model, rec)
		if !ok {
			return nil
		}
		if created != nil {
			startLane(created)
		}
	}
	return nil
}

// forwardAnswered hands rows answered elsewhere to the writer.
func (r *Run) forwardAnswered(ctx context.Context, stop <-chan struct{}, results chan<- *writer.Row, writerGone <-chan struct{}) error {
	if r.opts.Answered == nil {
		return nil
	}
	for !isClosed(stop) && ctx.Err() == nil {
		row, err := r.opts.Answered.NextRow(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading answered rows: %w", err)
		}
		r.stats.read.Add(1) // a record, answered elsewhere
		select {
		case results <- row:
		case <-writerGone:
			return nil
		}
	}
	return nil
}

// errQuotaSpent defers records whose model was already found out of its
// daily quota (the first deferral's reason is the one reported).
var errQuotaSpent = errors.New("the model's daily token quota is spent")

func (r *Run) work(ctx context.Context, stop <-chan struct{}, queued *lanes, q *lane, results chan<- *writer.Row, writerGone <-chan struct{}) error {
	for {
		rec, ok := queued.pop(q)
		if !ok {
			return nil
		}
		if isClosed(stop) || ctx.Err() != nil {
			continue // not started: a resumed run will send it
		}
		row, err := r.process(ctx, stop, &rec)
		if err != nil {
			return err
		}
		if row == nil {
			r.stats.abandoned.Add(1)
			continue
		}
		select {
		case results <- row:
		case <-writerGone:
			return nil
		}
	}
}

// receive hands every finished row to the sink, and nudges the
// committer. Rows must reach the sink even after the run's context is
// cancelled: a finished call is paid for.
func (r *Run) receive(ctx context.Context, results <-chan *writer.Row, nudge chan<- struct{}) error {
	for row := range results {
		row.RunID = r.opts.RunID
		if row.FinishedAt.IsZero() {
			row.FinishedAt = time.Now().UTC().Truncate(time.Millisecond)
		}
		if err := r.sink.Write(ctx, row); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		r.stats.count(row)
		select {
		case nudge <- struct{}{}:
		default:
		}
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
