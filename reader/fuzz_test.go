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
		`{"prompt":"p","documents":["s3://b/k.pdf","data:application/pdf;base64,JVBERi0="],"images":"a.png"}`,
		`{"prompt":"p","system":[{"text":"s"},{"cachePoint":{"type":"default"}}],"model":"m","inference_config":{"max_tokens":5,"top_p":0.5,"stop_sequences":["x"]},"additional_model_request_fields":{}}`,
		`{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},{"document":{"format":"pdf","name":"n","source":{"s3Location":{"uri":"s3://b/k"}}}},{"cachePoint":{}}]}]}`,
		`{"recordId":"r","modelInput":{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":3}}}`,
		`{"custom_id":"c","body":{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"stop":"x"}}`,
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
		if rec.Err != nil || !utf8.ValidString(line) {
			return
		}
		var ref struct {
			Prompt json.RawMessage `json:"prompt"`
			System json.RawMessage `json:"system"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "\xEF\xBB\xBF")), &ref); err != nil {
			t.Fatalf("reader accepted a line encoding/json rejects: %v", err)
		}
		var prompt, system string
		if json.Unmarshal(ref.Prompt, &prompt) == nil && rec.Style == StyleNative {
			// Documents and images come first: the prompt is the last block.
			if len(rec.Messages) != 1 || rec.Messages[0].Content[len(rec.Messages[0].Content)-1].Text != prompt {
				t.Errorf("prompt %+v, encoding/json says %q", rec.Messages, prompt)
			}
		}
		if json.Unmarshal(ref.System, &system) == nil && rec.Style == StyleNative && rec.System != system {
			t.Errorf("system %q, encoding/json says %q", rec.System, system)
		}
	})
}
