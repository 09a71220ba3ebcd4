// Package pipeline moves records from a source through the model to a sink
// with bounded concurrency; it owns every goroutine of a run.
package pipeline

import (
	"context"
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

// Source yields records one at a time and io.EOF after the last.
type Source interface {
	Next(ctx context.Context) (reader.Record, error)
}

// Model answers one request with one call.
type Model interface {
	Converse(ctx context.Context, req *bedrock.Request) (bedrock.Response, error)
}

// Sink takes result rows; Commit makes every row written so far durable.
type Sink interface {
	Write(ctx context.Context, row *writer.Row) error
	Commit(ctx context.Context) error
}

// Limiter decides when a call that reserves about tokens may start; the
// ticket it returns is settled once the call ends.
type Limiter interface {
	Wait(ctx context.Context, tokens int64) (Ticket, error)
}

// Ticket is an admitted call's reservation: exactly one method settles it.
type Ticket interface {
	Done(used int64) // succeeded, having used this many tokens
	Throttled()      // Bedrock throttled it
	Failed()         // failed otherwise
}

// RateLimited adapts a ratelimit.Limiter to Limiter.
func RateLimited(l *ratelimit.Limiter) Limiter { return rateLimited{l} }

type rateLimited struct{ l *ratelimit.Limiter }

func (r rateLimited) Wait(ctx context.Context, tokens int64) (Ticket, error) {
	ticket, err := r.l.Wait(ctx, tokens)
	if err != nil {
		return nil, err
	}
	return ticket, nil
}

// Options configure a run.
type Options struct {
	// Concurrency caps the calls in flight.
	Concurrency int
	// Defaults are the request fields a record does not set itself.
	Defaults Defaults
	// Retry says how often and how patiently failed calls are made again.
	Retry Retry
	// CommitInterval and CommitRows bound how long, and how many, finished
	// rows may wait before they are made durable: what a kill -9 can cost
	// on top of the calls in flight. Defaults: 5 s and 5,000 rows.
	CommitInterval time.Duration
	CommitRows     int
	// Limiter, when set, is asked before every call.
	Limiter Limiter
	// OutputReservation is the output a call reserves against the limiter
	// when it sends no maxTokens (Bedrock then reserves the model's
	// maximum); 0 means DefaultOutputReservation.
	OutputReservation int64
}

// DefaultOutputReservation is what a call without maxTokens reserves.
const DefaultOutputReservation = 4096

// Defaults are the job-wide request fields.
type Defaults struct {
	ModelID   string
	System    string
	Inference bedrock.InferenceConfig
}

// Run is one pass of a source through the model into a sink.
type Run struct {
	source Source
	model  Model
	sink   Sink
	opts   Options
	stats  stats
}

// New returns a Run; nothing starts until Run.Run.
func New(source Source, model Model, sink Sink, opts Options) *Run {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.CommitInterval <= 0 {
		opts.CommitInterval = 5 * time.Second
	}
	if opts.CommitRows <= 0 {
		opts.CommitRows = 5000
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.OutputReservation <= 0 {
		opts.OutputReservation = DefaultOutputReservation
	}
	return &Run{source: source, model: model, sink: sink, opts: opts}
}

// Run reads every record, calls the model for each, and writes one row per
// record. Closing stop makes it take no new records and finish the calls in
// flight; cancelling ctx abandons them too. Rows of finished calls are
// always committed before Run returns. The error is non-nil only when the
// run could not go on (the source or the sink failed); an interrupted run
// returns a Summary with Interrupted set.
func (r *Run) Run(ctx context.Context, stop <-chan struct{}) (Summary, error) {
	start := time.Now()
	records := make(chan reader.Record, r.opts.Concurrency)
	results := make(chan *writer.Row, r.opts.Concurrency)

	group, gctx := errgroup.WithContext(ctx)
	// Rows must reach the sink even after ctx is cancelled: a finished call
	// is paid for, and losing its row would mean paying again on resume.
	writeCtx := context.WithoutCancel(ctx)

	// writerGone tells workers nobody takes rows any more (the sink
	// failed); until then a finished row is always handed over, even when
	// ctx is cancelled.
	writerGone := make(chan struct{})

	group.Go(func() error { return r.read(gctx, stop, records) })
	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Add(1)
		group.Go(func() error {
			defer workers.Done()
			return r.work(gctx, stop, records, results, writerGone)
		})
	}
	group.Go(func() error {
		workers.Wait()
		close(results)
		return nil
	})
	group.Go(func() error {
		defer close(writerGone)
		return r.write(writeCtx, results)
	})

	err := group.Wait()
	summary := r.stats.summary()
	summary.WallTime = time.Since(start)
	summary.Interrupted = isClosed(stop) || ctx.Err() != nil
	return summary, err
}

// Progress is a snapshot of the counters, safe to call while Run runs.
func (r *Run) Progress() Summary { return r.stats.summary() }

func (r *Run) read(ctx context.Context, stop <-chan struct{}, records chan<- reader.Record) error {
	defer close(records)
	for !isClosed(stop) {
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
		select {
		case records <- rec:
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

func (r *Run) work(ctx context.Context, stop <-chan struct{}, records <-chan reader.Record, results chan<- *writer.Row, writerGone <-chan struct{}) error {
	for rec := range records {
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
	return nil
}

func (r *Run) write(ctx context.Context, results <-chan *writer.Row) error {
	ticker := time.NewTicker(r.opts.CommitInterval)
	defer ticker.Stop()
	pending := 0
	commit := func() error {
		pending = 0
		if err := r.sink.Commit(ctx); err != nil {
			return fmt.Errorf("committing output: %w", err)
		}
		return nil
	}
	for {
		select {
		case row, ok := <-results:
			if !ok {
				return commit()
			}
			if err := r.sink.Write(ctx, row); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
			r.stats.count(row)
			if pending++; pending >= r.opts.CommitRows {
				if err := commit(); err != nil {
					return err
				}
			}
		case <-ticker.C:
			if pending > 0 {
				if err := commit(); err != nil {
					return err
				}
			}
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
