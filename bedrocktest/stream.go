package bedrocktest

import (
	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"

	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// deltaWords is how many words of the answer one contentBlockDelta carries.
const deltaWords = 3

// Event-stream headers, encoded once by the SDK's eventstream package. Messages are framed
// by appendFrame, which writes what eventstream.Encoder writes (a test checks it byte for
// byte) without its dozen allocations per message.
var (
	hdrMessageStart      = eventHeaders("messageStart")
	hdrContentBlockStart = eventHeaders("contentBlockStart")
	hdrContentBlockDelta = eventHeaders("contentBlockDelta")
	hdrContentBlockStop  = eventHeaders("contentBlockStop")
	hdrMessageStop       = eventHeaders("messageStop")
	hdrMetadata          = eventHeaders("metadata")
	hdrThrottling        = exceptionHeaders("throttlingException")
	hdrInternalServer    = exceptionHeaders("internalServerException")
	eventStreamType      = []string{"application/vnd.amazon.eventstream"}
)

func eventHeaders(eventType string) []byte {
	return encodeHeaders(eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("event")},
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	})
}

func exceptionHeaders(exceptionType string) []byte {
	return encodeHeaders(eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
		{Name: ":exception-type", Value: eventstream.StringValue(exceptionType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	})
}

func encodeHeaders(h eventstream.Headers) []byte {
	var b bytes.Buffer
	if err := eventstream.EncodeHeaders(&b, h); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// preludeLen is the total length, the headers length and the prelude CRC.
const preludeLen = 12

// beginFrame starts a message in b: the prelude is filled in by endFrame, the payload is
// appended by the caller.
func beginFrame(b, headers []byte) []byte {
	b = append(b[:0], make([]byte, preludeLen)...)
	return append(b, headers...)
}

// endFrame completes the message begun by beginFrame(b, headers).
func endFrame(b []byte, headersLen int) []byte {
	binary.BigEndian.PutUint32(b[0:], uint32(len(b)+crc32.Size))
	binary.BigEndian.PutUint32(b[4:], uint32(headersLen))
	binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// streamWriter writes event-stream messages to a response, flushing after each, and keeps
// the first error.
type streamWriter struct {
	w   http.ResponseWriter
	buf *[]byte
	err error
}

// send frames headers and the payload that fill appends, writes and flushes the message.
func (s *streamWriter) send(headers []byte, fill func([]byte) []byte) {
	if s.err != nil {
		return
	}
	b := endFrame(fill(beginFrame(*s.buf, headers)), len(headers))
	*s.buf = b
	// A write that lands in a buffer says nothing of a client that has
	// gone; the flush's error does, so a stream the client abandoned is
	// not counted complete.
	if _, s.err = s.w.Write(b); s.err == nil {
		s.err = http.NewResponseController(s.w).Flush()
	}
}

// streamOutcome says how a ConverseStream call ended.
type streamOutcome struct {
	complete   bool  // messageStop and metadata were written
	sentTokens int64 // output tokens the client was sent
}

// writeStream answers a ConverseStream call with r. A fault (faultMidStreamException or
// faultStreamCut) acts after the first delta; throttle picks throttlingException over
// internalServerException for the former. A tool use is streamed as Bedrock does: a
// contentBlockStart naming the tool, then its input JSON text in two or more deltas.
func writeStream(w http.ResponseWriter, r reply, f fault, throttle bool, latencyMs func() int64) streamOutcome {
	buf := getBuf()
	defer putBuf(buf)
	s := &streamWriter{w: w, buf: buf}

	w.Header()["Content-Type"] = eventStreamType
	w.WriteHeader(http.StatusOK)
	s.send(hdrMessageStart, func(b []byte) []byte { return append(b, `{"role":"assistant"}`...) })
	if r.tool != nil {
		s.send(hdrContentBlockStart, func(b []byte) []byte {
			b = append(b, `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":`...)
			b = jsonenc.AppendString(b, r.tool.id)
			b = append(b, `,"name":`...)
			b = jsonenc.AppendString(b, r.tool.name)
			return append(b, `}}}`...)
		})
	}

	var cutsBuf [16]int
	text, start := r.text, 0
	for _, end := range deltaCuts(cutsBuf[:0], text, r.tool != nil) {
		s.send(hdrContentBlockDelta, func(b []byte) []byte {
			if r.tool != nil {
				b = append(b, `{"contentBlockIndex":0,"delta":{"toolUse":{"input":`...)
				b = jsonenc.AppendString(b, text[start:end])
				return append(b, `}}}`...)
			}
			b = append(b, `{"contentBlockIndex":0,"delta":{"text":`...)
			b = jsonenc.AppendString(b, text[start:end])
			return append(b, `}}`...)
		})
		start = end
		if f != faultNone {
			break // a fault comes after the first delta
		}
	}
	// A guardrail's message is no model output: min keeps it at zero tokens.
	out := streamOutcome{sentTokens: min(CountTokens(text[:start]), r.outputTokens)}

	switch f {
	case faultMidStreamException:
		hdr, msg := hdrInternalServer, msgInternal
		if throttle {
			hdr, msg = hdrThrottling, msgThrottledFault
		}
		s.send(hdr, func(b []byte) []byte {
			return append(jsonenc.AppendString(append(b, `{"message":`...), msg), '}')
		})
		return out
	case faultStreamCut:
		if s.err == nil {
			cutConnection(w, false)
		}
		return out
	}

	s.send(hdrContentBlockStop, func(b []byte) []byte { return append(b, `{"contentBlockIndex":0}`...) })
	s.send(hdrMessageStop, func(b []byte) []byte {
		return append(jsonenc.AppendString(append(b, `{"stopReason":`...), r.stopReason), '}')
	})
	s.send(hdrMetadata, func(b []byte) []byte {
		b = appendUsage(append(b, '{'), r)
		b = appendMetrics(append(b, ','), latencyMs())
		return append(appendServed(b, r), '}')
	})
	out.complete = s.err == nil
	return out
}

// deltaCuts appends to dst the end offsets of the successive deltas of text: one every
// deltaWords words, the last at len(text). With atLeastTwo (a tool's input JSON, which Bedrock
// streams in pieces) a text that would go in one delta is split in the middle.
func deltaCuts(dst []int, text string, atLeastTwo bool) []int {
	words := 0
	forEachWord(text, func(_, end int) bool {
		if words++; words == deltaWords {
			dst = append(dst, end)
			words = 0
		}
		return true
	})
	if len(text) > 0 && (len(dst) == 0 || dst[len(dst)-1] < len(text)) {
		dst = append(dst, len(text))
	}
	if atLeastTwo && len(dst) == 1 {
		mid := len(text) / 2
		for mid > 0 && !utf8.RuneStart(text[mid]) {
			mid--
		}
		if mid > 0 {
			dst = append(dst[:0], mid, len(text))
		}
	}
	return dst
}

// cutConnection takes the connection over and closes it: with reset set, with SO_LINGER 0 so
// the peer sees a reset, otherwise an orderly close (a clean end of a chunked body).
func cutConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		tcp.SetLinger(0)
	}
	conn.Close()
}
