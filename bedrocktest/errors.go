package bedrocktest

import (
	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"

	"net/http"
	"strconv"
)

// Error type names, as the X-Amzn-ErrorType header and the event-stream :exception-type
// (lower camel case there) carry them.
const (
	errThrottling       = "ThrottlingException"
	errValidation       = "ValidationException"
	errInternalServer   = "InternalServerException"
	errUnavailable      = "ServiceUnavailableException"
	errUnknownOperation = "UnknownOperationException"
	errResourceNotFound = "ResourceNotFoundException"
)

// Messages of the errors the emulator answers, worded like Bedrock's.
const (
	msgThrottledFault = "Too many requests, please wait before trying again. (bedrocktest: injected)"
	msgThrottledRPM   = "Too many requests, please wait before trying again. (bedrocktest: requests-per-minute quota)"
	msgThrottledTPM   = "Too many tokens, please wait before trying again. (bedrocktest: tokens-per-minute quota)"
	msgThrottledTPD   = "Too many tokens per day, please wait before trying again."
	msgInternal       = "The server encountered an internal error. (bedrocktest: injected)"
	msgUnavailable    = "The service is temporarily unable to handle the request. (bedrocktest: injected)"
	msgClosed         = "The service is shutting down. (bedrocktest: closed)"
)

// writeError answers an HTTP error the way the SDK's restJson1 deserializer expects:
// status, X-Amzn-ErrorType and a {"message":...} body.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	buf := getBuf()
	defer putBuf(buf)
	b := append((*buf)[:0], `{"message":`...)
	b = jsonenc.AppendString(b, message)
	b = append(b, '}')
	*buf = b
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Amzn-Errortype"] = []string{errorType}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

var jsonContentType = []string{"application/json"}

// refusals are the answers of Options.Refuse: the status and message Bedrock gives each.
var refusals = map[string]struct {
	status  int
	message string
}{
	"AccessDeniedException":       {http.StatusForbidden, "You don't have access to the model with the specified model ID."},
	"UnrecognizedClientException": {http.StatusForbidden, "The security token included in the request is invalid."},
	"ExpiredTokenException":       {http.StatusForbidden, "The security token included in the request is expired"},
	"ResourceNotFoundException":   {http.StatusNotFound, "The provided model identifier is invalid."},
}

// refuse answers a call with Options.Refuse.
func refuse(w http.ResponseWriter, name string) {
	r, ok := refusals[name]
	if !ok {
		r.status, r.message = http.StatusForbidden, "refused (bedrocktest: Options.Refuse)"
	}
	writeError(w, r.status, name, r.message+" (bedrocktest: Options.Refuse)")
}
