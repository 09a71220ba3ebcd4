package batchjobs

import (
	"context"
	"encoding/json"
	"math/bits"
	"sync"
	"time"
)

// Job statuses, as types.ModelInvocationJobStatus spells them.
const (
	statusSubmitted          = "Submitted"
	statusValidating         = "Validating"
	statusScheduled          = "Scheduled"
	statusInProgress         = "InProgress"
	statusCompleted          = "Completed"
	statusPartiallyCompleted = "PartiallyCompleted"
	statusFailed             = "Failed"
	statusStopping           = "Stopping"
	statusStopped            = "Stopped"
	statusExpired            = "Expired"
)

// jobSpec is what CreateModelInvocationJob asked for, comparable so that a repeated
// clientRequestToken can be checked for the same parameters.
type jobSpec struct {
	name, modelID, roleARN, invocationType string
	inURI, inFormat, inOwner               string
	outURI, outKeyID, outOwner             string
	timeoutHours                           int32
	vpc                                    string // vpcConfig as JSON, echoed by Get; "" without one
	tags                                   string // tags as JSON; "" without any
}

// job is one job. Its schedule is fixed at creation; its status catches up with the
// clock whenever it is advanced.
type job struct {
	id, arn, token string
	spec           jobSpec
	outBucket      string
	outPrefix      string // key prefix of the outputs: <output s3Uri key>/<job id>/
	files          []inputFile
	records        []record

	submitted, validateAt, scheduleAt, startAt, finishAt, expireAt time.Time
	failMsg                                                        string // why validation fails the job (FailJob, malformed lines), or ""

	mu                  sync.Mutex
	status              string
	modified            time.Time
	ended               time.Time // zero until the job is finished
	message             string
	started             bool // it was InProgress: outputs are written when it ends
	done                int  // records processed, a prefix of records
	ok, errs            int64
	inTokens, outTokens int64 // summed over the ok records, for the manifest
}

// set moves the job to status at t.
func (j *job) set(status string, t time.Time) { j.status, j.modified = status, t }

// end finishes the job at t.
func (j *job) end(status string, t time.Time, message string) {
	j.set(status, t)
	j.ended, j.message = t, message
}

func terminal(status string) bool {
	switch status {
	case statusCompleted, statusPartiallyCompleted, statusFailed, statusStopped, statusExpired:
		return true
	}
	return false
}

// processedBy is how many records the job has processed by t, counted from its start.
func (j *job) processedBy(t time.Time) int {
	switch {
	case t.Before(j.startAt):
		return 0
	case !t.Before(j.finishAt):
		return len(j.records)
	}
	// records × elapsed / processing time, in 128 bits: exact, and no overflow for a long job.
	hi, lo := bits.Mul64(uint64(len(j.records)), uint64(t.Sub(j.startAt)))
	n, _ := bits.Div64(hi, lo, uint64(j.finishAt.Sub(j.startAt))) // elapsed < processing time, so hi < divisor
	return int(n)
}

// advance brings the job's status up to now, processing its records and writing its
// outputs on the way. The caller holds j.mu. A failed output write (other than a canceled
// ctx, which leaves the job to be advanced again) fails the job, as Bedrock fails a job that
// cannot write to its output location.
func (s *Service) advance(ctx context.Context, j *job, now time.Time) {
	for {
		switch j.status {
		case statusSubmitted:
			if now.Before(j.validateAt) {
				return
			}
			j.set(statusValidating, j.validateAt)
		case statusValidating:
			if now.Before(j.scheduleAt) {
				return
			}
			if j.failMsg != "" {
				j.end(statusFailed, j.scheduleAt, j.failMsg)
				continue
			}
			j.set(statusScheduled, j.scheduleAt)
		case statusScheduled:
			if !j.startAt.Before(j.expireAt) { // it would start after its timeout
				if now.Before(j.expireAt) {
					return
				}
				j.end(statusExpired, j.expireAt, "The job timed out before it started. Submit a new job request.")
				continue
			}
			if now.Before(j.startAt) {
				return
			}
			j.set(statusInProgress, j.startAt)
			j.started = true
		case statusInProgress:
			until := now
			if j.expireAt.Before(until) {
				until = j.expireAt
			}
			s.process(j, j.processedBy(until))
			var status, message string
			var at time.Time
			switch {
			case j.done == len(j.records):
				status, at = statusCompleted, j.finishAt
				if j.errs > 0 {
					status = statusPartiallyCompleted
				}
			case !now.Before(j.expireAt):
				status, at = statusPartiallyCompleted, j.expireAt
				message = "The job timed out before every record was processed."
			default:
				return
			}
			if !s.finish(ctx, j, status, at, message) {
				return
			}
		case statusStopping:
			if !s.finish(ctx, j, statusStopped, now, "") {
				return
			}
		default:
			return
		}
	}
}

// finish writes the outputs of a job that ran, then ends it with status. It reports false
// when ctx ended first: the job is left as it was, to be finished by a later advance.
func (s *Service) finish(ctx context.Context, j *job, status string, at time.Time, message string) bool {
	if j.started {
		if err := s.writeOutputs(ctx, j); err != nil {
			if ctx.Err() != nil {
				return false
			}
			status, message = statusFailed, "Amazon Bedrock could not write the job's output: "+err.Error()
		}
	}
	j.end(status, at, message)
	return true
}

// stop asks a job to stop: a finished job is a conflict; a stopping one is left alone.
// Records already processed keep their output lines, written when the job is Stopped.
func (s *Service) stop(ctx context.Context, j *job) (conflict string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := s.opts.now()
	s.advance(ctx, j, now)
	switch {
	case terminal(j.status):
		return "The job " + j.arn + " is " + j.status + " and can no longer be stopped."
	case j.status != statusStopping:
		j.set(statusStopping, now)
	}
	return ""
}

// vpcJSON is a vpcConfig as sent, "" for none.
func vpcJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}
