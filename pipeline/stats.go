package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

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
	// Models are the rows written per model id.
	Models map[string]ModelRows
	// ServiceTiers counts ok rows per tier that served them.
	ServiceTiers map[string]int64
	// GuardrailIntervened counts ok rows a guardrail stopped.
	GuardrailIntervened int64
	// QuotaDeferred counts records given no row because their model's
	// daily quota (Bedrock's, or --tpd) is spent: a later run sends them.
	QuotaDeferred int64
	// QuotaStopped says, per model, why its records were deferred.
	QuotaStopped map[string]string
}

// ModelRows are the rows written for one model.
type ModelRows struct {
	Rows, OK, Errors int64
	Tokens           Tokens
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
	guardrail                            atomic.Int64

	mu       sync.Mutex // guards the maps, read by progress reports
	models   map[string]*ModelRows
	tiers    map[string]int64
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
	if row.StopReason == StopReasonGuardrailIntervened {
		s.guardrail.Add(1)
	}
	s.ok.Add(1)
	s.input.Add(row.InputTokens)
	s.output.Add(row.OutputTokens)
	s.total.Add(row.TotalTokens)
	s.cacheRead.Add(row.CacheReadInputTokens)
	s.cacheWrite.Add(row.CacheWriteInputTokens)
}

// StopReasonGuardrailIntervened is the stop reason of a call a guardrail
// stopped: an ok row, counted apart.
const StopReasonGuardrailIntervened = "guardrail_intervened"

func (s *stats) countModel(row *writer.Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models == nil {
		s.models, s.tiers = make(map[string]*ModelRows), make(map[string]int64)
	}
	m := s.models[row.ModelID]
	if m == nil {
		m = &ModelRows{}
		s.models[row.ModelID] = m
	}
	m.Rows++
	if row.Status != writer.StatusOK {
		m.Errors++
		return
	}
	m.OK++
	m.Tokens.Input += row.InputTokens
	m.Tokens.Output += row.OutputTokens
	m.Tokens.Total += row.TotalTokens
	m.Tokens.CacheRead += row.CacheReadInputTokens
	m.Tokens.CacheWrite += row.CacheWriteInputTokens
	if row.ServiceTier != "" {
		s.tiers[row.ServiceTier]++
	}
}

func (s *stats) summary() Summary {
	s.mu.Lock()
	models := make(map[string]ModelRows, len(s.models))
	for id, m := range s.models {
		models[id] = *m
	}
	tiers := make(map[string]int64, len(s.tiers))
	for t, n := range s.tiers {
		tiers[t] = n
	}
	quota := make(map[string]string, len(s.quota))
	for m, why := range s.quota {
		quota[m] = why
	}
	deferred := s.deferred
	s.mu.Unlock()
	return Summary{
		QuotaDeferred:       deferred,
		QuotaStopped:        quota,
		Models:              models,
		ServiceTiers:        tiers,
		GuardrailIntervened: s.guardrail.Load(),
		Read:                s.read.Load(),
		Records:             s.records.Load(),
		OK:                  s.ok.Load(),
		Errors:              s.errors.Load(),
		Abandoned:           s.abandoned.Load(),
		Attempts:            s.attempts.Load(),
		Retries:             s.retries.Load(),
		Throttled:           s.throttled.Load(),
		LatencyP50:          s.latency.percentile(0.50),
		LatencyP95:          s.latency.percentile(0.95),
		LatencyP99:          s.latency.percentile(0.99),
		Tokens: Tokens{
			Input:      s.input.Load(),
			Output:     s.output.Load(),
			Total:      s.total.Load(),
			CacheRead:  s.cacheRead.Load(),
			CacheWrite: s.cacheWrite.Load(),
		},
	}
}
