package batchroute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Run watches the jobs until every one has finished and been collected:
// their answered records become rows (Answered), the records they left
// become on-demand records (OnDemand). With a deadline it stops the jobs
// when what they still hold could only just be finished on demand in
// time. It returns when all is collected, stop is closed or ctx ends;
// rows is closed then.
func (r *Route) Run(ctx context.Context, stop <-chan struct{}, rows chan<- *writer.Row) error {
	defer close(rows)
	defer r.finish()
	delay := r.opts.Batch.PollInterval
	if delay <= 0 {
		delay = batchinfer.DefaultPollInterval
	}
	maxDelay := max(r.opts.Batch.MaxPollInterval, delay)
	for {
		progressed, err := r.poll(ctx, stop, rows)
		if err != nil {
			return err
		}
		if r.allCollected() {
			return nil
		}
		if progressed {
			delay = r.opts.Batch.PollInterval
		} else {
			delay = min(2*delay, maxDelay)
		}
		if !r.opts.Deadline.IsZero() {
			// Wake in time to stop the jobs at the deadline's last moment.
			delay = min(delay, max(r.stopAt().Sub(r.opts.Clock.Now()), 10*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-r.opts.Clock.After(delay):
		}
	}
}

// finish marks the route done, so OnDemand ends once its queue is empty.
func (r *Route) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	r.notify()
}

func (r *Route) allCollected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.state.Parts {
		if !p.OnDemand && !r.collect[p.Name] {
			return false
		}
	}
	return true
}

// poll refreshes unfinished jobs, stops them at the deadline, and collects
// finished ones; progressed says whether anything changed.
func (r *Route) poll(ctx context.Context, stop <-chan struct{}, rows chan<- *writer.Row) (progressed bool, err error) {
	if !r.opts.Deadline.IsZero() && !r.stopped && !r.opts.Clock.Now().Before(r.stopAt()) {
		r.stopJobs(ctx)
		progressed = true
	}
	for i := range r.state.Parts {
		r.mu.Lock()
		p := r.state.Parts[i]
		collected := r.collect[p.Name]
		r.mu.Unlock()
		if p.OnDemand || collected {
			continue
		}
		if !batchinfer.Finished(p.Status) {
			before := p.Status + p.Message
			if err := r.jobs.Refresh(ctx, &p); err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				r.opts.Logger.Warn("batch inference: job status not read; trying again later", "job", p.JobARN, "error", err)
				continue
			}
			if p.Status+p.Message != before {
				progressed = true
				r.mu.Lock()
				r.state.Parts[i] = p
				r.mu.Unlock()
				r.opts.Logger.Info("batch inference: job", "model", p.Model, "records", p.Records, "status", p.Status, "message", p.Message)
				if err := r.saveState(ctx); err != nil {
					return false, err
				}
			}
		}
		if !batchinfer.Finished(p.Status) {
			continue
		}
		if err := r.collectPart(ctx, stop, &p, rows); err != nil {
			select {
			case <-stop:
				return false, nil // stopping: the next run collects it
			default:
			}
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		r.mu.Lock()
		r.collect[p.Name] = true
		r.notify()
		r.mu.Unlock()
		progressed = true
	}
	return progressed, nil
}

// stopAt is when the jobs must be stopped for their records to be
// finished on demand before the deadline: the deadline, less the margin,
// less the on-demand time of every unfinished job's records.
func (r *Route) stopAt() time.Time {
	at := r.opts.Deadline.Add(-r.opts.Margin)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.state.Parts {
		p := &r.state.Parts[i]
		if p.OnDemand || batchinfer.Finished(p.Status) || r.opts.OnDemandTime == nil {
			continue
		}
		at = at.Add(-r.opts.OnDemandTime(p))
	}
	return at
}

// stopJobs stops every unfinished job: what they finished is kept, the
// rest goes on demand.
func (r *Route) stopJobs(ctx context.Context) {
	r.stopped = true
	for i := range r.state.Parts {
		r.mu.Lock()
		p := r.state.Parts[i]
		r.mu.Unlock()
		if p.OnDemand || batchinfer.Finished(p.Status) {
			continue
		}
		r.opts.Logger.Warn("batch inference: stopping the job to keep the deadline; its unfinished records go on demand",
			"job", p.JobARN, "deadline", r.opts.Deadline.Format(time.RFC3339))
		if err := r.jobs.Stop(ctx, &p); err != nil {
			r.opts.Logger.Error("batch inference: stopping the job failed", "job", p.JobARN, "error", err)
		}
	}
}

// collectPart turns a finished job's output into rows, and its records
// without an answer into on-demand records. Records the output already
// settles (a re-run after a kill) are skipped.
func (r *Route) collectPart(ctx context.Context, stop <-chan struct{}, p *batchinfer.Part, rows chan<- *writer.Row) error {
	answered := make(map[uint64]struct{}, p.Records)
	metadata, err := r.metadataOf(ctx, p.Model)
	if err != nil {
		return err
	}
	send := func(row *writer.Row) error {
		row.Metadata = metadata[row.ID]
		select {
		case rows <- row:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errStopped
		}
	}
	err = r.jobs.Outputs(ctx, p, func(o batchinfer.Output) error {
		if r.settled(o.RecordID) {
			answered[hashID(o.RecordID)] = struct{}{}
			return nil
		}
		switch {
		case o.OK:
			answered[hashID(o.RecordID)] = struct{}{}
			return send(okRow(p, o))
		case o.Retryable() || r.opts.RetryErrors:
			return nil // left without an answer: on demand below
		default:
			answered[hashID(o.RecordID)] = struct{}{}
			return send(errorRow(p, o))
		}
	})
	if err != nil {
		return err
	}
	var left []reader.Record
	var leftInputs []stagedRecord
	err = r.jobs.Inputs(ctx, p, func(id string, modelInput json.RawMessage) error {
		if _, ok := answered[hashID(id)]; ok || r.settled(id) {
			return nil
		}
		rec, err := fallbackRecord(ctx, p, id, modelInput)
		if err != nil {
			return err
		}
		rec.Metadata = metadata[id]
		left = append(left, rec)
		leftInputs = append(leftInputs, stagedRecord{id, modelInput})
		return nil
	})
	if err != nil {
		return err
	}
	if r.shouldResubmit(p, len(left)) {
		return r.resubmit(ctx, p, leftInputs)
	}
	if len(left) > 0 {
		r.opts.Logger.Info("batch inference: records left to on-demand", "job", p.JobARN, "status", p.Status, "records", len(left))
		r.mu.Lock()
		r.fallback = append(r.fallback, left...)
		r.notify()
		r.mu.Unlock()
	}
	return nil
}

