package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrock-batch/bedrock-batch/tally"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Summary is what a run did: counts of rows written, tokens, and calls.
type Summary struct {
	Read        int64 // records taken from the source
	Records     int64 // rows written
	OK          int64
	Errors      int64
	Abandoned   int64 // calls given up because the run was stopping
	Attempts    int64 // real calls made
	Retries     int64
	Throttled   int64
	Tokens      Tokens
	WallTime    time.Duration
	Interrupted bool
	// Latency percentiles of successful calls, as the client saw them.
	LatencyP50, LatencyP95, LatencyP99 time.Duration
	// Totals are the rows written, by model and route, with the tiers
	// that served them and the guardrail interventions, counted the way
	// the ledger counts the output.
	Totals tally.Totals
	// QuotaDeferred counts records given no row because their model's
	// daily quota (Bedrock's, or --tpd) is spent: a later run sends them.
	QuotaDeferred int64
	// QuotaStopped says, per model, why its records were deferred.
	QuotaStopped map[string]string
	// WaitingForQuota and InFlight are gauges: the calls waiting now for
	// their model's quota, and the calls in flight now.
	WaitingForQuota, InFlight int64
}

// Tokens are token totals over the ok rows.
type Tokens struct {
	Input, Output, Total, CacheRead, CacheWrite int64
}

type stats struct {
	read, records, ok, errors, abandoned atomic.Int64
	attempts, retries, throttled         atomic.Int64
	input, output, total                 atomic.Int64
	cacheRead, cacheWrite                atomic.Int64
	latency                              latencies
	answered                             atomic.Bool // a call of the run got an answer
	// Gauges, for what binds the pace now: calls waiting for their
	// model's quota, and calls in flight.
	waitingForQuota, inFlight atomic.Int64

	mu       sync.Mutex // guards the rest, read by progress reports
	totals   tally.Totals
	deferred int64
	quota    map[string]string
	// spent is a copy of quota's keys, read without the lock on every
	// record.
	spent atomic.Pointer[map[string]bool]
}

// deferByQuota counts a record left for a later run because its model's
// daily quota is spent.
func (s *stats) deferByQuota(model string, why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deferred++
	if s.quota == nil {
		s.quota = make(map[string]string)
	}
	if _, ok := s.quota[model]; !ok {
		s.quota[model] = why.Error()
		spent := make(map[string]bool, len(s.quota))
		for m := range s.quota {
			spent[m] = true
		}
		s.spent.Store(&spent)
	}
}

// quotaSpent reports whether a model's daily quota was found spent.
func (s *stats) quotaSpent(model string) bool {
	spent := s.spent.Load()
	return spent != nil && (*spent)[model]
}

// allQuotaSpent reports whether every one of models has its daily quota
// spent.
func (s *stats) allQuotaSpent(models []string) bool {
	spent := s.spent.Load()
	if spent == nil || len(models) == 0 {
		return false
	}
	for _, m := range models {
		if !(*spent)[m] {
			return false
		}
	}
	return true
}

// count is called by the single writer goroutine once a row is written.
func (s *stats) count(row *writer.Row) {
	s.records.Add(1)
	s.countModel(row)
	if row.Status != writer.StatusOK {
		s.errors.Add(1)
		return
	}

	s.ok.Add(1)
	s.input.Add(row.InputTokens)
	s.output.Add(row.OutputTokens)
	s.total.Add(row.TotalTokens)
	s.cacheRead.Add(row.CacheReadInputTokens)
	s.cacheWrite.Add(row.CacheWriteInputTokens)
}

func (s *stats) countModel(row *writer.Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totals.AddRow(row.ModelID, row.Route, row.Status == writer.StatusOK, tally.Tokens{Input: row.InputTokens,
		Output: row.OutputTokens, Total: row.TotalTokens, CacheRead: row.CacheReadInputTokens,
		CacheWrite: row.CacheWriteInputTokens}, row.ServiceTier, row.StopReason)
	if row.Status != writer.StatusOK {
		s.totals.AddError(row.ErrorType, row.ErrorMessage)
	}
}

func (s *stats) summary() Summary {
	s.mu.Lock()
	totals := s.totals.Clone()
	quota := make(map[string]string, len(s.quota))
	for m, why := range s.quota {
		quota[m] = why
	}
	deferred := s.deferred
	s.mu.Unlock()
	return Summary{
		QuotaDeferred:   deferred,
		QuotaStopped:    quota,
		Totals:          totals,
		Read:            s.read.Load(),
		Records:         s.records.Load(),
		OK:              s.ok.Load(),
		Errors:          s.errors.Load(),
		Abandoned:       s.abandoned.Load(),
		Attempts:        s.attempts.Load(),
		Retries:         s.retries.Load(),
		Throttled:       s.throttled.Load(),
		WaitingForQuota: s.waitingForQuota.Load(),
		InFlight:        s.inFlight.Load(),
		LatencyP50:      s.latency.percentile(0.50),
		LatencyP95:      s.latency.percentile(0.95),
		LatencyP99:      s.latency.percentile(0.99),
		Tokens: Tokens{
			Input:      s.input.Load(),
			Output:     s.output.Load(),
			Total:      s.total.Load(),
			CacheRead:  s.cacheRead.Load(),
			CacheWrite: s.cacheWrite.Load(),
		},
	}
}
