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
	b := append((*buf)[:0], `{"output":{"message":{"role":"assistant","content":[{"text":`...)
	b = jsonenc.AppendString(b, r.text)
	b = append(b, `}]}},"stopReason":`...)
	b = jsonenc.AppendString(b, r.stopReason)
	b = append(b, ',')
	b = appendUsage(b, r)
	b = append(b, ',')
	b = appendMetrics(b, latencyMs)
	b = append(b, '}')
	*buf = b
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err == nil
}

func appendUsage(b []byte, r reply) []byte {
	b = append(b, `"usage":{"inputTokens":`...)
	b = strconv.AppendInt(b, r.inputTokens, 10)
	b = append(b, `,"outputTokens":`...)
	b = strconv.AppendInt(b, r.outputTokens, 10)
	b = append(b, `,"totalTokens":`...)
	b = strconv.AppendInt(b, r.inputTokens+r.outputTokens, 10)
	return append(b, '}')
}

func appendMetrics(b []byte, latencyMs int64) []byte {
	b = append(b, `"metrics":{"latencyMs":`...)
	b = strconv.AppendInt(b, latencyMs, 10)
	return append(b, '}')
}

// bufPool holds response buffers, so answering allocates no body.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}
