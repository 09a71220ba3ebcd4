package pipeline

import (
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
}

// count is called by the single writer goroutine once a row is written.
func (s *stats) count(row *writer.Row) {
	s.records.Add(1)
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

func (s *stats) summary() Summary {
	return Summary{
		Read:       s.read.Load(),
		Records:    s.records.Load(),
		OK:         s.ok.Load(),
		Errors:     s.errors.Load(),
		Abandoned:  s.abandoned.Load(),
		Attempts:   s.attempts.Load(),
		Retries:    s.retries.Load(),
		Throttled:  s.throttled.Load(),
		LatencyP50: s.latency.percentile(0.50),
		LatencyP95: s.latency.percentile(0.95),
		LatencyP99: s.latency.percentile(0.99),
		Tokens: Tokens{
			Input:      s.input.Load(),
			Output:     s.output.Load(),
			Total:      s.total.Load(),
			CacheRead:  s.cacheRead.Load(),
			CacheWrite: s.cacheWrite.Load(),
		},
	}
}
