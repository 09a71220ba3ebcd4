package bedrocktest

import (
	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"

	"net/http"
	"strconv"
	"sync"
)

// writeConverse answers a Converse call. It reports whether the whole body was written.
func writeConverse(w http.ResponseWriter, r reply, latencyMs int64) bool {
	buf := getBuf()
	defer putBuf(buf)
	b := appendConverse((*buf)[:0], r, latencyMs)
	*buf = b
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err == nil
}

// appendConverse appends the body of a Converse answer: what writeConverse sends, and what
// a batch output line carries as modelOutput, so the two cannot drift apart.
func appendConverse(b []byte, r reply, latencyMs int64) []byte {
	b = append(b, `{"output":{"message":{"role":"assistant","content":[`...)
	if r.tool != nil {
		b = append(b, `{"toolUse":{"toolUseId":`...)
		b = jsonenc.AppendString(b, r.tool.id)
		b = append(b, `,"name":`...)
		b = jsonenc.AppendString(b, r.tool.name)
		b = append(b, `,"input":`...)
		b = append(b, r.toolInputDocument()...)
		b = append(b, `}}`...)
	} else {
		b = append(b, `{"text":`...)
		b = jsonenc.AppendString(b, r.text)
		b = append(b, '}')
	}
	b = append(b, `]}},"stopReason":`...)
	b = jsonenc.AppendString(b, r.stopReason)
	b = append(b, ',')
	b = appendUsage(b, r)
	b = append(b, ',')
	b = appendMetrics(b, latencyMs)
	b = appendServed(b, r)
	return append(b, '}')
}

// appendUsage writes usage: totalTokens counts input, output, cache read and cache write
// tokens; the cache fields are there when the request had a cachePoint.
func appendUsage(b []byte, r reply) []byte {
	b = append(b, `"usage":{"inputTokens":`...)
	b = strconv.AppendInt(b, r.inputTokens, 10)
	b = append(b, `,"outputTokens":`...)
	b = strconv.AppendInt(b, r.outputTokens, 10)
	b = append(b, `,"totalTokens":`...)
	b = strconv.AppendInt(b, r.inputTokens+r.outputTokens+r.cacheRead+r.cacheWrite, 10)
	if r.cacheUsage {
		b = append(b, `,"cacheReadInputTokens":`...)
		b = strconv.AppendInt(b, r.cacheRead, 10)
		b = append(b, `,"cacheWriteInputTokens":`...)
		b = strconv.AppendInt(b, r.cacheWrite, 10)
	}
	return append(b, '}')
}

func appendMetrics(b []byte, latencyMs int64) []byte {
	b = append(b, `"metrics":{"latencyMs":`...)
	b = strconv.AppendInt(b, latencyMs, 10)
	return append(b, '}')
}

// appendServed writes, after a comma, how the call was served: serviceTier (always; "default"
// when none was requested) and performanceConfig (when one was sent). Both sit at the top of
// a ConverseOutput and in a stream's metadata event.
func appendServed(b []byte, r reply) []byte {
	b = append(b, `,"serviceTier":{"type":`...)
	b = jsonenc.AppendString(b, r.tier)
	b = append(b, '}')
	if r.latency != "" {
		b = append(b, `,"performanceConfig":{"latency":`...)
		b = jsonenc.AppendString(b, r.latency)
		b = append(b, '}')
	}
	return b
}

// bufPool holds response buffers, so answering allocates no body.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}
