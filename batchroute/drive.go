package batchroute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/internal/idset"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Run watches the jobs until every one has finished and been collected:
// their answered records become rows (Answered), the records they left
// become on-demand records (OnDemand). Parts waiting for a job slot are
// submitted as jobs finish. With a deadline it stops the jobs when what
// they still hold could only just be finished on demand in time. It
// returns when all is collected, stop is closed or ctx ends; rows is
// closed then. With NoOnDemand, records no job answered make it return an
// error counting them.
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
			if n := r.Unanswered(); n > 0 {
				return fmt.Errorf("%d records have no row: --no-on-demand kept them from on demand (too few for a job, failed by a job, or left by a job that ended early); run again without it to finish them", n)
			}
			return nil
		}
		if progressed {
			delay = r.opts.Batch.PollInterval
		} else {
			delay = min(2*delay, maxDelay)
		}
		if !r.opts.Deadline.IsZero() {
			// Wake in time to stop the jobs at the deadline's last moment.
			at, _, _ := r.stopAt()
			delay = min(delay, max(at.Sub(r.opts.Clock.Now()), 10*time.Millisecond))
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

// poll refreshes unfinished jobs, stops them at the deadline, collects
// finished ones and submits parts that wait for a slot; progressed says
// whether anything changed.
func (r *Route) poll(ctx context.Context, stop <-chan struct{}, rows chan<- *writer.Row) (progressed bool, err error) {
	if !r.opts.Deadline.IsZero() && !r.stopped {
		at, estimate, basis := r.stopAt()
		r.logEstimate(at, estimate, basis)
		if !r.opts.Clock.Now().Before(at) {
			r.stopJobs(ctx)
			progressed = true
		}
	}
	for i := 0; ; i++ {
		r.mu.Lock()
		if i >= len(r.state.Parts) {
			r.mu.Unlock()
			break
		}
		p := r.state.Parts[i]
		collected := r.collect[p.Name]
		r.mu.Unlock()
		if p.OnDemand || collected {
			continue
		}
		if p.JobARN == "" {
			if r.stopped {
				// The deadline came before the part's job: its records go
				// on demand, all of them.
				if err := r.collectUnsubmitted(ctx, &p); err != nil {
					return false, r.collectErr(ctx, stop, err)
				}
				progressed = true
			}
			continue // waiting for a job slot
		}
		if !batchinfer.Finished(p.Status) {
			status, message, processed, failed := p.Status, p.Message, p.Processed, p.Failed
			if err := r.jobs.Refresh(ctx, &p); err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				r.opts.Logger.Warn("batch inference: job status not read; trying again later", "job", p.JobARN, "error", err)
				continue
			}
			statusChanged := p.Status != status || p.Message != message
			if statusChanged || p.Processed != processed || p.Failed != failed {
				r.mu.Lock()
				r.state.Parts[i] = p
				r.mu.Unlock()
				if statusChanged {
					progressed = true
					r.opts.Logger.Info("batch inference: job", "model", p.Model, "records", p.Records, "status", p.Status,
						"processed", p.Processed, "failed", p.Failed, "message", p.Message)
				}
				if err := r.saveState(ctx); err != nil {
					return false, err
				}
			}
		}
		if !batchinfer.Finished(p.Status) {
			continue
		}
		if p.Status == batchinfer.StatusFailed && batchinfer.TooLarge(p.Message) && !r.stopped {
			// Bedrock's validation found the job over a quota: smaller jobs
			// meet it, so its records stay with jobs.
			if err := r.split(ctx, i, p.Message); err != nil {
				return false, err
			}
			progressed = true
			continue
		}
		if err := r.collectPart(ctx, stop, &p, rows); err != nil {
			return false, r.collectErr(ctx, stop, err)
		}
		r.markCollected(p.Name)
		progressed = true
	}
	if err := r.submit(ctx); err != nil {
		return false, err
	}
	return progressed, nil
}

