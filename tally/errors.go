package tally

import (
	"sort"
	"unicode/utf8"
)

// Bounds of what is kept of error messages: a run of a million records
// with a message of their own each must not hold a million messages.
const (
	maxMessagesPerType = 32
	maxMessageBytes    = 300
)

// ErrorCount is the error rows of one error_type.
type ErrorCount struct {
	Rows int64 `json:"rows"`
	// Message is the most common message of these rows (among the first
	// few distinct ones seen).
	Message  string `json:"message,omitempty"`
	messages map[string]int64
}

// AddError counts one error row by its type and message.
func (t *Totals) AddError(errorType, message string) {
	if t.Errors == nil {
		t.Errors = make(map[string]*ErrorCount)
	}
	e := t.Errors[errorType]
	if e == nil {
		e = &ErrorCount{}
		t.Errors[errorType] = e
	}
	e.add(shorten(message), 1)
}

func (e *ErrorCount) add(message string, rows int64) {
	e.Rows += rows
	if e.messages == nil {
		e.messages = make(map[string]int64)
		if e.Message != "" { // read back from a manifest: its message counts as much as it had
			e.messages[e.Message] = e.Rows - rows
		}
	}
	if _, ok := e.messages[message]; ok || len(e.messages) < maxMessagesPerType {
		e.messages[message] += rows
	}
	if e.Message == "" || e.messages[message] > e.messages[e.Message] {
		e.Message = message
	}
}

// mergeErrors adds u's error counts to t's.
func (t *Totals) mergeErrors(u Totals) {
	for typ, ue := range u.Errors {
		if t.Errors == nil {
			t.Errors = make(map[string]*ErrorCount)
		}
		e := t.Errors[typ]
		if e == nil {
			e = &ErrorCount{}
			t.Errors[typ] = e
		}
		if len(ue.messages) == 0 {
			e.add(ue.Message, ue.Rows)
			continue
		}
		for msg, n := range ue.messages {
			e.add(msg, n)
		}
		e.Rows += ue.Rows - sum(ue.messages) // rows whose message was not kept
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// ErrorTypes lists the error types, most rows first (then by name).
func (t *Totals) ErrorTypes() []string {
	types := make([]string, 0, len(t.Errors))
	for typ := range t.Errors {
		types = append(types, typ)
	}
	sort.Slice(types, func(i, j int) bool {
		a, b := t.Errors[types[i]], t.Errors[types[j]]
		if a.Rows != b.Rows {
			return a.Rows > b.Rows
		}
		return types[i] < types[j]
	})
	return types
}

// shorten cuts a message to maxMessageBytes, at a rune boundary.
func shorten(s string) string {
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
