package batchjobs

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"
)

// Batch inference quotas. The user guide ("Format and upload your batch inference data") names
// them ("Minimum number of records per batch inference job", "Records per input file per batch
// inference job", "Records per batch inference job", and input file and job sizes) and sends
// the reader to the Service Quotas table for values, which vary by account and model. The
// defaults here are the commonly cited ones (100 and 50,000 records, 1 GB per file, 5 GB per
// job), not checked against that table: set Options to match an account.
const (
	// DefaultMinRecords is Options.MinRecords when zero: the fewest records
	// (JSON lines across every input file) a job may have.
	DefaultMinRecords = 100
	// DefaultMaxRecords is Options.MaxRecords when zero: the most records a job may have.
	DefaultMaxRecords = 50_000
	// DefaultMaxInputFileBytes is Options.MaxInputFileBytes when zero: 1 GB per input file.
	DefaultMaxInputFileBytes = 1 << 30
	// DefaultMaxJobBytes is Options.MaxJobBytes when zero: 5 GB across a job's input files.
	DefaultMaxJobBytes = 5 << 30
)

// DefaultTimeoutHours is a job's timeoutDurationInHours when CreateModelInvocationJob
// sends none; bedrocktest accepts 24 to 168, the range the API reference gives.
const DefaultTimeoutHours = 168

// Options configures a Service: the jobs' schedule, quotas and injected failures. The zero
// value moves every job through all its statuses at once and enforces AWS's default record and
// size quotas.
type Options struct {
	// ValidateAfter is how long a job stays Submitted before it is Validating.
	ValidateAfter time.Duration
	// ScheduleAfter is how long a job stays Validating before it is Scheduled (or Failed, for
	// FailJob and malformed input).
	ScheduleAfter time.Duration
	// StartAfter is how long a job stays Scheduled before it is InProgress. A job that would
	// start after its timeoutDurationInHours is Expired instead, as on Bedrock.
	StartAfter time.Duration
	// RecordsPerSecond is how fast an InProgress job processes its records, in input order
	// (0 = all at once). A job still running when its timeout ends stops there,
	// PartiallyCompleted.
	RecordsPerSecond float64

	// MinRecords and MaxRecords bound a job's record count, checked at CreateModelInvocationJob
	// (ValidationException). 0 = DefaultMinRecords and DefaultMaxRecords; negative =
	// no bound.
	MinRecords, MaxRecords int
	// MaxInputFileBytes and MaxJobBytes bound one input file and all of a job's input files,
	// checked at CreateModelInvocationJob. 0 = the defaults; negative = no bound.
	MaxInputFileBytes, MaxJobBytes int64
	// MaxMalformedLines is how many input lines that are not a {"recordId","modelInput"}
	// object a job tolerates, each answered with an errorCode 400 line; one more and the job
	// fails during Validating, as Bedrock's validation rejects badly formed records. 0 = none.
	MaxMalformedLines int
	// MaxActiveJobs caps the jobs neither finished nor stopped (0 = no cap); beyond it
	// CreateModelInvocationJob is answered ServiceQuotaExceededException.
	MaxActiveJobs int
	// Models holds quotas of some models' own, by base model id (BaseModelID of a job's
	// modelId): record and size bounds, records per input file, and jobs of the model
	// submitted or in progress.
	Models map[string]ModelLimits

	// FailRecord, if set, is asked about every record before it is answered: fail=true writes
	// an error line {"errorCode": code, "errorMessage": message} for it instead of a
	// modelOutput, and the job ends PartiallyCompleted. It must be safe for concurrent use.
	// FailRecordsFraction makes one.
	FailRecord func(recordID string) (code int, message string, fail bool)
	// FailJob, if set, is asked about every job when it is created: fail=true makes the job
	// Failed with message when its validation ends, with no output written.
	FailJob func(jobName string) (message string, fail bool)
	// Clock is the time jobs move by (nil = time.Now). Statuses are computed from it whenever
	// a job is looked at, so a test can step an injected clock and read the result at once.
	Clock func() time.Time
}

// FailRecordsFraction returns an Options.FailRecord that fails about fraction of the
// records, chosen by a hash of the record id (the same ids fail on every run), with errorCode
// 500 and an InternalServerException-like message.
func FailRecordsFraction(fraction float64) func(recordID string) (int, string, bool) {
	return func(recordID string) (int, string, bool) {
		// FNV-1a's top bits barely move when only the last characters differ (R00001,
		// R00002...): a splitmix64 finalizer spreads them.
		x := fnv1a(recordID)
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		if float64(x>>11)/float64(1<<53) < fraction {
			return 500, "The server encountered an internal error. (bedrocktest: injected record failure)", true
		}
		return 0, "", false
	}
}

// fnv1a is FNV-1a over s, the hash FailRecordsFraction and made-up record ids start from.
func fnv1a(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// String prints the configuration, for logs.
func (o Options) String() string {
	rate := "instant"
	if o.RecordsPerSecond > 0 {
		rate = fmt.Sprintf("%g/s", o.RecordsPerSecond)
	}
	return fmt.Sprintf("validate-after=%s schedule-after=%s start-after=%s records=%s min-records=%d max-records=%d",
		o.ValidateAfter, o.ScheduleAfter, o.StartAfter, rate, o.minRecords(), o.maxRecords())
}

func (o Options) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// limit applies the 0 = default, negative = none convention; none is the largest int64.
func limit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt64
	}
	return v
}

func (o Options) minRecords() int64 {
	if o.MinRecords < 0 {
		return 0
	}
	return limit(int64(o.MinRecords), DefaultMinRecords)
}

func (o Options) maxRecords() int64 { return limit(int64(o.MaxRecords), DefaultMaxRecords) }

func (o Options) maxFileBytes() int64 {
	return limit(o.MaxInputFileBytes, DefaultMaxInputFileBytes)
}

func (o Options) maxJobBytes() int64 { return limit(o.MaxJobBytes, DefaultMaxJobBytes) }

// processingTime is how long an InProgress job of n records runs.
func (o Options) processingTime(n int) time.Duration {
	if o.RecordsPerSecond <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(n) / o.RecordsPerSecond * float64(time.Second)))
}

// recordLatencyMs is the metrics.latencyMs of one record's modelOutput: its share of the
// processing time.
func (o Options) recordLatencyMs() int64 {
	if o.RecordsPerSecond <= 0 {
		return 0
	}
	return int64(math.Round(1000 / o.RecordsPerSecond))
}
