package pipeline

import (
	"fmt"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// SystematicError stops a run: calls to one model kept failing with the
// same error that no retry and no other record can fix (a base model id
// that needs an inference profile, two parameters the model will not take
// together, maxTokens above its limit). Going on would write the same
// error row for every remaining record.
type SystematicError struct {
	Model string
	Calls int // identical failures in a row
	Err   *bedrock.Error
}

func (e *SystematicError) Error() string {
	return fmt.Sprintf("stopping the run: the last %d calls to %s all failed with %s: %s "+
		"(fix the options and run the same command with --retry-errors to redo the records that got this error row)",
		e.Calls, e.Model, e.Err.Type, e.Err.Message)
}

func (e *SystematicError) Unwrap() error { return e.Err }

// systematic counts, per model, the calls in a row that failed with one
// and the same non-retryable error.
type systematic struct {
	limit int // calls in a row that stop the run; <= 0 never
	mu    sync.Mutex
	runs  map[string]*failureRun
}

type failureRun struct {
	errorType, message string
	count              int
}

// succeeded breaks the model's run of failures.
func (s *systematic) succeeded(model string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.runs, model)
}

// failed counts a failure; it returns the error that stops the run once
// limit identical ones came in a row.
func (s *systematic) failed(model string, err *bedrock.Error) *SystematicError {
	if s.limit <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runs == nil {
		s.runs = make(map[string]*failureRun)
	}
	run := s.runs[model]
	if run == nil || run.errorType != err.Type || run.message != err.Message {
		run = &failureRun{errorType: err.Type, message: err.Message}
		s.runs[model] = run
	}
	if run.count++; run.count >= s.limit {
		return &SystematicError{Model: model, Calls: run.count, Err: err}
	}
	return nil
}
