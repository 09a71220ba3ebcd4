package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Class is what the rest of the program does about a failed call. Every
// failure is put in exactly one class here, where it enters the program.
type Class int

const (
	// Retryable failures (5xx, model not ready, timeouts, broken connections)
	// may succeed when the same call is made again.
	Retryable Class = iota + 1
	// Throttled failures mean the quota was exceeded: retry, and slow down.
	Throttled
	// BadRecord failures are the record's own fault (ValidationException):
	// the same call would fail again, but other records may succeed.
	BadRecord
	// Fatal failures are the run's fault (access denied, unknown model,
	// bad credentials): every other call would fail the same way.
	Fatal
	// DailyQuota failures mean the model's tokens-per-day quota is spent:
	// retrying within the day cannot succeed, so the model's records wait
	// for a later run.
	DailyQuota
)

// dailyQuotaMessage is how Bedrock's ThrottlingException says the day's
// token quota is spent (the only thing that tells it from a per-minute
// throttle).
const dailyQuotaMessage = "tokens per day"

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Throttled:
		return "throttled"
	case BadRecord:
		return "bad record"
	case Fatal:
		return "fatal"
	case DailyQuota:
		return "daily quota"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is a classified call failure.
type Error struct {
	Class   Class
	Type    string // Bedrock's exception name, or the tool's own (ConnectionError, RequestTimeout)
	Message string
	Err     error
	// Local is set when the tool refused the request before any call,
	// because Bedrock would have: a fault of that record alone.
	Local bool
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Unwrap returns the SDK's error.
func (e *Error) Unwrap() error { return e.Err }

// Error types the tool names itself, for failures that carry no Bedrock
// exception name.
const (
	TypeConnectionError = "ConnectionError"
	TypeRequestTimeout  = "RequestTimeout"
	TypeIncompleteReply = "IncompleteResponse"
	TypeClientError     = "ClientError"
	// TypeCredentialsError is a call that could not be signed: the AWS
	// credential chain found no credentials.
	TypeCredentialsError = "CredentialsError"
	// TypeInvalidToolInput is a call whose forced tool call came back with
	// an input that is not JSON: a broken answer, retried like a broken
	// connection.
	TypeInvalidToolInput = "InvalidToolInput"
	// TypeInvalidContent is an image or document Bedrock would reject (its
	// format, size, count, name or source), refused before the call as a
	// BadRecord.
	TypeInvalidContent = "InvalidContent"
	// TypeInvalidRequest is any other part of a request Bedrock would
	// reject (a role, an empty block, a tool, a guardrail, an option value,
	// JSON that does not parse), refused before the call as a BadRecord.
	TypeInvalidRequest = "InvalidRequest"
)

// byName maps Bedrock's exception names to a class. Names not here are
// classified by HTTP status.
var byName = map[string]Class{
	"ThrottlingException":           Throttled,
	"ServiceQuotaExceededException": Throttled,
	"TooManyRequestsException":      Throttled,
	"InternalServerException":       Retryable,
	"ServiceUnavailableException":   Retryable,
	"ModelNotReadyException":        Retryable,
	"ModelTimeoutException":         Retryable,
	"ModelErrorException":           Retryable,
	"ModelStreamErrorException":     Retryable,
	"ValidationException":           BadRecord,
	"AccessDeniedException":         Fatal,
	"ResourceNotFoundException":     Fatal,
	"UnrecognizedClientException":   Fatal,
	"ExpiredTokenException":         Fatal,
	"InvalidSignatureException":     Fatal,
	"IncompleteSignature":           Fatal,
	"MissingAuthenticationToken":    Fatal,
}

// Classify turns any error from a call into an *Error. It is called once, by
// the Model, on every failure; callers only look at the class.
func Classify(err error) *Error {
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		name := apiErr.ErrorCode()
		class, known := byName[name]
		if !known {
			class = classByStatus(err)
		}
		if class == Throttled && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), dailyQuotaMessage) {
			class = DailyQuota
		}
		return &Error{Class: class, Type: name, Message: apiErr.ErrorMessage(), Err: err}
	}
	var credsErr *CredentialsError
	if errors.As(err, &credsErr) {
		return &Error{Class: Fatal, Type: TypeCredentialsError, Message: credsErr.Error(), Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		// The endpoint's host does not exist: a typo, not an outage.
		return &Error{Class: Fatal, Type: TypeConnectionError, Message: "endpoint host not found: " + dnsErr.Error(), Err: err}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Class: Retryable, Type: TypeRequestTimeout, Message: "no answer before the per-attempt timeout", Err: err}
	case isConnectionError(err):
		return &Error{Class: Retryable, Type: TypeConnectionError, Message: RootMessage(err), Err: err}
	}
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return &Error{Class: BadRecord, Type: "InvalidParameter", Message: invalid.Error(), Err: err}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		// An answer that is not Bedrock's (an HTML page from a proxy).
		return &Error{Class: classByStatus(err), Type: fmt.Sprintf("HTTP%d", respErr.HTTPStatusCode()), Message: RootMessage(err), Err: err}
	}
	// Missing region or credentials: no call of this run can succeed.
	var regionErr *aws.MissingRegionError
	var signErr *v4.SigningError
	var endpointErr *aws.EndpointNotFoundError
	if errors.As(err, &regionErr) || errors.As(err, &signErr) || errors.As(err, &endpointErr) {
		return &Error{Class: Fatal, Type: TypeClientError, Message: RootMessage(err), Err: err}
	}
	return &Error{Class: Retryable, Type: TypeClientError, Message: RootMessage(err), Err: err}
}

func classByStatus(err error) Class {
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) {
		return Retryable
	}
	switch status := respErr.HTTPStatusCode(); {
	case status == 429:
		return Throttled
	case status == 401 || status == 403:
		return Fatal
	case status >= 500 || status == 408:
		return Retryable
	case status >= 400:
		return BadRecord
	}
	return Retryable
}

func isConnectionError(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE)
}

// RootMessage is the innermost error's text: the SDK's outer layers repeat
// the operation name and request id, which say nothing to a user.
func RootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

var _ error = (*Error)(nil)

// setupHints say what to fix for the failures no call of a run gets past.
var setupHints = map[string]string{
	"AccessDeniedException":       "the credentials may not call this model here: give the role bedrock:InvokeModel on it, and check that model access is granted in this region",
	"ResourceNotFoundException":   "there is no such model in this region: check --model and --region (a cross-Region inference profile id starts with us., eu., apac. or global.)",
	"UnrecognizedClientException": "the credentials are not valid here: check AWS_PROFILE or the access keys, and the region",
	"InvalidSignatureException":   "the credentials are not valid here: check AWS_PROFILE or the access keys, and the region",
	"ExpiredTokenException":       "the session token has expired: refresh the credentials (aws sso login, or a new role session)",
	TypeCredentialsError:          "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached",
}

// SetupHint says what to fix after a Fatal failure of this type, "" when
// there is nothing to add.
func SetupHint(errorType string) string { return setupHints[errorType] }
