package bedrock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const okConverse = `{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn",` +
	`"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`

func user(blocks ...bedrock.Block) []bedrock.Message {
	return []bedrock.Message{{Role: "user", Content: blocks}}
}

func text(s string) bedrock.Block { return bedrock.Block{Text: s} }

// requestCases cover every Request field, each alone, and all at once.
var requestCases = []struct {
	name string
	req  bedrock.Request
}{
	{"minimal", bedrock.Request{ModelID: "m", Messages: user(text("Hi"))}},
	{"inference zeros are sent", bedrock.Request{ModelID: "m", Messages: user(text("Hi")),
		Inference: bedrock.InferenceConfig{MaxTokens: ptr[int32](100), Temperature: ptr[float32](0), TopP: ptr[float32](0), StopSequences: []string{"END"}}}},
	{"max tokens only", bedrock.Request{ModelID: "m", Messages: user(text("Hi")), Inference: bedrock.InferenceConfig{MaxTokens: ptr[int32](1)}}},
	{"system with cache point", bedrock.Request{ModelID: "m", System: "Be brief.", CacheSystem: true, Messages: user(text("Hi"))}},
	{"cache point in a message", bedrock.Request{ModelID: "m", Messages: []bedrock.Message{
		{Role: "user", Content: []bedrock.Block{text("long context"), {CachePoint: true}, text("question")}},
		{Role: "assistant", Content: bedrock.TextBlocks("answer")},
		{Role: "user", Content: bedrock.TextBlocks("more")},
	}}},
	{"image bytes", bedrock.Request{ModelID: "m", Messages: user(
		bedrock.Block{Image: &bedrock.Media{Format: "png", Bytes: []byte("\x89PNG\r\n\x1a\n")}}, text("What is this?"))}},
	{"image s3", bedrock.Request{ModelID: "m", Messages: user(
		bedrock.Block{Image: &bedrock.Media{Format: "jpeg", S3URI: "s3://bucket/cat.jpg", BucketOwner: "123456789012"}}, text("What is this?"))}},
	{"document bytes", bedrock.Request{ModelID: "m", Messages: user(
		bedrock.Block{Document: &bedrock.Media{Format: "pdf", Name: bedrock.DocumentName("reports/Q3_report (final).pdf"), Bytes: []byte("%PDF-1.7")}},
		text("Summarise"))}},
	{"document s3", bedrock.Request{ModelID: "m", Messages: user(
		bedrock.Block{Document: &bedrock.Media{Format: "md", Name: "notes", S3URI: "s3://bucket/notes.md"}}, text("Summarise"))}},
	{"tool", bedrock.Request{ModelID: "m", Messages: user(text("Extract")), Tool: &bedrock.Tool{
		Name: "record_fields", Description: "Record the fields.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer","maximum":18446744073709551615},"tags":{"type":"array","items":{"type":"string"}}},"required":["id"]}`)}}},
	{"tool without description", bedrock.Request{ModelID: "m", Messages: user(text("Extract")), Tool: &bedrock.Tool{
		Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`)}}},
	{"guardrail with trace", bedrock.Request{ModelID: "m", Messages: user(text("Hi")), Guardrail: &bedrock.Guardrail{ID: "gr1abc", Version: "3", Trace: true}}},
	{"guardrail without trace", bedrock.Request{ModelID: "m", Messages: user(text("Hi")), Guardrail: &bedrock.Guardrail{ID: "gr1abc", Version: "DRAFT"}}},
	{"latency and tier", bedrock.Request{ModelID: "m", Messages: user(text("Hi")), Latency: "optimized", ServiceTier: "flex"}},
	{"additional fields", bedrock.Request{ModelID: "m", Messages: user(text("Hi")), AdditionalFields: json.RawMessage(
		`{"top_k": 250, "seed": 12345678901234567890, "neg": -9007199254740993, "small": 1e-7, "exact": 0.1000000000000000055511151231257827,
		  "nested": {"a": [1, 2.50, {"b": null, "c": true, "d": ""}], "empty": {}, "list": []}, "text": "héllo \"q\" <&>"}`)}},
	{"everything", bedrock.Request{ModelID: "m", System: "Be brief.", CacheSystem: true,
		Messages: []bedrock.Message{{Role: "user", Content: []bedrock.Block{
			{Image: &bedrock.Media{Format: "webp", Bytes: []byte("RIFF")}},
			{Document: &bedrock.Media{Format: "txt", Name: "a b", Bytes: []byte("doc")}},
			{CachePoint: true},
			text("Go"),
		}}},
		Inference:        bedrock.InferenceConfig{MaxTokens: ptr[int32](512), Temperature: ptr[float32](0.5), TopP: ptr[float32](0.9)},
		AdditionalFields: json.RawMessage(`{"top_k":5}`),
		Tool:             &bedrock.Tool{Name: "out", InputSchema: json.RawMessage(`{"type":"object"}`)},
		Guardrail:        &bedrock.Guardrail{ID: "g", Version: "1", Trace: true},
		ServiceTier:      "priority", Latency: "standard"}},
}

