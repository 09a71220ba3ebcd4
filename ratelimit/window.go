package ratelimit

import "time"

// callWindow counts calls and throttles over the last two whole seconds.
type callWindow struct {
	second    [2]int64 // unix second of each slot
	calls     [2]int64
	throttles [2]int64
}

func (w *callWindow) slot(now time.Time) int {
	sec := now.Unix()
	i := int(sec & 1)
	if w.second[i] != sec {
		w.second[i], w.calls[i], w.throttles[i] = sec, 0, 0
	}
	return i
}

func (w *callWindow) call(now time.Time)     { w.calls[w.slot(now)]++ }
func (w *callWindow) throttle(now time.Time) { w.throttles[w.slot(now)]++ }

func (w *callWindow) throttledShare(now time.Time) (share float64, calls int64) {
	sec := now.Unix()
	var throttles int64
	for i := range 2 {
		if sec-w.second[i] <= 1 {
			calls += w.calls[i]
			throttles += w.throttles[i]
		}
	}
	if calls == 0 {
		return 1, 0
	}
	return min(1, float64(throttles)/float64(calls)), calls
}

// settledHistory sums quota tokens settled per whole second over the last
// historySeconds.
type settledHistory struct {
	second [historySeconds]int64
	tokens [historySeconds]float64
	first  time.Time // of the first settlement
}

const historySeconds = 30

func (h *settledHistory) add(now time.Time, n float64) {
	if h.first.IsZero() {
		h.first = now
	}
	sec := now.Unix()
	i := int(sec % historySeconds)
	if h.second[i] != sec {
		h.second[i], h.tokens[i] = sec, 0
	}
	h.tokens[i] += n
}

func (h *settledHistory) at(sec int64) float64 {
	if i := int(sec % historySeconds); h.second[i] == sec {
		return h.tokens[i]
	}
	return 0
}

// perMinute is the rate settled over the last second and this one so far.
func (h *settledHistory) perMinute(now time.Time) float64 {
	sec := now.Unix()
	span := time.Second + time.Duration(now.Nanosecond())
	return (h.at(sec) + h.at(sec-1)) / span.Minutes()
}

// average is the rate settled since the first settlement, or over the
// last historySeconds if longer ago, per minute; 0 before any.
func (h *settledHistory) average(now time.Time) float64 {
	if h.first.IsZero() {
		return 0
	}
	span := min(now.Sub(h.first), (historySeconds-1)*time.Second)
	var sum float64
	for s := now.Unix() - historySeconds + 1; s <= now.Unix(); s++ {
		sum += h.at(s)
	}
	return sum / max(span, time.Second).Minutes()
}

// best is the highest rate settled over two whole seconds within the last
// historySeconds, per minute.
func (h *settledHistory) best(now time.Time) float64 {
	sec := now.Unix()
	var top float64
	for s := sec - historySeconds + 2; s < sec; s++ {
		top = max(top, h.at(s)+h.at(s-1))
	}
	return top * 30
}
