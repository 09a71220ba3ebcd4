package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// ErrorTypeInvalidRecord is the error_type of a row whose input record could
// not be used.
const ErrorTypeInvalidRecord = "InvalidRecord"

// process turns one record into its row, calling the model as often as the
// retry policy allows. It returns nil when the call was abandoned because the
// run is stopping: that record gets no row and a resumed run sends it again.
func (r *Run) process(ctx context.Context, stop <-chan struct{}, rec *reader.Record) *writer.Row {
	req := r.request(rec)
	row := &writer.Row{ID: rec.ID, ModelID: req.ModelID, Metadata: rec.Metadata}
	if rec.Err != nil {
		return failed(row, ErrorTypeInvalidRecord, rec.Err.Error())
	}
	for attempt := 1; ; attempt++ {
		if r.opts.Pacer != nil {
			if err := r.opts.Pacer.Wait(ctx); err != nil {
				return nil
			}
		}
		resp, elapsed, err := r.attempt(ctx, req)
		row.Attempts = int64(attempt)
		r.stats.attempts.Add(1)
		if err == nil {
			return succeeded(row, resp, elapsed)
		}
		if ctx.Err() != nil {
			return nil
		}
		callErr := bedrock.Classify(err)
		if callErr.Class == bedrock.Throttled {
			r.stats.throttled.Add(1)
		}
		retryable := callErr.Class == bedrock.Throttled || callErr.Class == bedrock.Retryable
		if !retryable || attempt >= r.opts.Retry.MaxAttempts {
			return failed(row, callErr.Type, callErr.Message)
		}
		r.stats.retries.Add(1)
		if !sleep(ctx, stop, r.opts.Retry.delay(attempt)) {
			return nil
		}
	}
}

func (r *Run) attempt(ctx context.Context, req *bedrock.Request) (bedrock.Response, time.Duration, error) {
	callCtx, cancel := context.WithTimeout(ctx, r.opts.Retry.AttemptTimeout)
	defer cancel()
	start := time.Now()
	resp, err := r.model.Converse(callCtx, req)
	elapsed := time.Since(start)
	if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		// The attempt's own deadline, not the run's: a timeout to retry.
		err = &bedrock.Error{Class: bedrock.Retryable, Type: bedrock.TypeRequestTimeout,
			Message: "no answer within " + r.opts.Retry.AttemptTimeout.String(), Err: err}
	}
	return resp, elapsed, err
}

// request builds the Converse request for a record: the record's own system
// prompt wins over the job's.
func (r *Run) request(rec *reader.Record) *bedrock.Request {
	req := &bedrock.Request{
		ModelID:   r.opts.Defaults.ModelID,
		System:    r.opts.Defaults.System,
		Inference: r.opts.Defaults.Inference,
		Messages:  make([]bedrock.Message, len(rec.Messages)),
	}
	if rec.System != "" {
		req.System = rec.System
	}
	for i, m := range rec.Messages {
		req.Messages[i] = bedrock.Message{Role: m.Role, Text: m.Text}
	}
	return req
}

func succeeded(row *writer.Row, resp bedrock.Response, elapsed time.Duration) *writer.Row {
	row.Status = writer.StatusOK
	row.Output = resp.Text
	row.StopReason = resp.StopReason
	row.InputTokens = resp.Usage.InputTokens
	row.OutputTokens = resp.Usage.OutputTokens
	row.TotalTokens = resp.Usage.TotalTokens
	row.CacheReadInputTokens = resp.Usage.CacheReadInputTokens
	row.CacheWriteInputTokens = resp.Usage.CacheWriteInputTokens
	row.LatencyMs = elapsed.Milliseconds()
	return row
}

func failed(row *writer.Row, errorType, message string) *writer.Row {
	row.Status = writer.StatusError
	row.ErrorType = errorType
	row.ErrorMessage = message
	return row
}

// sleep waits for d; it returns false when the run stops or is cancelled
// first, because a record waiting to retry is not in flight.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-ctx.Done():
		return false
	}
}
