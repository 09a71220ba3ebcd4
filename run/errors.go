package run

import (
	"errors"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// SetupError is a failure no retry of the same command fixes: options that
// do not go together, missing inputs, an output that cannot be written,
// missing credentials or region, denied permissions, a model the account
// cannot call. The command exits 2 for it, so a scheduler does not retry.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// setup marks err as a SetupError, unless it says that storage did not
// answer (that may pass: exit 1, to be retried); nil stays nil.
func setup(err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	var s *SetupError
	if errors.As(err, &s) {
		return err
	}
	return &SetupError{Err: err}
}

// IsSetup reports whether err is a SetupError.
func IsSetup(err error) bool {
	var s *SetupError
	return errors.As(err, &s)
}
