package bedrocktest

import (
	"context"
	"sync/atomic"
	"time"
)

// BatchStats counts what the batch-inference control plane has done so far. It is a
// comparable value.
type BatchStats struct {
	JobsCreated       int64 // CreateModelInvocationJob calls that made a job
	IdempotentRepeats int64 // CreateModelInvocationJob calls that repeated a clientRequestToken with the same parameters: answered the first job's ARN, no job made
	JobsRejected      int64 // CreateModelInvocationJob calls refused (ValidationException, ConflictException, ...)
	RecordsProcessed  int64 // records answered, ok or not
	RecordsOK         int64 // records answered with a modelOutput
	RecordsFailed     int64 // records answered with an error object
	InputTokens       int64 // usage input tokens (cached or not) of the ok records
	OutputTokens      int64 // usage.outputTokens of the ok records
	Statuses          BatchStatusCounts
}

// BatchStatusCounts counts the jobs in each status now.
type BatchStatusCounts struct {
	Submitted, Validating, Scheduled, InProgress, Completed, PartiallyCompleted,
	Failed, Stopping, Stopped, Expired int64
}

// BatchJob describes one job, for tests.
type BatchJob struct {
	ID, ARN, Name, ModelID string
	Status                 string // as types.ModelInvocationJobStatus spells it
	Message                string // why it failed or timed out, or ""
	Records                int64  // records in its input
	Processed              int64  // records answered so far
	OK, Failed             int64  // of those, with a modelOutput and with an error object
	Output                 string // where its outputs go: s3://bucket/prefix/<job id>/
}

// batchCounters are the BatchStats counters as atomics.
type batchCounters struct {
	created, repeats, rejected atomic.Int64
	processed, ok, errors      atomic.Int64
	inputTokens, outputTokens  atomic.Int64
}

// BatchStats returns the control plane's counters, with every job first brought up to the
// clock's now. It is safe for concurrent use.
func (h *Handler) BatchStats() BatchStats {
	b := h.batch
	var s BatchStats
	for _, j := range b.jobsNow() {
		if p := s.Statuses.of(j.Status); p != nil {
			*p++
		}
	}
	c := &b.stats
	s.JobsCreated, s.IdempotentRepeats, s.JobsRejected = c.created.Load(), c.repeats.Load(), c.rejected.Load()
	s.RecordsProcessed, s.RecordsOK, s.RecordsFailed = c.processed.Load(), c.ok.Load(), c.errors.Load()
	s.InputTokens, s.OutputTokens = c.inputTokens.Load(), c.outputTokens.Load()
	return s
}

// BatchJobs returns every job, oldest first, each brought up to the clock's now. It is safe
// for concurrent use.
func (h *Handler) BatchJobs() []BatchJob { return h.batch.jobsNow() }

// BatchStats returns the batch control plane's counters; see Handler.BatchStats.
func (s *Server) BatchStats() BatchStats { return s.handler.BatchStats() }

// BatchJobs returns every batch job, oldest first; see Handler.BatchJobs.
func (s *Server) BatchJobs() []BatchJob { return s.handler.BatchJobs() }

func (b *batchJobs) jobsNow() []BatchJob {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []BatchJob
	for _, j := range b.all() {
		j.mu.Lock()
		b.advance(ctx, j, b.opts.now())
		out = append(out, BatchJob{
			ID: j.id, ARN: j.arn, Name: j.spec.name, ModelID: j.spec.modelID,
			Status: j.status, Message: j.message,
			Records: int64(len(j.records)), Processed: int64(j.done), OK: j.ok, Failed: j.errs,
			Output: "s3://" + j.outBucket + "/" + j.outPrefix,
		})
		j.mu.Unlock()
	}
	return out
}

// of returns the counter of status, or nil for an unknown one.
func (c *BatchStatusCounts) of(status string) *int64 {
	switch status {
	case statusSubmitted:
		return &c.Submitted
	case statusValidating:
		return &c.Validating
	case statusScheduled:
		return &c.Scheduled
	case statusInProgress:
		return &c.InProgress
	case statusCompleted:
		return &c.Completed
	case statusPartiallyCompleted:
		return &c.PartiallyCompleted
	case statusFailed:
		return &c.Failed
	case statusStopping:
		return &c.Stopping
	case statusStopped:
		return &c.Stopped
	case statusExpired:
		return &c.Expired
	}
	return nil
}
