package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

var toolReq = bedrock.Request{ModelID: "m", Messages: user(text("Extract")),
	Tool: &bedrock.Tool{Name: "record", InputSchema: json.RawMessage(`{"type":"object"}`)}}

func TestConverseResponse(t *testing.T) {
	tests := []struct {
		name string
		req  bedrock.Request
		body string
		want bedrock.Response
	}{
		{
			name: "text blocks joined, cache usage, tier",
			req:  bedrock.Request{ModelID: "m", Messages: user(text("Hi"))},
			body: `{"output":{"message":{"role":"assistant","content":[{"text":"Hello, "},{"text":"world"}]}},"stopReason":"end_turn",
				"usage":{"inputTokens":10,"outputTokens":3,"totalTokens":2013,"cacheReadInputTokens":1500,"cacheWriteInputTokens":500},
				"metrics":{"latencyMs":321},"serviceTier":{"type":"flex"}}`,
			want: bedrock.Response{Text: "Hello, world", StopReason: "end_turn", LatencyMs: 321, ServiceTier: "flex",
				Usage: bedrock.Usage{InputTokens: 10, OutputTokens: 3, TotalTokens: 2013, CacheReadInputTokens: 1500, CacheWriteInputTokens: 500}},
		},
		{
			name: "tool input of the forced tool, numbers exact",
			req:  toolReq,
			body: `{"output":{"message":{"role":"assistant","content":[{"text":"Here."},
				{"toolUse":{"toolUseId":"t0","name":"other","input":{"x":1}}},
				{"toolUse":{"toolUseId":"t1","name":"record","input":{"id":12345678901234567890,"score":0.1000000000000000055511151231257827,"tags":["a"],"nested":{"n":null}}}}]}},
				"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},"metrics":{"latencyMs":5}}`,
			want: bedrock.Response{Text: "Here.", StopReason: "tool_use", LatencyMs: 5,
				ToolInput: json.RawMessage(`{"id":12345678901234567890,"nested":{"n":null},"score":0.1000000000000000055511151231257827,"tags":["a"]}`),
				Usage:     bedrock.Usage{InputTokens: 1, OutputTokens: 2, TotalTokens: 3}},
		},
		{
			name: "tool not called",
			req:  toolReq,
			body: `{"output":{"message":{"role":"assistant","content":[{"text":"No."}]}},"stopReason":"guardrail_intervened",
				"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":5}}`,
			want: bedrock.Response{Text: "No.", StopReason: "guardrail_intervened", LatencyMs: 5,
				Usage: bedrock.Usage{InputTokens: 1, OutputTokens: 1, TotalTokens: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, answerJSON(tt.body))
			got, err := f.client(false).Converse(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, got, tt.want)
		})
	}
}

func checkResponse(t *testing.T, got, want bedrock.Response) {
	t.Helper()
	if string(got.ToolInput) != string(want.ToolInput) {
		t.Errorf("tool input\n got %s\nwant %s", got.ToolInput, want.ToolInput)
	}
	got.ToolInput, want.ToolInput = nil, nil
	if got.TimeToFirstTokenMs > 0 {
		want.TimeToFirstTokenMs = got.TimeToFirstTokenMs // checked apart
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("response\n got %+v\nwant %+v", got, want)
	}
}

// toolStream is a whole stream in which the model calls record with input
// sent as chunks, after a text block.
func toolStream(stopReason string, chunks ...string) []event {
	events := []event{
		{name: "messageStart", payload: `{"role":"assistant"}`},
		{name: "contentBlockDelta", payload: `{"contentBlockIndex":0,"delta":{"text":"Calling."}}`},
		{name: "contentBlockStop", payload: `{"contentBlockIndex":0}`},
		{name: "contentBlockStart", payload: `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"record"}}}`},
	}
	for _, c := range chunks {
		events = append(events, event{name: "contentBlockDelta", payload: `{"contentBlockIndex":1,"delta":{"toolUse":{"input":` + quote(c) + `}}}`})
	}
	return append(events,
		event{name: "contentBlockStop", payload: `{"contentBlockIndex":1}`},
		event{name: "messageStop", payload: `{"stopReason":"` + stopReason + `"}`},
		event{name: "metadata", payload: `{"usage":{"inputTokens":4,"outputTokens":9,"totalTokens":13,"cacheReadInputTokens":2,"cacheWriteInputTokens":1},` +
			`"metrics":{"latencyMs":77},"serviceTier":{"type":"priority"}}`})
}

