package reader

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzJSONLLine checks that no line makes the reader panic or stop, and that
// the text it finds agrees with encoding/json.
func FuzzJSONLLine(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","prompt":"p"}`,
		`{"id":7,"prompt":"a\nb\u00e9\ud83d\ude00","system":"s","metadata":{"k":[1]}}`,
		`{"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"assistant","content":"y"}]}`,
		`{"\u0070rompt":"escaped key","id":null}`,
		`{"prompt":"\ud800"}`,
		`[1]`, `"s"`, `{`, `{"prompt":"x"} {}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return // one line at a time
		}
		r := NewJSONL(strings.NewReader(line), "f.jsonl")
		rec, err := r.Next(context.Background())
		if isBlank([]byte(strings.TrimPrefix(line, "\xEF\xBB\xBF"))) {
			return
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if rec.ID == "" || rec.Origin.Line != 1 {
			t.Fatalf("record without id or origin: %+v", rec)
		}
		var ref struct {
			Prompt *string `json:"prompt"`
			System *string `json:"system"`
		}
		if rec.Err != nil || !utf8.ValidString(line) {
			return
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "\xEF\xBB\xBF")), &ref); err != nil {
			t.Fatalf("reader accepted a line encoding/json rejects: %v", err)
		}
		if ref.Prompt != nil && (len(rec.Messages) != 1 || rec.Messages[0].Content[0].Text != *ref.Prompt) {
			t.Errorf("prompt %+v, encoding/json says %q", rec.Messages, *ref.Prompt)
		}
		if ref.System != nil && rec.System != *ref.System {
			t.Errorf("system %q, encoding/json says %q", rec.System, *ref.System)
		}
	})
}
