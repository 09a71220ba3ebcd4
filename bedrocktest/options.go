package bedrocktest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// InvalidMarker makes a request fail validation: any request with a system or message text
// containing it is answered 400 ValidationException.
const InvalidMarker = "[[invalid]]"

// DefaultMaxTokens is what the TPM and TPD quotas reserve for a request that sends no
// maxTokens, when Options.DefaultMaxTokens is zero.
const DefaultMaxTokens = 4096

// DefaultQuotaBurst is the QuotaBurst used when Options.QuotaBurst is zero or negative: two
// seconds of a minute's quota. AWS documents quotas per minute, not how a burst within the
// minute is allowed; a small bucket is the stricter reading (a client that keeps to it keeps to
// any larger one), and QuotaBurst of a minute is the per-minute window reading.
const DefaultQuotaBurst = 2 * time.Second

// GuardrailMarker makes a guardrail intervene: a request with a guardrailConfig and any system
// or message text containing it is answered with stopReason guardrail_intervened and
// GuardrailBlockedMessage instead of the model's answer.
const GuardrailMarker = "[[blocked]]"

// GuardrailBlockedMessage is the text of a guardrail intervention: the default blocked-input
// message of a guardrail made in the Bedrock console.
const GuardrailBlockedMessage = "Sorry, the model cannot answer this question."

// DefaultCacheTTL is the prompt-cache lifetime when Options.CacheTTL is zero: Bedrock's 5
// minutes, refreshed on every hit.
const DefaultCacheTTL = 5 * time.Minute

// DefaultCacheMinTokens is the smallest cacheable prefix when Options.CacheMinTokens is zero:
// Claude Sonnet's 1,024 tokens.
const DefaultCacheMinTokens = 1024

