package bedrocktest

import (
	"context"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// Handler is the emulator as an http.Handler, for a caller that runs its own server
// (`batch emulate --addr`). NewServer wraps one.
type Handler struct {
	opts     Options
	quota    *quota
	account  *accountQuota // Options.Account's quotas
	cache    *promptCache
	dice     *dice
	mismatch *coin // Faults.SchemaMismatch

	done      chan struct{}
	closeOnce sync.Once
	inflight  atomic.Int64
	midStream atomic.Uint64 // mid-stream exceptions so far, to alternate their types

	stats  counters
	models modelTable
	batch  *batchjobs.Service // the batch-inference control plane, answering records through batchRuntime
	mux    *http.ServeMux     // every operation (routes.go)
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns an emulator configured by opts. Its quota buckets start full now, and
// its quota day (Options.DayLength) begins now.
func NewHandler(opts Options) *Handler {
	now := time.Now()
	h := &Handler{
		opts:     opts,
		quota:    newQuota(opts, now),
		account:  newAccountQuota(opts, now),
		cache:    newPromptCache(opts, now),
		dice:     newDice(opts.Faults, opts.Seed),
		mismatch: newCoin(opts.Faults.SchemaMismatch, opts.Seed, 0x5c4e3a),
		done:     make(chan struct{}),
	}
	h.batch = batchjobs.New(withAccountBatch(opts), opts.BatchStore, batchRuntime{h})
	h.mux = h.routes()
	return h
}

// Close ends every wait (latency, hang) at once; later calls are answered 503
// ServiceUnavailableException. It stops the goroutine that moves batch jobs along (and waits
// for it), but does not wait for handlers to return.
func (h *Handler) Close() {
	h.closeOnce.Do(func() {
		close(h.done)
		h.batch.Close()
	})
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

// ServeHTTP answers one call: the mux (routes.go) picks the operation's handler. See the
// package doc for the steps of a Converse or ConverseStream call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !cleanPath(r.URL.EscapedPath()) {
		// The mux would redirect to the cleaned path (// or a . or .. segment), turning a
		// call Bedrock would not recognize into another call: answer it as unknown.
		h.unknownOperation(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// serveConverse answers POST /model/{modelId}/converse.
func (h *Handler) serveConverse(w http.ResponseWriter, r *http.Request) { h.serveModel(w, r, false) }

// serveConverseStream answers POST /model/{modelId}/converse-stream.
func (h *Handler) serveConverseStream(w http.ResponseWriter, r *http.Request) {
	h.serveModel(w, r, true)
}

// serveModel answers a Converse or ConverseStream call; see the package doc for the order of
// the steps.
func (h *Handler) serveModel(w http.ResponseWriter, r *http.Request, stream bool) {
	h.inflight.Add(1)
	defer h.inflight.Add(-1)
	h.stats.requests.Add(1)
	start := time.Now()

	modelID := r.PathValue("modelId") // unescaped by the mux
	mc := h.modelCounters(modelID)
	mc.requests.Add(1)
	if h.closed() {
		writeError(w, http.StatusServiceUnavailable, errUnavailable, msgClosed)
		return
	}
	if h.opts.Refuse != "" {
		refuse(w, h.opts.Refuse)
		return
	}
	c, raw, err := decodeCall(r, modelID, stream, h.opts.Observe != nil)
	if h.opts.Observe != nil {
		h.opts.Observe(c.observed(raw, err))
	}
	if err != nil {
		h.stats.invalid.Add(1)
		writeError(w, http.StatusBadRequest, errValidation, err.Error())
		return
	}
	if msg := c.validate(&h.opts); msg != "" {
		h.stats.invalid.Add(1)
		writeError(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	if !h.knownModel(modelID) {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The provided model identifier is invalid. (bedrocktest: not in Options.Models)")
		return
	}
	if h.retired(modelID) {
		writeError(w, http.StatusNotFound, errResourceNotFound, "This model version has reached the end of its life. (bedrocktest: Options.Lifecycles)")
		return
	}

	f := h.dice.roll()
	if !stream && (f == faultMidStreamException || f == faultStreamCut) {
		f = faultNone
	}
	if f != faultNone {
		h.stats.faults.Add(1)
	}
	if h.injectEarly(w, r, f, mc) {
		return
	}

	in := c.measure()
	reserved := c.reservation(in.tokens, h.opts.defaultMaxTokens())
	if msg := h.admitQuota(time.Now(), modelID, reserved); msg != "" {
		h.stats.throttled.Add(1)
		mc.throttled.Add(1)
		writeError(w, http.StatusTooManyRequests, errThrottling, msg)
		return
	}
	burndown := h.opts.burndown(modelID)
	used := float64(in.tokens) // quota tokens the call consumed, settled when it ends
	defer func() {
		h.settleQuota(time.Now(), modelID, reserved, used)
		mc.quotaTokens.Add(int64(math.Round(used)))
	}()

	if !h.wait(r.Context(), h.opts.Latency) {
		h.stats.canceled.Add(1)
		if h.closed() {
			writeError(w, http.StatusServiceUnavailable, errUnavailable, msgClosed)
		}
		return
	}

	rep := h.answer(&c, in)
	used = float64(rep.inputTokens + rep.cacheWrite) // cache reads are released at settlement
	if !stream {
		used += float64(rep.outputTokens) * burndown
		if writeConverse(w, rep, time.Since(start).Milliseconds()) {
			h.succeeded(rep, mc)
		} else {
			h.stats.canceled.Add(1)
		}
		return
	}
	throttle := false
	if f == faultMidStreamException {
		throttle = h.midStream.Add(1)%2 == 1
	}
	out := writeStream(w, rep, f, throttle, func() int64 { return time.Since(start).Milliseconds() })
	used += float64(out.sentTokens) * burndown
	switch {
	case out.complete:
		h.succeeded(rep, mc)
	case f == faultNone:
		h.stats.canceled.Add(1)
	}
}

// answer builds the reply of an admitted call: a guardrail's intervention, a forced tool use,
// or the text answer; then splits the input between plain and cached tokens.
func (h *Handler) answer(c *call, in inputInfo) reply {
	if c.guardrailIntervenes() {
		r := guardrailReply(in.tokens)
		r.cacheUsage = len(in.points) > 0
		r.tier, r.latency = c.tier(), c.latency()
		return r
	}
	prompt := c.prompt()
	var r reply
	if tool := c.forcedTool(prompt); tool != nil {
		r = makeToolReply(tool, prompt, c.maxTokens(), h.mismatch.flip())
	} else {
		r = makeReply(Answer(prompt), 0, c.maxTokens(), c.stopSequences())
	}
	// The input tokens are known once the cache has had its say.
	split := h.cache.split(time.Now(), in)
	r.inputTokens, r.cacheRead, r.cacheWrite, r.cacheUsage = split.input, split.read, split.write, split.used
	r.tier, r.latency = c.tier(), c.latency()
	return r
}

// injectEarly acts out the faults that strike before admission, and reports whether f was one.
func (h *Handler) injectEarly(w http.ResponseWriter, r *http.Request, f fault, mc *modelCounters) bool {
	switch f {
	case faultThrottle:
		h.stats.throttled.Add(1)
		mc.throttled.Add(1)
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