// collectErr is what a failure to collect means: nothing while the run is
// stopping (the next run collects the part), else the error.
func (r *Route) collectErr(ctx context.Context, stop <-chan struct{}, err error) error {
	select {
	case <-stop:
		return nil
	default:
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (r *Route) markCollected(name string) {
	r.mu.Lock()
	r.collect[name] = true
	r.notify()
	r.mu.Unlock()
}

// stopAt is when the jobs must be stopped for their records to be
// finished on demand before the deadline: the deadline, less the margin,
// less the on-demand time of the records unfinished jobs have not yet
// processed (and of parts still waiting for a job). It returns the
// estimate and its basis too.
func (r *Route) stopAt() (time.Time, time.Duration, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var estimate time.Duration
	var bases []string
	for i := range r.state.Parts {
		p := &r.state.Parts[i]
		if p.OnDemand || batchinfer.Finished(p.Status) || r.collect[p.Name] || r.opts.OnDemandTime == nil {
			continue
		}
		left := p.Records - int(min(p.Processed, int64(p.Records)))
		d, basis := r.opts.OnDemandTime(p, left)
		estimate += d
		if basis != "" && !containsString(bases, basis) {
			bases = append(bases, basis)
		}
	}
	return r.opts.Deadline.Add(-r.opts.Margin - estimate), estimate, strings.Join(bases, "; ")
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// logEstimate says, when it changes by a second or more, when the jobs
// will be stopped and on what the estimate rests.
func (r *Route) logEstimate(at time.Time, estimate time.Duration, basis string) {
	text := fmt.Sprint(at.Truncate(time.Second).Unix(), basis)
	if text == r.estimate {
		return
	}
	r.estimate = text
	r.opts.Logger.Info("batch inference: the jobs run until the deadline less the margin and the on-demand time of what they have not done",
		"deadline", r.opts.Deadline.Format(time.RFC3339), "margin", r.opts.Margin, "on_demand_estimate", estimate.Round(time.Second),
		"stop_at", at.Format(time.RFC3339), "basis", basis)
}

// stopJobs stops every unfinished job: what they finished is kept, the
// rest goes on demand; parts that have no job yet will not get one.
func (r *Route) stopJobs(ctx context.Context) {
	r.stopped = true
	for i := range r.state.Parts {
		r.mu.Lock()
		p := r.state.Parts[i]
		r.mu.Unlock()
		if p.OnDemand || p.JobARN == "" || batchinfer.Finished(p.Status) {
			continue
		}
		r.opts.Logger.Warn("batch inference: stopping the job to keep the deadline; its unfinished records go on demand",
			"job", p.JobARN, "processed", p.Processed, "records", p.Records, "deadline", r.opts.Deadline.Format(time.RFC3339))
		if err := r.jobs.Stop(ctx, &p); err != nil {
			r.opts.Logger.Error("batch inference: stopping the job failed", "job", p.JobARN, "error", err)
		}
	}
}

// collectPart turns a finished job's output into rows, and its records
// without an answer into on-demand records. Records the output already
// settles (a re-run after a kill) are skipped.
func (r *Route) collectPart(ctx context.Context, stop <-chan struct{}, p *batchinfer.Part, rows chan<- *writer.Row) error {
	var answered idset.Set
	metadata, err := r.metadataOf(ctx, p)
	if err != nil {
		return err
	}
	send := func(row *writer.Row) error {
		row.Metadata = metadata.of(row.ID)
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
			answered.Add(hashID(o.RecordID))
			return nil
		}
		switch {
		case o.OK:
			answered.Add(hashID(o.RecordID))
			return send(okRow(p, o))
		case o.Retryable() || r.opts.RetryErrors:
			return nil // left without an answer: on demand below
		default:
			answered.Add(hashID(o.RecordID))
			return send(errorRow(p, o))
		}
	})
	if err != nil {
		return err
	}
	var left []reader.Record
	var leftInputs []stagedRecord
	err = r.jobs.Inputs(ctx, p, func(id string, modelInput json.RawMessage) error {
		if answered.Has(hashID(id)) || r.settled(id) {
			return nil
		}
		rec, err := fallbackRecord(ctx, p, id, modelInput)
		if err != nil {
			return err
		}
		rec.Metadata = metadata.of(id)
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
	if len(left) > 0 && len(left) == p.Records {
		r.wholeJob(p, false)
	}
	return r.sendOnDemand(ctx, p, left, true)
}

// collectUnsubmitted sends every record of a part the deadline kept from
// a job on demand.
func (r *Route) collectUnsubmitted(ctx context.Context, p *batchinfer.Part) error {
	left, err := r.recordsOf(ctx, p, r.settled)
	if err != nil {
		return err
	}
	r.wholeJob(p, true)
	if err := r.sendOnDemand(ctx, p, left, true); err != nil {
		return err
	}
	r.markCollected(p.Name)
	return nil
}

// recordsOf reads a part's staged records, but those skip says to leave,
// as on-demand records with their metadata.
func (r *Route) recordsOf(ctx context.Context, p *batchinfer.Part, skip func(id string) bool) ([]reader.Record, error) {
	metadata, err := r.metadataOf(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []reader.Record
	err = r.jobs.Inputs(ctx, p, func(id string, modelInput json.RawMessage) error {
		if skip != nil && skip(id) {
			return nil
		}
		rec, err := fallbackRecord(ctx, p, id, modelInput)
		rec.Metadata = metadata.of(id)
		out = append(out, rec)
		return err
	})
	return out, err
}

// wholeJob notes a part none of whose records a job answered.
func (r *Route) wholeJob(p *batchinfer.Part, deadline bool) {
	r.mu.Lock()
	r.wholeJobs = append(r.wholeJobs, WholeJob{Model: p.Model, Part: p.Name, JobARN: p.JobARN, Status: p.Status, Message: p.Message,
		Records: p.Records, Deadline: deadline || r.stopped})
	r.mu.Unlock()
}

// sendOnDemand hands records no job will answer to the on-demand pass, or
// with NoOnDemand counts them as left without a row. logged says to say so.
func (r *Route) sendOnDemand(ctx context.Context, p *batchinfer.Part, left []reader.Record, logged bool) error {
	if len(left) == 0 {
		return nil
	}
	if r.opts.NoOnDemand {
		r.mu.Lock()
		r.unanswered += len(left)
		r.mu.Unlock()
		r.opts.Logger.Warn("batch inference: --no-on-demand: records no job answered keep no row", "part", p.Name, "job", p.JobARN,
			"status", p.Status, "records", len(left))
		return nil
	}
	if logged {
		r.opts.Logger.Info("batch inference: records left to on-demand", "job", p.JobARN, "status", p.Status, "records", len(left))
	}
	r.mu.Lock()
	r.fallback = append(r.fallback, left...)
	r.notify()
	r.mu.Unlock()
	return ctx.Err()
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
	least := r.opts.Batch.Limits(p.Model).MinRecords
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

// resubmit stages a job's unanswered records as new parts, which wait for
// a job slot like the plan's.
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
	var left []reader.Record
	for i := range parts {
		parts[i].Resubmits, parts[i].Meta = p.Resubmits+1, p.Meta
		if !parts[i].OnDemand {
			continue
		}
		// A tail too small for a job of its own goes on demand.
		tail, err := r.recordsOf(ctx, &parts[i], nil)
		if err != nil {
			return err
		}
		left = append(left, tail...)
	}
	r.mu.Lock()
	r.state.Parts = append(r.state.Parts, parts...)
	r.mu.Unlock()
	r.opts.Logger.Warn("batch inference: the job ended without answering every record; resubmitting them as a new job",
		"job", p.JobARN, "status", p.Status, "message", p.Message, "records", len(records))
	if err := r.sendOnDemand(ctx, p, left, false); err != nil {
		return err
	}
	if err := r.saveState(ctx); err != nil {
		return err
	}
	return r.submit(ctx)
}
