package writer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// stdlibLine is what encoding/json writes for row, the reference of the
// hand-written encoder.
func stdlibLine(t testing.TB, row Row) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(row); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestJSONLMatchesEncodingJSON(t *testing.T) {
	rows := sampleRows()
	rows = append(rows,
		Row{ID: "empty"},
		Row{ID: "\"\\/\b\f\n\r\t", Output: "\u00e9\U0001F600\ufffd\xed\xa0\x80 <>&", Metadata: json.RawMessage(` [ "a" , {"b" : "<\u2028>"} ] `)},
	)
	enc := newJSONLEncoder()
	for i, row := range rows {
		got := string(enc.appendRow(nil, &row))
		if want := stdlibLine(t, row); got != want {
			t.Errorf("row %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestJSONLInvalidMetadataStaysOneLine(t *testing.T) {
	enc := newJSONLEncoder()
	line := enc.appendRow(nil, &Row{ID: "x", Metadata: json.RawMessage("{broken\n")})
	var back map[string]any
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatalf("line %q is not JSON: %v", line, err)
	}
	if back["metadata"] != "{broken\n" || bytes.Count(line, []byte("\n")) != 1 {
		t.Errorf("got %q", line)
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	dir := t.TempDir()
	dest := storage.NewLocalDir(dir)
	w, err := New(dest, Options{Format: JSONL, NamePrefix: "part-t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rows := sampleRows()
	for i := range rows {
		if err := w.Write(ctx, &rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "part-t-00000.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sample.jsonl", data)

	// Every line has exactly the Row's fields, and decodes back to the row.
	want := []string{"id", "status", "output", "output_json", "stop_reason", "input_tokens", "output_tokens", "total_tokens",
		"cache_read_input_tokens", "cache_write_input_tokens", "latency_ms", "time_to_first_token_ms", "attempts", "model_id",
		"service_tier", "route", "error_type", "error_message", "metadata", "run_id", "finished_at"}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for i := 0; sc.Scan(); i++ {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(fields) != len(want) {
			t.Errorf("line %d has %d fields, want %d", i+1, len(fields), len(want))
		}
		for _, k := range want {
			if _, ok := fields[k]; !ok {
				t.Errorf("line %d has no %q", i+1, k)
			}
		}
		var back Row
		if err := json.Unmarshal(sc.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		var ref Row // what encoding/json's own line decodes to
		if err := json.Unmarshal([]byte(stdlibLine(t, rows[i])), &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, ref) {
			t.Errorf("line %d does not round trip:\n got %+v\nwant %+v", i+1, back, ref)
		}
		if back.ID != rows[i].ID || back.InputTokens != rows[i].InputTokens {
			t.Errorf("line %d: id %q tokens %d", i+1, back.ID, back.InputTokens)
		}
	}
}
