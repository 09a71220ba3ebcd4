package bedrocktest

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// writeConverse answers a Converse call. It reports whether the whole body was written.
func writeConverse(w http.ResponseWriter, r reply, latencyMs int64) bool {
	buf := getBuf()
	defer putBuf(buf)
	b := append((*buf)[:0], `{"output":{"message":{"role":"assistant","content":[{"text":`...)
	b = appendJSONString(b, r.text)
	b = append(b, `}]}},"stopReason":`...)
	b = appendJSONString(b, r.stopReason)
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

// appendJSONString appends s as a JSON string, escaping as encoding/json does (without the
// HTML escapes): invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// bufPool holds response buffers, so answering allocates no body.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}