// Options configures an emulator. The zero value answers every valid call at once.
type Options struct {
	// Latency is added to every admitted call before it answers (0 = answer at once).
	// The wait ends early when the client gives up or the emulator is closed.
	Latency time.Duration

	// RequestsPerMinute is a server-side quota (0 = none) for every model without an entry in
	// ModelQuotas. Each model id has its own buckets. A call beyond it is answered 429
	// ThrottlingException.
	RequestsPerMinute int

	// TokensPerMinute is a server-side quota (0 = none) for every model without an entry in
	// ModelQuotas, per model id. Admission reserves inputTokens + cacheReadInputTokens +
	// cacheWriteInputTokens + maxTokens (DefaultMaxTokens when the request sends none); when
	// the call ends the reservation is settled to inputTokens + cacheWriteInputTokens + the
	// output tokens sent × Burndown, as Bedrock counts them.
	TokensPerMinute int

	// TokensPerDay is a server-side daily quota (0 = none) for every model without an entry
	// in ModelQuotas, per model id. The day's use is the settled quota tokens (with burndown)
	// plus the reservations of calls in flight; a call whose reservation does not fit is
	// answered 429 ThrottlingException "Too many tokens per day, please wait before trying
	// again." until the day ends (DayLength, or Handler.ResetDay).
	TokensPerDay int

	// ModelQuotas gives a model id (exactly as called, after path unescaping) its own quotas
	// instead of RequestsPerMinute, TokensPerMinute and TokensPerDay. A zero field is no quota.
	ModelQuotas map[string]Quota

	// DefaultMaxTokens is what admission reserves for a request that sends no maxTokens
	// (0 = the DefaultMaxTokens constant).
	DefaultMaxTokens int

	// Burndown returns how many quota tokens one output token of modelID costs (nil = 1 for
	// every model). Bedrock burns 5 for Claude 3.7 Sonnet and the Claude 4 family: pass
	// ClaudeBurndown. It changes quota accounting only, never the usage a call reports.
	Burndown func(modelID string) float64

	// DayLength is how often the TokensPerDay count starts again, from NewHandler (0 = 24h).
	DayLength time.Duration

	// QuotaBurst is how much of a minute's quota may be used at once: each bucket holds
	// quota*QuotaBurst/time.Minute, at least one request for RPM. A token reservation larger
	// than the TPM bucket is admitted when the bucket is full and leaves it in debt, so every
	// call within a minute's quota can eventually run, as AWS's quotas allow one call to use a
	// whole minute's tokens; any other call is admitted only when the bucket holds it. Buckets start full and refill continuously at quota/60 per
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

	// Lifecycles gives models (by id, or by the base model id of an inference profile) a
	// lifecycle other than Active, for GetFoundationModel; a model past its EndOfLife
	// answers every call 404 ResourceNotFoundException, as Bedrock answers a retired model.
	Lifecycles map[string]Lifecycle

	// Refuse, when set, is the exception every model call is answered with, before anything
	// else is looked at: "AccessDeniedException" (403: the account may not call the model),
	// "UnrecognizedClientException" (403: the credentials are not the account's),
	// "ExpiredTokenException" (403) or "ResourceNotFoundException" (404), as Bedrock answers
	// a setup that no call can get past. Such calls are counted in Stats.Requests.
	Refuse string

	// S3LocationModels are the model ids (as called, or their base model id) that accept an
	// s3Location image or document source (on Bedrock: the Amazon Nova models). Any other
	// model answers such a request 400 ValidationException. Empty = none.
	S3LocationModels []string

	// Guardrails are the guardrails that exist, as "ID:VERSION" ("ID" alone: every version).
	// A guardrailConfig naming another is answered 400 ValidationException, as Bedrock does.
	// Empty = every well-formed identifier and version exists.
	Guardrails []string

	// CacheTTL is how long a prompt-cache prefix lives after its last write or read
	// (0 = DefaultCacheTTL). A cachePoint with ttl "1h" lives 12 times as long.
	CacheTTL time.Duration

	// CacheMinTokens is the smallest prefix, in tokens, that a cachePoint caches: a shorter
	// one is counted as plain inputTokens. 0 = DefaultCacheMinTokens (Claude's 1,024);
	// negative = no minimum. Tests set a small positive value such as 1.
	CacheMinTokens int

	// NeedsInferenceProfile are model ids that Bedrock serves on demand only through an
	// inference profile: calling one by this id is answered 400 ValidationException
	// "Invocation of model ID ... with on-demand throughput isn't supported. ...".
	NeedsInferenceProfile []string

	// TemperatureXorTopP are model ids (as called, or their base model id, so listing
	// "anthropic.claude-sonnet-4-5-20250929-v1:0" covers "us.anthropic.claude-sonnet-4-5-...")
	// that refuse a request setting both temperature and topP, as Claude Sonnet 4.5 does.
	TemperatureXorTopP []string

	// MaxOutputTokens caps maxTokens per model id (as called, or its base model id): a
	// request above it is answered 400 ValidationException "The maximum tokens you requested
	// exceeds the model limit of N. ...".
	MaxOutputTokens map[string]int32

	// BatchStore, when set, turns on the batch-inference control plane on the same URL
	// (CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs,
	// StopModelInvocationJob, for a service/bedrock client): jobs read their input from it and
	// write their outputs to it (batchjobs.NewS3ObjectStore, or a batchjobs.MemoryStore in unit
	// tests). nil = CreateModelInvocationJob is answered with a ValidationException saying batch
	// inference is not enabled.
	BatchStore batchjobs.ObjectStore

	// Batch configures the batch jobs' schedule, quotas and injected failures.
	Batch batchjobs.Options

	// Account, when set, makes the emulator an AWS account with these Bedrock quotas (issue
	// 17): Service Quotas' ListServiceQuotas lists them, ListFoundationModels and
	// GetInferenceProfile name the models, and calls and batch jobs are held to them, on top
	// of the quotas above. nil = ListServiceQuotas lists no Bedrock quota.
	Account *AccountQuotas
}

// Quota is one model's server-side quotas; a zero field is no quota. See
// Options.RequestsPerMinute, Options.TokensPerMinute and Options.TokensPerDay.
type Quota struct {
	RequestsPerMinute int
	TokensPerMinute   int
	TokensPerDay      int
}

func (q Quota) isZero() bool { return q == Quota{} }

