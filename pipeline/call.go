package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
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
	msg := fmt.Sprintf("stopping the run: %s: %s (record %s; every other call would fail the same way)", e.Err.Type, e.Err.Message, e.RecordID)
	if hint := bedrock.SetupHint(e.Err.Type); hint != "" {
		msg += ": " + hint
	}
	return msg
}

func (e *FatalError) Unwrap() error { return e.Err }

// UnreachableError stops a run that never reached Bedrock: every attempt
// of a record failed to connect, and no call of the run has been answered.
// It may pass (an outage), unlike a FatalError; the record gets no row.
type UnreachableError struct {
	RecordID string
	Attempts int
	Err      *bedrock.Error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("stopping the run: Bedrock could not be reached: %d attempts of record %s failed (%s) and no call of this run was answered; check --bedrock-endpoint, the region and the network",
		e.Attempts, e.RecordID, e.Err.Message)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// process turns one record into its row, calling the model as often as the
// retry policy allows. It returns a nil row when the call was abandoned
// because the run is stopping: that record gets no row and a resumed run
// sends it again.
func (r *Run) process(ctx context.Context, stop <-chan struct{}, rec *reader.Record) (*writer.Row, error) {
	row := &writer.Row{ID: rec.ID, ModelID: rec.ModelID, Metadata: rec.Metadata, Route: writer.RouteOnDemand}
	if rec.Err != nil {
		if r.opts.EchoModelInput && rec.Style == reader.StyleBedrockBatch {
			row.ModelInput = rec.Raw
		}
		return failed(row, errorTypeOf(rec.Err, ErrorTypeInvalidRecord), rec.Err.Error()), nil
	}
	req, err := r.opts.Requests.Build(ctx, rec)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return failed(row, errorTypeOf(err, ErrorTypeInvalidRecord), err.Error()), nil
	}
	row.ModelID = req.ModelID
	if r.opts.EchoModelInput {
		row.ModelInput = modelInputOf(rec, req)
	}
	reservation := r.reservation(ctx, req)
	wrongAnswers := 0
	var wrongUsage bedrock.Usage // paid for by answers that did not match
	for attempt := 1; ; attempt++ {
		ticket, err := r.admit(ctx, req.ModelID, reservation)
		switch {
		case errors.Is(err, ratelimit.ErrTooLarge):
			return failed(row, ErrorTypeRequestTooLarge, err.Error()), nil
		case errors.Is(err, ratelimit.ErrDailyBudget), errors.Is(err, ratelimit.ErrDailyQuotaExhausted):
			// Not a failure of the record: it waits for tomorrow's quota,
			// with no row, and a re-run sends it.
			r.stats.deferByQuota(req.ModelID, err)
			return nil, nil
		case err != nil:
			return nil, nil
		}
		if !r.output.wait(ctx, stop) {
			// The run stopped, or its output stopped taking rows, while the
			// call waited: it never starts, and a resumed run sends it.
			ticket.Failed()
			return nil, nil
		}
		resp, elapsed, err := r.attempt(ctx, req)
		row.Attempts = int64(attempt)
		r.stats.attempts.Add(1)
		if err == nil {
			r.stats.answered.Store(true)
			r.systematic.succeeded(req.ModelID)
			ticket.Done(ratelimit.Usage{InputTokens: resp.Usage.InputTokens, CacheReadInputTokens: resp.Usage.CacheReadInputTokens,
				CacheWriteInputTokens: resp.Usage.CacheWriteInputTokens, OutputTokens: resp.Usage.OutputTokens})
			r.stats.latency.add(elapsed)
			mismatch := r.checkSchema(req, &resp)
			resp.Usage = addUsage(resp.Usage, wrongUsage)
			if mismatch == nil {
				return succeeded(row, resp, elapsed), nil
			}
			// A wrong answer was still an answer: it is paid for, so its
			// tokens stay in the row, and asked for again only a few times.
			wrongUsage = resp.Usage
			if wrongAnswers++; wrongAnswers >= r.opts.SchemaAttempts {
				setUsage(row, resp.Usage)
				return failed(row, ErrorTypeSchemaMismatch, fmt.Sprintf("no answer matched the JSON Schema in %d attempts; the last: %v", wrongAnswers, mismatch)), nil
			}
			r.stats.retries.Add(1)
			continue
		}
		callErr := bedrock.Classify(err)
		switch callErr.Class {
		case bedrock.Throttled:
			ticket.Throttled()
			r.stats.throttled.Add(1)
		case bedrock.DailyQuota:
			ticket.DailyQuotaExhausted()
			r.stats.deferByQuota(req.ModelID, callErr)
			return nil, nil
		default:
			ticket.Failed()
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		switch {
		case callErr.Class == bedrock.Fatal:
			return nil, &FatalError{RecordID: rec.ID, Err: callErr}
		case callErr.Class == bedrock.BadRecord:
			// Only Bedrock's own answers say something of the model or the
			// options; a request refused before the call is its record's.
			if !callErr.Local {
				if stop := r.systematic.failed(req.ModelID, callErr); stop != nil {
					return nil, stop
				}
			}
			return failed(row, callErr.Type, callErr.Message), nil
		case attempt >= r.opts.Retry.MaxAttempts && callErr.Type == bedrock.TypeConnectionError && !r.stats.answered.Load():
			// Bedrock never answered this run: an endpoint that cannot be
			// reached is no record's fault, so none gets an error row.
			return nil, &UnreachableError{RecordID: rec.ID, Attempts: attempt, Err: callErr}
		case attempt >= r.opts.Retry.MaxAttempts:
			return failed(row, callErr.Type, callErr.Message), nil
		}
		r.stats.retries.Add(1)
		if !sleep(ctx, stop, r.opts.Retry.delay(attempt)) {
			return nil, nil
		}
	}
}

// modelInputOf is what a row echoes as modelInput: a Bedrock batch record's
// own modelInput as given, else the request in that shape.
func modelInputOf(rec *reader.Record, req *bedrock.Request) json.RawMessage {
	if rec.Style == reader.StyleBedrockBatch && len(rec.Raw) > 0 {
		return rec.Raw
	}
	in, err := request.ModelInput(req)
	if err != nil {
		return nil
	}
	return in
}

// ErrorTypeSchemaMismatch is the error_type of a row whose structured
// outputs never matched the JSON Schema.
const ErrorTypeSchemaMismatch = "SchemaMismatch"

// checkSchema checks the structured output of a call that forced a tool.
func (r *Run) checkSchema(req *bedrock.Request, resp *bedrock.Response) error {
	if req.Tool == nil || r.opts.Schema == nil {
		return nil
	}
	return r.opts.Schema.Validate(resp.ToolInput)
}

// errorTypeOf is the error_type an error names itself, or fallback.
func errorTypeOf(err error, fallback string) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		return typed.ErrorType()
	}
	return fallback
}