func TestStreamResponse(t *testing.T) {
	usage := bedrock.Usage{InputTokens: 4, OutputTokens: 9, TotalTokens: 13, CacheReadInputTokens: 2, CacheWriteInputTokens: 1}
	tests := []struct {
		name      string
		req       bedrock.Request
		events    []event
		want      bedrock.Response
		wantClass bedrock.Class // 0: success
		wantType  string
	}{
		{
			name:   "tool input assembled from chunks",
			req:    toolReq,
			events: toolStream("tool_use", `{"id": 1234`, `5678901234567890, "s": "a`, `\"b", "x": [1.50`, `]}`),
			want: bedrock.Response{Text: "Calling.", StopReason: "tool_use", LatencyMs: 77, ServiceTier: "priority", Usage: usage,
				ToolInput: json.RawMessage(`{"id":12345678901234567890,"s":"a\"b","x":[1.50]}`)},
		},
		{
			name:   "tool with no input",
			req:    toolReq,
			events: toolStream("tool_use"),
			want: bedrock.Response{Text: "Calling.", StopReason: "tool_use", LatencyMs: 77, ServiceTier: "priority", Usage: usage,
				ToolInput: json.RawMessage(`{}`)},
		},
		{
			name:      "tool input not JSON is retried",
			req:       toolReq,
			events:    toolStream("tool_use", `{"id": 12`, `,,}`),
			wantClass: bedrock.Retryable, wantType: bedrock.TypeInvalidToolInput,
		},
		{
			name:   "tool input cut by max tokens is no input",
			req:    toolReq,
			events: toolStream("max_tokens", `{"id": 12`, `, "s": "ab`),
			want:   bedrock.Response{Text: "Calling.", StopReason: "max_tokens", LatencyMs: 77, ServiceTier: "priority", Usage: usage},
		},
		{
			name:      "no metadata",
			req:       toolReq,
			events:    toolStream("tool_use", `{}`)[:7],
			wantClass: bedrock.Retryable, wantType: bedrock.TypeIncompleteReply,
		},
		{
			name:      "exception mid-stream",
			req:       toolReq,
			events:    append(toolStream("tool_use", `{"id": 1`)[:5], event{name: "throttlingException", payload: `{"message":"slow down"}`, exception: true}),
			wantClass: bedrock.Throttled, wantType: "ThrottlingException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, answerStream(tt.events...))
			got, err := f.client(true).Converse(context.Background(), &tt.req)
			if tt.wantClass != 0 {
				var callErr *bedrock.Error
				if !errors.As(err, &callErr) || callErr.Class != tt.wantClass || callErr.Type != tt.wantType {
					t.Fatalf("error %v, want %v %s", err, tt.wantClass, tt.wantType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TimeToFirstTokenMs <= 0 {
				t.Errorf("TimeToFirstTokenMs = %d, want > 0", got.TimeToFirstTokenMs)
			}
			checkResponse(t, got, tt.want)
		})
	}
}

// TestStreamTimeToFirstToken checks that TTFT measures the wait for the
// first content, text or tool input, not the whole call.
func TestStreamTimeToFirstToken(t *testing.T) {
	for _, tt := range []struct {
		name   string
		req    bedrock.Request
		events []event
	}{
		{"text", bedrock.Request{ModelID: "m", Messages: user(text("Hi"))}, textStream("a", "b")},
		{"tool use", toolReq, toolStream("tool_use", `{}`)[3:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const first, rest = 60 * time.Millisecond, 150 * time.Millisecond
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
				time.Sleep(first)
				writeEvents(w, tt.events[:2])
				time.Sleep(rest)
				writeEvents(w, tt.events[2:])
			})
			start := time.Now()
			got, err := f.client(true).Converse(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			total := time.Since(start)
			ttft := time.Duration(got.TimeToFirstTokenMs) * time.Millisecond
			if ttft < first || ttft >= total-rest/2 {
				t.Errorf("TimeToFirstTokenMs = %v, want about %v (call took %v)", ttft, first, total)
			}
		})
	}
}
