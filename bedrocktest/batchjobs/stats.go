package batchjobs

import (
	"context"
	"sync/atomic"
	"time"
)

// Stats counts what the control plane has done so far. It is a comparable value.
type Stats struct {
	JobsCreated       int64 // CreateModelInvocationJob calls that made a job
	IdempotentRepeats int64 // CreateModelInvocationJob calls that repeated a clientRequestToken with the same parameters: answered the first job's ARN, no job made
	JobsRejected      int64 // CreateModelInvocationJob calls refused (ValidationException, ConflictException, ...)
	RecordsProcessed  int64 // records answered, ok or not
	RecordsOK         int64 // records answered with a modelOutput
	RecordsFailed     int64 // records answered with an error object
	InputTokens       int64 // usage input tokens (cached or not) of the ok records
	OutputTokens      int64 // usage.outputTokens of the ok records
	Statuses          StatusCounts
}

// StatusCounts counts the jobs in each status now.
type StatusCounts struct {
	Submitted, Validating, Scheduled, InProgress, Completed, PartiallyCompleted,
	Failed, Stopping, Stopped, Expired int64
}

// Job describes one job, for tests.
type Job struct {
	ID, ARN, Name, ModelID string
	Status                 string // as types.ModelInvocationJobStatus spells it
	Message                string // why it failed or timed out, or ""
	Records                int64  // records in its input
	Processed              int64  // records answered so far
	OK, Failed             int64  // of those, with a modelOutput and with an error object
	Output                 string // where its outputs go: s3://bucket/prefix/<job id>/

	// What the job was created with to reach S3 (empty when not given): its input's and
	// output's s3BucketOwner, its output's s3EncryptionKeyId, its vpcConfig and its tags.
	InputBucketOwner, OutputBucketOwner string
	OutputKMSKeyID                      string
	SubnetIDs, SecurityGroupIDs         []string
	Tags                                map[string]string
}

// counters are the Stats counters as atomics.
type counters struct {
	created, repeats, rejected atomic.Int64
	processed, ok, errors      atomic.Int64
	inputTokens, outputTokens  atomic.Int64
}

// Stats returns the counters, with every job first brought up to the clock's now.
func (s *Service) Stats() Stats {
	var st Stats
	for _, j := range s.Jobs() {
		if p := st.Statuses.of(j.Status); p != nil {
			*p++
		}
	}
	c := &s.stats
	st.JobsCreated, st.IdempotentRepeats, st.JobsRejected = c.created.Load(), c.repeats.Load(), c.rejected.Load()
	st.RecordsProcessed, st.RecordsOK, st.RecordsFailed = c.processed.Load(), c.ok.Load(), c.errors.Load()
	st.InputTokens, st.OutputTokens = c.inputTokens.Load(), c.outputTokens.Load()
	return st
}

// Jobs returns every job, oldest first, each brought up to the clock's now.
func (s *Service) Jobs() []Job {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []Job
	for _, j := range s.all() {
		j.mu.Lock()
		s.advance(ctx, j, s.opts.now())
		d := Job{
			ID: j.id, ARN: j.arn, Name: j.spec.name, ModelID: j.spec.modelID,
			Status: j.status, Message: j.message,
			Records: int64(len(j.records)), Processed: int64(j.done), OK: j.ok, Failed: j.errs,
			Output: "s3://" + j.outBucket + "/" + j.outPrefix,
		}
		j.spec.describeAccess(&d)
		out = append(out, d)
		j.mu.Unlock()
	}
	return out
}

// of returns the counter of status, or nil for an unknown one.
func (c *StatusCounts) of(status string) *int64 {
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