// admit waits for the model's quota, when there is a limiter.
func (r *Run) admit(ctx context.Context, model string, res ratelimit.Reservation) (Ticket, error) {
	if r.opts.Limiter == nil {
		return noTicket{}, nil
	}
	r.stats.waitingForQuota.Add(1)
	defer r.stats.waitingForQuota.Add(-1)
	return r.opts.Limiter.Wait(ctx, model, res)
}

// noTicket settles calls of a run without a limiter.
type noTicket struct{}

func (noTicket) Done(ratelimit.Usage) {}
func (noTicket) Throttled()           {}
func (noTicket) Failed()              {}
func (noTicket) DailyQuotaExhausted() {}

// reservation is what a call reserves against its model's quota, as
// Bedrock does: the input (estimated, corrected by what the model's calls
// have shown) and the maxTokens sent; with none sent, the limiter reserves
// the model's maximum output, as Bedrock does.
func (r *Run) reservation(ctx context.Context, req *bedrock.Request) ratelimit.Reservation {
	res := ratelimit.Reservation{InputTokens: EstimateInputTokens(req)}
	if exact, ok := r.countInput(ctx, req); ok {
		res.InputTokens = exact
	} else if r.opts.Limiter != nil {
		res.InputTokens = r.opts.Limiter.EstimateInput(req.ModelID, res.InputTokens)
	}
	if req.Inference.MaxTokens != nil {
		res.MaxTokens = int64(*req.Inference.MaxTokens)
	}
	return res
}

// countInput counts a request's input tokens with the Counter, unless
// there is none or it already failed for the model (CountTokens serves
// Claude models; others get the estimate).
func (r *Run) countInput(ctx context.Context, req *bedrock.Request) (int64, bool) {
	if r.opts.Counter == nil {
		return 0, false
	}
	if _, off := r.uncountable.Load(req.ModelID); off {
		return 0, false
	}
	n, err := r.opts.Counter.CountTokens(ctx, req)
	if err != nil {
		if ctx.Err() == nil {
			r.uncountable.Store(req.ModelID, err)
		}
		return 0, false
	}
	return n, true
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
			bytes += mediaBytes(b.Image) + mediaBytes(b.Document)
		}
	}
	return int64(bytes+3) / 4
}

// mediaBytes is what a document or an image adds to the input estimate:
// its size, an over-estimate for images (Bedrock counts their pixels).
func mediaBytes(m *bedrock.Media) int {
	if m == nil {
		return 0
	}
	return len(m.Bytes)
}

// Request builds the request a record would be sent as, without sending it.
func (r *Run) Request(ctx context.Context, rec *reader.Record) (*bedrock.Request, error) {
	return r.opts.Requests.Build(ctx, rec)
}

func (r *Run) attempt(ctx context.Context, req *bedrock.Request) (bedrock.Response, time.Duration, error) {
	select {
	case r.calls <- struct{}{}:
	case <-ctx.Done():
		return bedrock.Response{}, 0, ctx.Err()
	}
	defer func() { <-r.calls }()
	r.stats.inFlight.Add(1)
	defer r.stats.inFlight.Add(-1)
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

func succeeded(row *writer.Row, resp bedrock.Response, elapsed time.Duration) *writer.Row {
	row.Status = writer.StatusOK
	row.Output = resp.Text
	if len(resp.ToolInput) > 0 {
		row.Output = string(resp.ToolInput)
		row.OutputJSON = resp.ToolInput
	}
	row.TimeToFirstTokenMs = resp.TimeToFirstTokenMs
	row.ServiceTier = resp.ServiceTier
	row.StopReason = resp.StopReason
	setUsage(row, resp.Usage)
	row.LatencyMs = elapsed.Milliseconds()
	return row
}

func setUsage(row *writer.Row, u bedrock.Usage) {
	row.InputTokens = u.InputTokens
	row.OutputTokens = u.OutputTokens
	row.TotalTokens = u.TotalTokens
	row.CacheReadInputTokens = u.CacheReadInputTokens
	row.CacheWriteInputTokens = u.CacheWriteInputTokens
}

func addUsage(a, b bedrock.Usage) bedrock.Usage {
	return bedrock.Usage{
		InputTokens:           a.InputTokens + b.InputTokens,
		OutputTokens:          a.OutputTokens + b.OutputTokens,
		TotalTokens:           a.TotalTokens + b.TotalTokens,
		CacheReadInputTokens:  a.CacheReadInputTokens + b.CacheReadInputTokens,
		CacheWriteInputTokens: a.CacheWriteInputTokens + b.CacheWriteInputTokens,
	}
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
