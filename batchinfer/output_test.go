package batchinfer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenOutput is an Output as the golden file shows it, with its classification.
type goldenOutput struct {
	Output
	ErrorType string
	Retryable bool
}

func TestParseOutputGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "outputs.jsonl.out"))
	if err != nil {
		t.Fatal(err)
	}
	var got []goldenOutput
	err = readLines(bytes.NewReader(data), func(n int, line []byte) error {
		o, err := parseOutput(line)
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		got = append(got, goldenOutput{o, o.ErrorType(), o.Retryable()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	golden := filepath.Join("testdata", "outputs.golden.json")
	if *update {
		if err := os.WriteFile(golden, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(gotJSON, want) {
		t.Errorf("outputs differ from %s (go test -update rewrites it):\n%s", golden, gotJSON)
	}
}

func TestParseOutputRejects(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"not JSON", `{"recordId":"a",`, "not a JSON object"},
		{"array", `[1]`, "not a JSON object"},
		{"no recordId", `{"modelInput":{},"modelOutput":{}}`, "no recordId"},
		{"empty recordId", `{"recordId":"","modelOutput":{}}`, "no recordId"},
		{"neither output nor error", `{"recordId":"a","modelInput":{}}`, "neither modelOutput nor error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOutput([]byte(tt.line))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseOutput: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestErrorCodeForms(t *testing.T) {
	tests := []struct {
		raw  string
		want int
	}{
		{`429`, 429}, {`"503"`, 503}, {`" 400 "`, 400}, {`"ThrottlingException"`, 429},
		{`"nonsense"`, 0}, {`null`, 0}, {`4.5`, 0}, {`{}`, 0},
	}
	for _, tt := range tests {
		if got := errorCode(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("errorCode(%s) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

func TestRetryableAndErrorType(t *testing.T) {
	tests := []struct {
		code      int
		retryable bool
		errorType string
	}{
		{400, false, "ValidationException"},
		{403, false, "AccessDeniedException"},
		{404, false, "ResourceNotFoundException"},
		{408, true, "ModelTimeoutException"},
		{424, true, "ModelErrorException"},
		{429, true, "ThrottlingException"},
		{500, true, "InternalServerException"},
		{502, true, "BatchError502"},
		{503, true, "ServiceUnavailableException"},
		{504, true, "BatchError504"},
		{418, false, "BatchError418"},
		{0, false, "BatchError0"},
	}
	for _, tt := range tests {
		o := Output{ErrorCode: tt.code}
		if got := o.Retryable(); got != tt.retryable {
			t.Errorf("code %d: Retryable = %t, want %t", tt.code, got, tt.retryable)
		}
		if got := o.ErrorType(); got != tt.errorType {
			t.Errorf("code %d: ErrorType = %q, want %q", tt.code, got, tt.errorType)
		}
	}
	ok := Output{OK: true, ErrorCode: 429}
	if ok.Retryable() || ok.ErrorType() != "" {
		t.Errorf("a record that succeeded: Retryable %t, ErrorType %q", ok.Retryable(), ok.ErrorType())
	}
}

func TestReadLinesLong(t *testing.T) {
	long := strings.Repeat("x", 1<<20+17) // longer than the reader's buffer
	input := "first\n\n" + long + "\r\n  \nlast-without-newline"
	var got []string
	var numbers []int
	err := readLines(&trickle{[]byte(input)}, func(n int, line []byte) error {
		got = append(got, string(line))
		numbers = append(numbers, n)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first", long, "last-without-newline"}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
	if numbers[0] != 1 || numbers[1] != 3 || numbers[2] != 5 {
		t.Errorf("line numbers %v, want [1 3 5]", numbers)
	}
}

func BenchmarkParseOutput(b *testing.B) {
	line := []byte(`{"recordId":"ok-1","modelInput":{"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("lorem ipsum ", 200) +
		`"}]}]},"modelOutput":{"output":{"message":{"role":"assistant","content":[{"text":"` + strings.Repeat("dolor sit ", 50) +
		`"}]}},"stopReason":"end_turn","usage":{"inputTokens":612,"outputTokens":104,"totalTokens":716},"metrics":{"latencyMs":812}}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := parseOutput(line); err != nil {
			b.Fatal(err)
		}
	}
}