var errStopped = errors.New("the run is stopping")

// fallbackRecord is a staged record as the reader reads it, for its
// on-demand call: the model of its part, the request it was staged with.
func fallbackRecord(ctx context.Context, p *batchinfer.Part, id string, modelInput json.RawMessage) (reader.Record, error) {
	line, err := json.Marshal(struct {
		RecordID   string          `json:"recordId"`
		ModelInput json.RawMessage `json:"modelInput"`
	}{id, modelInput})
	if err != nil {
		return reader.Record{}, err
	}
	rec, err := reader.NewJSONL(bytes.NewReader(line), p.Name).Next(ctx)
	if err != nil && !errors.Is(err, io.EOF) {
		return reader.Record{}, fmt.Errorf("reading staged record %s: %w", id, err)
	}
	rec.ID, rec.ModelID = id, p.Model
	return rec, nil
}

func okRow(p *batchinfer.Part, o batchinfer.Output) *writer.Row {
	return &writer.Row{
		ID: o.RecordID, Status: writer.StatusOK, Output: o.Text, StopReason: o.StopReason,
		InputTokens: o.Usage.InputTokens, OutputTokens: o.Usage.OutputTokens, TotalTokens: o.Usage.TotalTokens,
		CacheReadInputTokens: o.Usage.CacheReadInputTokens, CacheWriteInputTokens: o.Usage.CacheWriteInputTokens,
		Attempts: 1, ModelID: p.Model, Route: writer.RouteBatchInference, ModelInput: o.ModelInput,
	}
}

func errorRow(p *batchinfer.Part, o batchinfer.Output) *writer.Row {
	return &writer.Row{
		ID: o.RecordID, Status: writer.StatusError, ErrorType: o.ErrorType(), ErrorMessage: o.ErrorMessage,
		Attempts: 1, ModelID: p.Model, Route: writer.RouteBatchInference, ModelInput: o.ModelInput,
	}
}

// stagedRecord is a record as a job input holds it.
type stagedRecord struct {
	id         string
	modelInput json.RawMessage
}

// shouldResubmit says whether a finished job's unanswered records go to a
// new job: with Resubmit, for a job that failed, expired or was stopped by
// someone else, once, and when they are enough for a job.
func (r *Route) shouldResubmit(p *batchinfer.Part, left int) bool {
	least := r.opts.Batch.MinRecords
	if least == 0 {
		least = batchinfer.DefaultMinRecords
	}
	if !r.opts.Resubmit || p.Resubmits > 0 || left < max(least, 1) {
		return false
	}
	switch p.Status {
	case batchinfer.StatusFailed, batchinfer.StatusExpired:
		return true
	case batchinfer.StatusStopped:
		return !r.stopped
	}
	return false
}

// resubmit stages a job's unanswered records as new parts and submits them.
func (r *Route) resubmit(ctx context.Context, p *batchinfer.Part, records []stagedRecord) error {
	cfg := r.opts.Batch
	cfg.RunKey = r.state.RunKey + "-resubmit-" + randomHex(3)
	stager := batchinfer.NewStager(r.store, cfg)
	for _, rec := range records {
		if err := stager.Add(ctx, rec.id, p.Model, rec.modelInput); err != nil {
			stager.Abort()
			return fmt.Errorf("restaging the records of %s: %w", p.JobARN, err)
		}
	}
	parts, err := stager.Finish(ctx)
	if err != nil {
		return fmt.Errorf("restaging the records of %s: %w", p.JobARN, err)
	}
	metadata, err := r.metadataOf(ctx, p.Model)
	if err != nil {
		return err
	}
	var left []reader.Record
	for i := range parts {
		parts[i].Resubmits = p.Resubmits + 1
		if !parts[i].OnDemand {
			continue
		}
		// A tail too small for a job of its own goes on demand.
		err := r.jobs.Inputs(ctx, &parts[i], func(id string, modelInput json.RawMessage) error {
			rec, err := fallbackRecord(ctx, p, id, modelInput)
			rec.Metadata = metadata[id]
			left = append(left, rec)
			return err
		})
		if err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.state.Parts = append(r.state.Parts, parts...)
	if len(left) > 0 {
		r.fallback = append(r.fallback, left...)
		r.notify()
	}
	r.mu.Unlock()
	r.opts.Logger.Warn("batch inference: the job ended without answering every record; resubmitting them as a new job",
		"job", p.JobARN, "status", p.Status, "message", p.Message, "records", len(records))
	if err := r.saveState(ctx); err != nil {
		return err
	}
	return r.submit(ctx)
}
