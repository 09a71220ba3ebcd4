package bedrocktest

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// answerQuoteWords is how many words of the prompt an answer repeats.
const answerQuoteWords = 6

// Answer returns the emulator's answer to a conversation whose last user message's text
// blocks, joined with "\n", are prompt. It names a 48-bit FNV-1a hash of the whole prompt,
// its word count and its first words, and always has at least ten words, for example
// "Answer 1f0c33e4a7b2 to 2 words: hello world. Thank you for asking."
func Answer(prompt string) string {
	sum := fnv64a(prompt) >> 16

	var b strings.Builder
	b.Grow(64 + min(len(prompt), 256))
	b.WriteString("Answer ")
	var hex [12]byte
	for i := len(hex) - 1; i >= 0; i-- {
		hex[i] = "0123456789abcdef"[sum&0xf]
		sum >>= 4
	}
	b.Write(hex[:])
	b.WriteString(" to ")
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], CountTokens(prompt), 10))
	b.WriteString(" words: ")
	n := 0
	forEachWord(prompt, func(start, end int) bool {
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(prompt[start:end])
		n++
		return n < answerQuoteWords
	})
	if n == 0 {
		b.WriteString("nothing")
	}
	b.WriteString(". Thank you for asking.")
	return b.String()
}

// fnv64a is FNV-1a (hash/fnv's New64a) over s, without allocating.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// CountTokens is the emulator's token count: the number of whitespace-separated words,
// len(strings.Fields(text)), computed without allocating.
func CountTokens(text string) int64 {
	var n int64
	forEachWord(text, func(int, int) bool { n++; return true })
	return n
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// forEachWord calls fn with the bounds of each word of s, as strings.Fields splits it, until
// fn returns false.
func forEachWord(s string, fn func(start, end int) bool) {
	start := -1
	for i := 0; i < len(s); {
		space, size := false, 1
		if c := s[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
		}
		switch {
		case space && start >= 0:
			if !fn(start, i) {
				return
			}
			start = -1
		case !space && start < 0:
			start = i
		}
		i += size
	}
	if start >= 0 {
		fn(start, len(s))
	}
}

// Stop reasons the emulator answers with.
const (
	stopEndTurn      = "end_turn"
	stopMaxTokens    = "max_tokens"
	stopStopSequence = "stop_sequence"
	stopToolUse      = "tool_use"
	stopGuardrail    = "guardrail_intervened"
)

// reply is what a call answers: a prefix of Answer(prompt), a tool use, or a guardrail's
// message.
type reply struct {
	text         string    // the answer's text, or the tool use's input JSON text as streamed
	tool         *toolCall // set for a tool-use answer
	stopReason   string
	inputTokens  int64 // not read from or written to the prompt cache
	outputTokens int64
	cacheRead    int64
	cacheWrite   int64
	cacheUsage   bool   // the request had a cachePoint: usage carries the cache fields
	tier         string // serviceTier.type echoed
	latency      string // performanceConfig.latency echoed, "" when not sent
}

// toolCall is the toolUse block of a tool-use answer.
type toolCall struct {
	id, name string
	mismatch bool // the input violates the schema on purpose (Faults.SchemaMismatch)
}

// makeReply applies stop sequences, then maxTokens (nil = no limit), to the answer.
func makeReply(answer string, inputTokens int64, maxTokens *int32, stopSequences []string) reply {
	r := reply{text: answer, stopReason: stopEndTurn, inputTokens: inputTokens}
	cut := -1
	for _, s := range stopSequences {
		if s == "" {
			continue
		}
		if i := strings.Index(answer, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		r.text, r.stopReason = answer[:cut], stopStopSequence
	}
	r.outputTokens = CountTokens(r.text)
	if maxTokens != nil && int64(*maxTokens) < r.outputTokens {
		r.text = firstWords(r.text, int(*maxTokens))
		r.outputTokens = int64(*maxTokens)
		r.stopReason = stopMaxTokens
	}
	return r
}

// makeToolReply answers with a call of tool: its input is ToolInput, and outputTokens the
// CountTokens of that JSON text. When maxTokens is smaller the input is cut after maxTokens
// words and the stop reason is max_tokens: a stream carries the cut JSON text, a Converse
// answer the empty input {} (a document must be whole).
func makeToolReply(tool *toolSpec, prompt string, maxTokens *int32, mismatch bool) reply {
	input := ToolInput(tool.InputSchema.JSON, prompt, mismatch)
	r := reply{
		text:       input,
		tool:       &toolCall{id: toolUseID(tool.Name, prompt), name: tool.Name, mismatch: mismatch},
		stopReason: stopToolUse,
	}
	r.outputTokens = CountTokens(input)
	if maxTokens != nil && int64(*maxTokens) < r.outputTokens {
		r.text = firstWords(input, int(*maxTokens))
		r.outputTokens = int64(*maxTokens)
		r.stopReason = stopMaxTokens
	}
	return r
}

// guardrailReply is a guardrail's intervention: the model never ran, so there are no output
// tokens and the prompt cache is not touched.
func guardrailReply(inputTokens int64) reply {
	return reply{text: GuardrailBlockedMessage, stopReason: stopGuardrail, inputTokens: inputTokens}
}

// toolInputDocument is the input a Converse answer carries: the whole JSON, or {} when it
// was cut by maxTokens.
func (r *reply) toolInputDocument() string {
	if r.stopReason == stopMaxTokens {
		return "{}"
	}
	return r.text
}

// firstWords returns the prefix of s that ends with its n-th word (or its last word).
func firstWords(s string, n int) string {
	if n <= 0 {
		return ""
	}
	cut, seen := len(s), 0
	forEachWord(s, func(_, end int) bool {
		seen++
		cut = end
		return seen < n
	})
	return s[:cut]
}
