package bedrocktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// InvalidMarker makes a request fail validation: any request with a system or message text
// containing it is answered 400 ValidationException.
const InvalidMarker = "[[invalid]]"

// DefaultMaxTokens is what the TPM quota reserves for a request that sends no maxTokens.
const DefaultMaxTokens = 4096

// DefaultQuotaBurst is the QuotaBurst used when Options.QuotaBurst is zero or negative.
const DefaultQuotaBurst = 5 * time.Second

// Options configures an emulator. The zero value answers every valid call at once.
type Options struct {
	// Latency is added to every admitted call before it answers (0 = answer at once).
	// The wait ends early when the client gives up or the emulator is closed.
	Latency time.Duration

	// RequestsPerMinute is a server-side quota (0 = none). A call beyond it is answered
	// 429 ThrottlingException.
	RequestsPerMinute int

	// TokensPerMinute is a server-side quota (0 = none). Admission reserves
	// inputTokens + maxTokens (DefaultMaxTokens when the request sends none); when the call
	// ends the reservation is settled to inputTokens + the output tokens sent.
	TokensPerMinute int

	// QuotaBurst is how much of a minute's quota may be used at once: each bucket holds
	// quota*QuotaBurst/time.Minute, at least one request for RPM. A token reservation larger
	// than the TPM bucket is admitted when the bucket is full and leaves it in debt, so every
	// call can eventually run. Buckets start full and refill continuously at quota/60 per
	// second. Zero or negative means DefaultQuotaBurst.
	QuotaBurst time.Duration

	// Faults injects failures at random.
	Faults Faults

	// Seed seeds the fault dice, so a run with the same calls in the same order injects the
	// same faults.
	Seed int64

	// Observe, if set, is called with what the server decoded for every Converse or
	// ConverseStream request, before validation, faults and quota, from the handler
	// goroutine. It must be cheap and safe for concurrent use.
	Observe func(ObservedRequest)

	// Models, when not empty, are the only model ids served; a call to any
	// other gets 404 ResourceNotFoundException, as Bedrock answers an
	// unknown or unavailable model.
	Models []string
}

// String prints the configuration, for logs.
func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "latency=%s rpm=%d tpm=%d burst=%s seed=%d", o.Latency, o.RequestsPerMinute,
		o.TokensPerMinute, o.burst(), o.Seed)
	if o.Faults != (Faults{}) {
		fmt.Fprintf(&b, " faults={%s}", o.Faults)
	}
	return b.String()
}

func (o Options) burst() time.Duration {
	if o.QuotaBurst <= 0 {
		return DefaultQuotaBurst
	}
	return o.QuotaBurst
}

// Faults are probabilities in [0,1], per call, of injected failures. The dice are rolled in
// field order and the first that fires decides the call's fault.
type Faults struct {
	Throttle           float64 // 429 ThrottlingException
	InternalError      float64 // 500 InternalServerException
	Unavailable        float64 // 503 ServiceUnavailableException
	Reset              float64 // the TCP connection is reset with no response
	Hang               float64 // no answer until the client gives up or the emulator closes
	MidStreamException float64 // ConverseStream only: after the first delta, an exception event (throttlingException and internalServerException in turn)
	StreamCut          float64 // ConverseStream only: after the first delta, the connection is closed with no messageStop or metadata
}

// String prints the non-zero probabilities.
func (f Faults) String() string {
	var parts []string
	for _, p := range f.list() {
		if p.p != 0 {
			parts = append(parts, fmt.Sprintf("%s=%g", p.name, p.p))
		}
	}
	return strings.Join(parts, " ")
}

// ObservedRequest is what the server decoded from one request, for tests to check the fields
// a client actually sent.
type ObservedRequest struct {
	ModelID                      string // path-unescaped
	Stream                       bool   // ConverseStream rather than Converse
	System                       []string
	Messages                     []ObservedMessage
	MaxTokens                    *int32
	Temperature                  *float32
	TopP                         *float32
	StopSequences                []string
	AdditionalModelRequestFields json.RawMessage
	Raw                          []byte // the body as received (a copy the callee may keep)
	DecodeError                  error  // why Raw is not a valid request body, if it is not
}

// ObservedMessage is one decoded message: its role and the text of its text blocks.
type ObservedMessage struct {
	Role string
	Text []string
}