// TestRequestBody checks the JSON body the SDK actually sends for each
// Request against testdata/request/*.json (go test -update rewrites them),
// and that ConverseStream sends the very same body.
func TestRequestBody(t *testing.T) {
	for _, tt := range requestCases {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, answerOK)
			if _, err := f.client(false).Converse(context.Background(), &tt.req); err != nil {
				t.Fatal(err)
			}
			body := f.body("/model/m/converse")
			checkGolden(t, filepath.Join("testdata", "request", fileName(tt.name)+".json"), body)

			if _, err := f.client(true).Converse(context.Background(), &tt.req); err != nil {
				t.Fatal(err)
			}
			if streamed := f.body("/model/m/converse-stream"); !bytes.Equal(streamed, body) {
				t.Errorf("ConverseStream sent a different body:\n%s\nConverse sent:\n%s", streamed, body)
			}
		})
	}
}

// TestRequestNumbersExact guards what a golden file could be updated into:
// numbers in free JSON reach Bedrock as the same literals, not rounded
// through float64 and not quoted as strings.
func TestRequestNumbersExact(t *testing.T) {
	f := newFake(t, answerJSON(okConverse))
	req := bedrock.Request{ModelID: "m", Messages: user(text("Hi")),
		AdditionalFields: json.RawMessage(`{"seed":12345678901234567890,"x":[0.1000000000000000055511151231257827,1E+400]}`),
		Tool:             &bedrock.Tool{Name: "t", InputSchema: json.RawMessage(`{"type":"object","maximum":9007199254740993}`)}}
	if _, err := f.client(false).Converse(context.Background(), &req); err != nil {
		t.Fatal(err)
	}
	body := string(f.body("/model/m/converse"))
	for _, want := range []string{`"seed":12345678901234567890`, `[0.1000000000000000055511151231257827,1E+400]`, `"maximum":9007199254740993`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
}

// TestCountTokensBody checks that CountTokens sends what counts toward the
// input (messages, system and its cache point, the tool, the additional
// fields) and nothing CountTokens does not accept.
func TestCountTokensBody(t *testing.T) {
	f := newFake(t, answerOK)
	req := requestCases[len(requestCases)-1].req
	n, err := f.client(false).CountTokens(context.Background(), &req)
	if err != nil || n != 42 {
		t.Fatalf("CountTokens = %d, %v; want 42", n, err)
	}
	checkGolden(t, filepath.Join("testdata", "request", "count-tokens.json"), f.body("/model/m/count-tokens"))
}

func fileName(name string) string { return strings.ReplaceAll(name, " ", "-") }

// checkGolden compares got, indented, with the golden file at path.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	var indented bytes.Buffer
	if err := json.Indent(&indented, got, "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	indented.WriteByte('\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(indented.Bytes(), want) {
		t.Errorf("body differs from %s:\n got: %s\nwant: %s", path, indented.Bytes(), want)
	}
}