// String prints the configuration, for logs.
func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "latency=%s rpm=%d tpm=%d", o.Latency, o.RequestsPerMinute, o.TokensPerMinute)
	if o.TokensPerDay != 0 {
		fmt.Fprintf(&b, " tpd=%d", o.TokensPerDay)
	}
	fmt.Fprintf(&b, " burst=%s seed=%d", o.burst(), o.Seed)
	if len(o.ModelQuotas) > 0 {
		ids := make([]string, 0, len(o.ModelQuotas))
		for id := range o.ModelQuotas {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			q := o.ModelQuotas[id]
			fmt.Fprintf(&b, " quota[%s]={rpm=%d tpm=%d tpd=%d}", id, q.RequestsPerMinute, q.TokensPerMinute, q.TokensPerDay)
		}
	}
	if o.Burndown != nil {
		b.WriteString(" burndown=custom")
	}
	if len(o.S3LocationModels) > 0 {
		fmt.Fprintf(&b, " s3-location-models=%s", strings.Join(o.S3LocationModels, ","))
	}
	if o.CacheTTL != 0 || o.CacheMinTokens != 0 {
		fmt.Fprintf(&b, " cache-ttl=%s cache-min-tokens=%d", o.cacheTTL(), o.cacheMinTokens())
	}
	if o.Faults != (Faults{}) {
		fmt.Fprintf(&b, " faults={%s}", o.Faults)
	}
	if o.BatchStore != nil {
		fmt.Fprintf(&b, " batch={%s}", o.Batch)
	}
	if o.Account != nil {
		fmt.Fprintf(&b, " account={%s}", o.Account)
	}
	return b.String()
}

func (o Options) burst() time.Duration {
	if o.QuotaBurst <= 0 {
		return DefaultQuotaBurst
	}
	return o.QuotaBurst
}

func (o Options) cacheTTL() time.Duration {
	if o.CacheTTL <= 0 {
		return DefaultCacheTTL
	}
	return o.CacheTTL
}

// cacheMinTokens is the effective minimum: 0 means any prefix of at least one token.
func (o Options) cacheMinTokens() int64 {
	switch {
	case o.CacheMinTokens == 0:
		return DefaultCacheMinTokens
	case o.CacheMinTokens < 0:
		return 0
	}
	return int64(o.CacheMinTokens)
}

func (o Options) defaultMaxTokens() int64 {
	if o.DefaultMaxTokens <= 0 {
		return DefaultMaxTokens
	}
	return int64(o.DefaultMaxTokens)
}

func (o Options) dayLength() time.Duration {
	if o.DayLength <= 0 {
		return 24 * time.Hour
	}
	return o.DayLength
}

// burndown returns the quota cost of one output token of modelID.
func (o Options) burndown(modelID string) float64 {
	if o.Burndown == nil {
		return 1
	}
	return o.Burndown(modelID)
}

// Faults are probabilities in [0,1], per call, of injected failures. The dice for the first
// seven are rolled in field order and the first that fires decides the call's fault.
type Faults struct {
	Throttle           float64 // 429 ThrottlingException
	InternalError      float64 // 500 InternalServerException
	Unavailable        float64 // 503 ServiceUnavailableException
	Reset              float64 // the TCP connection is reset with no response
	Hang               float64 // no answer until the client gives up or the emulator closes
	MidStreamException float64 // ConverseStream only: after the first delta, an exception event (throttlingException and internalServerException in turn)
	StreamCut          float64 // ConverseStream only: after the first delta, the connection is closed with no messageStop or metadata

	// SchemaMismatch is the probability that a tool-use answer's input violates the tool's
	// inputSchema (a required property left out, or a property of the wrong type), so a client
	// can test its schema-validation retries. The call still succeeds (Stats.OK) and is counted
	// in Stats.SchemaMismatches, not in Stats.Faults. It has its own dice, rolled only for
	// tool-use answers, so it does not change which calls the other faults hit.
	SchemaMismatch float64
}

// String prints the non-zero probabilities.
func (f Faults) String() string {
	var parts []string
	for _, p := range f.list() {
		if p.p != 0 {
			parts = append(parts, fmt.Sprintf("%s=%g", p.name, p.p))
		}
	}
	if f.SchemaMismatch != 0 {
		parts = append(parts, fmt.Sprintf("schema-mismatch=%g", f.SchemaMismatch))
	}
	return strings.Join(parts, " ")
}
