package ratelimit

import (
	"math"
	"time"
)

// ModelReport is where one model of a run stands.
type ModelReport struct {
	Model    string  `json:"model"`
	Quota    Quota   `json:"quota"`
	Burndown float64 `json:"burndown"`
	// Calls were admitted; Throttled and Failed (including a daily quota
	// Bedrock reported spent) of them used no tokens.
	Calls     int64 `json:"calls"`
	Throttled int64 `json:"throttled"`
	Failed    int64 `json:"failed"`
	// ReservedTokens sums the reservations at admission; SettledTokens
	// the quota tokens settled calls counted for, burndown included.
	ReservedTokens int64 `json:"reserved_tokens"`
	SettledTokens  int64 `json:"settled_tokens"`
	// The sums of the settled calls' usage.
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// DailyUsed is the quota tokens settled in the current 24 hours of the
	// run; DailyLeft what is left of the daily budget after them and the
	// calls in flight, or -1 without a tokens-per-day quota.
	DailyUsed int64 `json:"daily_used"`
	DailyLeft int64 `json:"daily_left"`
	// Exhausted is true when Bedrock reported the daily quota spent.
	Exhausted bool `json:"exhausted"`
	// InputRatio is the learned ratio of real to estimated input tokens.
	InputRatio float64 `json:"input_ratio"`
	// Rate is the model's adaptive rate (Limiter.Rate).
	Rate Rate `json:"rate"`
	// AchievedPerMinute is the quota tokens settled per minute over the
	// steady part of the run: from the first settled call to the last,
	// less the first tenth of that span, where the pipeline is still
	// filling (calls admitted at once, none settled yet).
	AchievedPerMinute float64 `json:"achieved_per_minute"`
}

// Utilization is AchievedPerMinute as a share of the tokens-per-minute
// quota; 0 without one.
func (r ModelReport) Utilization() float64 {
	if r.Quota.TokensPerMinute <= 0 {
		return 0
	}
	return r.AchievedPerMinute / float64(r.Quota.TokensPerMinute)
}

// steadySkip is the share of the run's span AchievedPerMinute leaves out.
const steadySkip = 0.1

// Report lists every model used so far, by id.
func (m *Models) Report() []ModelReport {
	now := m.clock.Now()
	var out []ModelReport
	for _, s := range m.sorted() {
		s.mu.Lock()
		s.daily.roll(now)
		st := &s.stats
		r := ModelReport{
			Model:             s.id,
			Quota:             s.quota,
			Burndown:          s.burndown,
			Calls:             st.calls,
			Throttled:         st.throttled,
			Failed:            st.failed,
			ReservedTokens:    st.reserved,
			SettledTokens:     int64(math.Round(st.settled)),
			InputTokens:       st.input,
			OutputTokens:      st.output,
			CacheReadTokens:   st.cacheRead,
			CacheWriteTokens:  st.cacheWrite,
			DailyUsed:         int64(math.Round(s.daily.used)),
			DailyLeft:         int64(math.Round(s.daily.left())),
			Exhausted:         !s.daily.exhaustedAt.IsZero(),
			InputRatio:        s.ratio,
			AchievedPerMinute: st.timeline.perMinute(steadySkip),
		}
		s.mu.Unlock()
		r.Rate = s.limiter.Rate()
		out = append(out, r)
	}
	return out
}

// stats are one model's sums for its report.
type stats struct {
	calls, throttled, failed             int64
	ok                                   int64         // calls that succeeded
	latency                              time.Duration // summed over them, admission to settlement
	reserved                             int64
	settled                              float64
	input, output, cacheRead, cacheWrite int64
	timeline                             timeline
}

func (st *stats) done(now time.Time, u Usage, quota float64) {
	st.settled += quota
	st.input += u.InputTokens
	st.output += u.OutputTokens
	st.cacheRead += u.CacheReadInputTokens
	st.cacheWrite += u.CacheWriteInputTokens
	st.timeline.add(now, quota)
}

// A timeline's bins start timelineWidth wide and double whenever there
// would be more than timelineBins: its size is bounded and its resolution
// stays within 1/1024 of the run's span.
const (
	timelineWidth = 10 * time.Millisecond
	timelineBins  = 2048
)

// timeline sums settled quota tokens over time from the first settlement.
type timeline struct {
	first, last time.Time
	width       time.Duration
	bins        []float64
}

func (tl *timeline) add(at time.Time, tokens float64) {
	if tl.width == 0 {
		tl.first, tl.last, tl.width = at, at, timelineWidth
	}
	at = maxTime(at, tl.first)
	tl.last = maxTime(tl.last, at)
	i := int(at.Sub(tl.first) / tl.width)
	for i >= timelineBins {
		tl.merge()
		i = int(at.Sub(tl.first) / tl.width)
	}
	for len(tl.bins) <= i {
		tl.bins = append(tl.bins, 0)
	}
	tl.bins[i] += tokens
}

// merge halves the resolution: each pair of bins becomes one.
func (tl *timeline) merge() {
	n := (len(tl.bins) + 1) / 2
	for j := range n {
		sum := tl.bins[2*j]
		if 2*j+1 < len(tl.bins) {
			sum += tl.bins[2*j+1]
		}
		tl.bins[j] = sum
	}
	tl.bins = tl.bins[:n]
	tl.width *= 2
}

// perMinute is the tokens settled per minute after the first skip of the
// span from the first settlement to the last (a bin the cut falls in
// counts in proportion); 0 before two settlements at different times.
func (tl *timeline) perMinute(skip float64) float64 {
	span := tl.last.Sub(tl.first)
	if span <= 0 {
		return 0
	}
	cut := time.Duration(float64(span) * skip)
	var sum float64
	for i, b := range tl.bins {
		start, end := time.Duration(i)*tl.width, time.Duration(i+1)*tl.width
		switch {
		case end <= cut:
		case start >= cut:
			sum += b
		default:
			sum += b * float64(end-cut) / float64(tl.width)
		}
	}
	return sum / (span - cut).Minutes()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
