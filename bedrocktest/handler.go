package bedrocktest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Handler is the emulator as an http.Handler, for a caller that runs its own server
// (`batch emulate --addr`). NewServer wraps one.
type Handler struct {
	opts  Options
	quota *quota
	dice  *dice

	done      chan struct{}
	closeOnce sync.Once
	inflight  atomic.Int64
	midStream atomic.Uint64 // mid-stream exceptions so far, to alternate their types

	requests, ok, throttled, faults, invalid, canceled atomic.Int64
	countCalls                                         atomic.Int64
	inputTokens, outputTokens                          atomic.Int64
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns an emulator configured by opts. Its quota buckets start full now.
func NewHandler(opts Options) *Handler {
	return &Handler{
		opts:  opts,
		quota: newQuota(opts, time.Now()),
		dice:  newDice(opts.Faults, opts.Seed),
		done:  make(chan struct{}),
	}
}

// Stats counts what the emulator has answered so far.
type Stats struct {
	Requests     int64 // every request received, including unroutable ones
	OK           int64 // calls answered successfully (for streams: complete streams)
	Throttled    int64 // 429s from the quota or from the Throttle fault (a mid-stream throttlingException counts in Faults only)
	Faults       int64 // all injected faults, including injected throttles
	Invalid      int64 // 400 ValidationExceptions
	Canceled     int64 // admitted calls the client gave up on (or Close ended) before the answer was written
	InputTokens  int64 // summed over OK calls only: what a correct client must report in total
	OutputTokens int64 // summed over OK calls only
	CountTokens  int64 // CountTokens calls answered (not in Requests)
}

// Stats returns the counters so far. It is safe for concurrent use.
func (h *Handler) Stats() Stats {
	return Stats{
		Requests:     h.requests.Load(),
		OK:           h.ok.Load(),
		Throttled:    h.throttled.Load(),
		Faults:       h.faults.Load(),
		Invalid:      h.invalid.Load(),
		Canceled:     h.canceled.Load(),
		InputTokens:  h.inputTokens.Load(),
		OutputTokens: h.outputTokens.Load(),
		CountTokens:  h.countCalls.Load(),
	}
}

// Close ends every wait (latency, hang) at once; later calls are answered 503
// ServiceUnavailableException. It does not wait for handlers to return.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// knownModel reports whether the emulator serves modelID: any model when
// Options.Models is empty.
func (h *Handler) knownModel(modelID string) bool {
	if len(h.opts.Models) == 0 {
		return true
	}
	for _, m := range h.opts.Models {
		if m == modelID {
			return true
		}
	}
	return false
}

func (h *Handler) closed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// ServeHTTP answers one Converse or ConverseStream call; see the package doc for the order of
// the steps.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := countTokensPath(r); ok {
		h.countTokens(w, r, id) // counted apart: it is no model call
		return
	}
	h.inflight.Add(1)
	defer h.inflight.Add(-1)
	h.requests.Add(1)
	start := time.Now()

	modelID, stream, routed := route(r)
	if !routed {
		writeError(w, http.StatusNotFound, errUnknownOperation,
			"bedrocktest serves only POST /model/{modelId}/converse and /model/{modelId}/converse-stream, not "+r.Method+" "+r.URL.EscapedPath())
		return
	}
	if h.closed() {
		writeError(w, http.StatusServiceUnavailable, errUnavailable, msgClosed)
		return
	}
	c, raw, err := decodeCall(r, modelID, stream, h.opts.Observe != nil)
	if h.opts.Observe != nil {
		h.opts.Observe(c.observed(raw, err))
	}
	if err != nil {
		h.invalid.Add(1)
		writeError(w, http.StatusBadRequest, errValidation, err.Error())
		return
	}
	if msg := c.validate(); msg != "" {
		h.invalid.Add(1)
		writeError(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	if !h.knownModel(modelID) {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The provided model identifier is invalid. (bedrocktest: not in Options.Models)")
		return
	}

	f := h.dice.roll()
	if !stream && (f == faultMidStreamException || f == faultStreamCut) {
		f = faultNone
	}
	if f != faultNone {
		h.faults.Add(1)
	}
	if h.injectEarly(w, r, f) {
		return
	}

	inputTokens := c.inputTokens()
	reserved := c.reservation(inputTokens)
	if msg := h.quota.admit(time.Now(), reserved); msg != "" {
		h.throttled.Add(1)
		writeError(w, http.StatusTooManyRequests, errThrottling, msg)
		return
	}
	used := inputTokens // what the call consumed, settled when it ends
	defer func() { h.quota.settle(time.Now(), reserved, used) }()

	if !h.wait(r.Context(), h.opts.Latency) {
		h.canceled.Add(1)
		if h.closed() {
			writeError(w, http.StatusServiceUnavailable, errUnavailable, msgClosed)
		}
		return
	}

	rep := makeReply(Answer(c.prompt()), inputTokens, c.maxTokens(), c.stopSequences())
	if !stream {
		used += rep.outputTokens
		if writeConverse(w, rep, time.Since(start).Milliseconds()) {
			h.succeeded(rep)
		} else {
			h.canceled.Add(1)
		}
		return
	}
	throttle := false
	if f == faultMidStreamException {
		throttle = h.midStream.Add(1)%2 == 1
	}
	out := writeStream(w, rep, f, throttle, func() int64 { return time.Since(start).Milliseconds() })
	used += out.sentTokens
	switch {
	case out.complete:
		h.succeeded(rep)
	case f == faultNone:
		h.canceled.Add(1)
	}
}

// injectEarly acts out the faults that strike before admission, and reports whether f was one.
func (h *Handler) injectEarly(w http.ResponseWriter, r *http.Request, f fault) bool {
	switch f {
	case faultThrottle:
		h.throttled.Add(1)
		writeError(w, http.StatusTooManyRequests, errThrottling, msgThrottledFault)
	case faultInternalError:
		writeError(w, http.StatusInternalServerError, errInternalServer, msgInternal)
	case faultUnavailable:
		writeError(w, http.StatusServiceUnavailable, errUnavailable, msgUnavailable)
	case faultReset:
		cutConnection(w, true)
	case faultHang:
		select {
		case <-r.Context().Done():
		case <-h.done:
			writeError(w, http.StatusServiceUnavailable, errUnavailable, msgClosed)
		}
	default:
		return false // none, or a stream fault that acts later
	}
	return true
}

func (h *Handler) succeeded(r reply) {
	h.ok.Add(1)
	h.inputTokens.Add(r.inputTokens)
	h.outputTokens.Add(r.outputTokens)
}

// timerPool recycles latency timers (safe to Reset since Go 1.23: no stale ticks).
var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// wait sleeps for d, and reports false if the client gave up or Close was called first.
func (h *Handler) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := timerPool.Get().(*time.Timer)
	t.Reset(d)
	defer func() {
		t.Stop()
		timerPool.Put(t)
	}()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.done:
		return false
	}
}
