package writer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestBatchStyleRoundTrip writes rows in the bedrock-batch style and reads
// them back: the line has Bedrock's shape, and the row survives.
func TestBatchStyleRoundTrip(t *testing.T) {
	input := json.RawMessage(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":5}}`)
	tests := []struct {
		name  string
		row   Row
		shape []string // JSON paths that must be present
	}{
		{"ok text", Row{ID: "r1", Status: StatusOK, Output: "hello", StopReason: "end_turn", InputTokens: 3, OutputTokens: 2,
			TotalTokens: 5, CacheReadInputTokens: 7, LatencyMs: 12, ModelInput: input},
			[]string{"recordId", "modelInput", "modelOutput"}},
		{"ok structured", Row{ID: "r2", Status: StatusOK, Output: `{"a":1}`, OutputJSON: json.RawMessage(`{"a":1}`), StopReason: "tool_use",
			InputTokens: 1, OutputTokens: 1, TotalTokens: 2, ModelInput: input, Metadata: json.RawMessage(`{"k":"v"}`)},
			[]string{"recordId", "modelInput", "modelOutput", "metadata"}},
		{"error", Row{ID: "r3", Status: StatusError, ErrorType: "ValidationException", ErrorMessage: "bad", ModelInput: input},
			[]string{"recordId", "modelInput", "error"}},
		{"invalid record without input", Row{ID: "r4", Status: StatusError, ErrorType: "InvalidRecord", ErrorMessage: "line 4: no prompt"},
			[]string{"recordId", "error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := appendBatchRow(nil, &tt.row)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
				t.Fatalf("not one line: %q", line)
			}
			var generic map[string]json.RawMessage
			if err := json.Unmarshal(line, &generic); err != nil {
				t.Fatal(err)
			}
			if len(generic) != len(tt.shape) {
				t.Errorf("keys %v, want %v", keys(generic), tt.shape)
			}
			for _, k := range tt.shape {
				if _, ok := generic[k]; !ok {
					t.Errorf("no %q in %s", k, line)
				}
			}
			if !IsBatchStyleLine(line) {
				t.Errorf("IsBatchStyleLine(%s) = false", line)
			}
			back, err := DecodeJSONLRow(line)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.row // attempts and model_id are not in Bedrock's lines; the rest is
			if !reflect.DeepEqual(*back, want) {
				t.Errorf("read back\n%+v\nwant\n%+v", *back, want)
			}
		})
	}
	if code := httpStatusOf("ThrottlingException"); code != 429 {
		t.Errorf("ThrottlingException is %d", code)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDecodeJSONLRowFlat reads the flat style too.
func TestDecodeJSONLRowFlat(t *testing.T) {
	row := Row{ID: "x", Status: StatusOK, Output: "o", InputTokens: 4}
	line := newJSONLEncoder().appendRow(nil, &row)
	back, err := DecodeJSONLRow(line)
	if err != nil || back.ID != "x" || back.Output != "o" || back.InputTokens != 4 {
		t.Errorf("got %+v, %v", back, err)
	}
}
