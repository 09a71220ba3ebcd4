package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Error types of rows the tool fails itself.
const (
	// ErrorTypeInvalidRecord is the error_type of a row whose input record
	// could not be used.
	ErrorTypeInvalidRecord = "InvalidRecord"
	// ErrorTypeRequestTooLarge is the error_type of a row whose call would
	// reserve more tokens than the whole tokens-per-minute quota.
	ErrorTypeRequestTooLarge = "RequestTooLarge"
)

// FatalError stops a run: a call failed in a way every other call would
// too (access denied, unknown model, bad credentials), so going on would
// only write error rows. The record that met it gets no row.
type FatalError struct {
	RecordID string
	Err      *bedrock.Error
}

func (e *FatalError) Error() string {
	return fmt.Sprintf("stopping the run: %s: %s (record %s; every other call would fail the same way)", e.Err.Type, e.Err.Message, e.RecordID)
}

func (e *FatalError) Unwrap() error { return e.Err }

// process turns one record into its row, calling the model as often as the
// retry policy allows. It returns a nil row when the call was abandoned
// because the run is stopping: that record gets no row and a resumed run
// sends it again.
func (r *Run) process(ctx context.Context, stop <-chan struct{}, rec *reader.Record) (*writer.Row, error) {
	req := r.request(rec)
	row := &writer.Row{ID: rec.ID, ModelID: req.ModelID, Metadata: rec.Metadata}
	if rec.Err != nil {
		errorType := ErrorTypeInvalidRecord
		var typed interface{ ErrorType() string }
		if errors.As(rec.Err, &typed) {
			errorType = typed.ErrorType()
		}
		return failed(row, errorType, rec.Err.Error()), nil
	}
	reservation := r.reservation(req)
	for attempt := 1; ; attempt++ {
		ticket, err := r.admit(ctx, reservation)
		if errors.Is(err, ratelimit.ErrTooLarge) {
			return failed(row, ErrorTypeRequestTooLarge, err.Error()), nil
		}
		if err != nil {
			return nil, nil
		}
		resp, elapsed, err := r.attempt(ctx, req)
		row.Attempts = int64(attempt)
		r.stats.attempts.Add(1)
		if err == nil {
			ticket.Done(resp.Usage.InputTokens + resp.Usage.CacheWriteInputTokens + resp.Usage.OutputTokens)
			r.stats.latency.add(elapsed)
			return succeeded(row, resp, elapsed), nil
		}
		callErr := bedrock.Classify(err)
		if callErr.Class == bedrock.Throttled {
			ticket.Throttled()
			r.stats.throttled.Add(1)
		} else {
			ticket.Failed()
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		switch {
		case callErr.Class == bedrock.Fatal:
			return nil, &FatalError{RecordID: rec.ID, Err: callErr}
		case callErr.Class == bedrock.BadRecord || attempt >= r.opts.Retry.MaxAttempts:
			return failed(row, callErr.Type, callErr.Message), nil
		}
		r.stats.retries.Add(1)
		if !sleep(ctx, stop, r.opts.Retry.delay(attempt)) {
			return nil, nil
		}
	}
}

// admit waits for the limiter, when there is one.
func (r *Run) admit(ctx context.Context, tokens int64) (Ticket, error) {
	if r.opts.Limiter == nil {
		return noTicket{}, nil
	}
	return r.opts.Limiter.Wait(ctx, tokens)
}

// noTicket settles calls of a run without a limiter.
type noTicket struct{}

func (noTicket) Done(int64) {}
func (noTicket) Throttled() {}
func (noTicket) Failed()    {}

// reservation is what a call reserves against the tokens-per-minute quota,
// as Bedrock does: the input estimate plus the output it may produce.
func (r *Run) reservation(req *bedrock.Request) int64 {
	output := r.opts.OutputReservation
	if req.Inference.MaxTokens != nil {
		output = int64(*req.Inference.MaxTokens)
	}
	return EstimateInputTokens(req) + output
}

// EstimateInputTokens estimates a request's input tokens at four bytes a
// token, which over-counts English prose a little: a reservation that is
// too large is given back when the call settles, one too small is not
// noticed until Bedrock throttles.
func EstimateInputTokens(req *bedrock.Request) int64 {
	bytes := len(req.System)
	for _, m := range req.Messages {
		for _, b := range m.Content {
			bytes += len(b.Text)
		}
	}
	return int64(bytes+3) / 4
}

// Request builds the request a record would be sent as, without sending it.
func (r *Run) Request(rec *reader.Record) *bedrock.Request { return r.request(rec) }

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
		content := make([]bedrock.Block, len(m.Content))
		for j, c := range m.Content {
			content[j] = bedrock.Block{Text: c.Text, CachePoint: c.CachePoint}
		}
		req.Messages[i] = bedrock.Message{Role: m.Role, Content: content}
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
