package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// prompt is the text of record i, different for every record so each row
// can be checked against its own prompt's answer.
func prompt(i int) string {
	return fmt.Sprintf("Summarise item %d of the catalogue in %d words please", i, 5+i%7)
}

type inputRecord struct {
	ID     string `parquet:"id" json:"id"`
	Prompt string `parquet:"prompt" json:"prompt"`
}

func makeRecords(n int) []inputRecord {
	recs := make([]inputRecord, n)
	for i := range recs {
		recs[i] = inputRecord{ID: fmt.Sprintf("rec-%05d", i), Prompt: prompt(i)}
	}
	return recs
}

func writeJSONLInput(t *testing.T, path string, recs []inputRecord) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeParquetInput(t *testing.T, path string, recs []inputRecord) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Small row groups, so the reader has to cross several.
	pw := parquet.NewGenericWriter[inputRecord](f, parquet.MaxRowsPerRowGroup(700), parquet.Compression(&parquet.Zstd))
	if _, err := pw.Write(recs); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readOutput reads every data row in dir, JSONL with encoding/json and
// Parquet with a reader that shares no code with the writer.
func readOutput(t *testing.T, dir string) []writer.Row {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []writer.Row
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasPrefix(name, "_"):
			if strings.HasPrefix(name, "_tmp") {
				t.Errorf("unfinished file left behind: %s", name)
			}
		case strings.HasSuffix(name, ".jsonl"):
			rows = append(rows, readJSONLRows(t, path)...)
		case strings.HasSuffix(name, ".parquet"):
			rows = append(rows, readParquetRows(t, path)...)
		default:
			t.Errorf("unexpected file in output: %s", name)
		}
	}
	return rows
}

func readJSONLRows(t *testing.T, path string) []writer.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []writer.Row
	dec := json.NewDecoder(f)
	for dec.More() {
		var row writer.Row
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, row)
	}
	return rows
}

func readManifest(t *testing.T, dir string) manifest.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, manifest.Name))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// checkRows asserts the run's contract: every input id exactly once, every
// ok row holding its own prompt's answer and usage, and token totals equal
// to what the emulator served.
func checkRows(t *testing.T, recs []inputRecord, rows []writer.Row, srv *bedrocktest.Server) {
	t.Helper()
	input, output := checkRowsOnce(t, recs, rows)
	stats := srv.Stats()
	if input != stats.InputTokens || output != stats.OutputTokens {
		t.Errorf("rows hold %d input / %d output tokens; the emulator served %d / %d", input, output, stats.InputTokens, stats.OutputTokens)
	}
}

// checkRowsOnce asserts every input id has exactly one row, and every ok
// row its own prompt's answer and usage; it returns the token totals.
func checkRowsOnce(t *testing.T, recs []inputRecord, rows []writer.Row) (input, output int64) {
	t.Helper()
	want := make(map[string]inputRecord, len(recs))
	for _, r := range recs {
		want[r.ID] = r
	}
	seen := make(map[string]bool, len(rows))
	for _, row := range rows {
		rec, ok := want[row.ID]
		if !ok {
			t.Errorf("row for unknown id %q", row.ID)
			continue
		}
		if seen[row.ID] {
			t.Errorf("id %q has two rows", row.ID)
		}
		seen[row.ID] = true
		if row.Status != writer.StatusOK {
			t.Errorf("id %q: status %q (%s: %s) after %d attempts", row.ID, row.Status, row.ErrorType, row.ErrorMessage, row.Attempts)
			continue
		}
		if wantText := bedrocktest.Answer(rec.Prompt); row.Output != wantText {
			t.Errorf("id %q: output %q, want %q", row.ID, row.Output, wantText)
		}
		if wantIn := bedrocktest.CountTokens(rec.Prompt); row.InputTokens != wantIn {
			t.Errorf("id %q: input_tokens %d, want %d", row.ID, row.InputTokens, wantIn)
		}
		if row.TotalTokens != row.InputTokens+row.OutputTokens || row.OutputTokens == 0 {
			t.Errorf("id %q: tokens in %d out %d total %d", row.ID, row.InputTokens, row.OutputTokens, row.TotalTokens)
		}
		if row.Attempts < 1 || row.StopReason != "end_turn" {
			t.Errorf("id %q: attempts %d stop_reason %q", row.ID, row.Attempts, row.StopReason)
		}
		input += row.InputTokens
		output += row.OutputTokens
	}
	if len(seen) != len(want) {
		t.Errorf("%d of %d ids have a row", len(seen), len(want))
	}
	return input, output
}

func TestRunFormatsWithFaults(t *testing.T) {
	t.Parallel()
	faults := bedrocktest.Faults{Throttle: 0.10, InternalError: 0.03, Unavailable: 0.01, Reset: 0.01}
	tests := []struct {
		name         string
		records      int
		inputFormat  string
		outputFormat string
	}{
		{"jsonl to jsonl", 1200, "jsonl", "jsonl"},
		{"jsonl to parquet", 400, "jsonl", "parquet"},
		{"parquet to jsonl", 400, "parquet", "jsonl"},
		{"parquet to parquet", 400, "parquet", "parquet"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, bedrocktest.Options{Faults: faults, Seed: int64(i + 1)})
			dir := t.TempDir()
			recs := makeRecords(tt.records)
			input := filepath.Join(dir, "prompts."+tt.inputFormat)
			if tt.inputFormat == "parquet" {
				writeParquetInput(t, input, recs)
			} else {
				writeJSONLInput(t, input, recs)
			}
			out := filepath.Join(dir, "out")
			res := runBatch(t, srv.URL, "run", "--input", input, "--output", out, "--output-format", tt.outputFormat,
				"--model", "anthropic.claude-3-haiku-20240307-v1:0", "--concurrency", "64")
			if res.code != exitOK {
				t.Fatalf("exit %d, want 0\nstderr:\n%s", res.code, res.stderr)
			}
			rows := readOutput(t, out)
			checkRows(t, recs, rows, srv)

			stats := srv.Stats()
			if stats.Faults == 0 {
				t.Fatalf("no faults were injected: the test proves nothing")
			}
			m := readManifest(t, out)
			if !m.Complete || m.Counts.Records != int64(len(recs)) || m.Counts.OK != int64(len(recs)) || m.Counts.Error != 0 {
				t.Errorf("manifest counts %+v complete %v", m.Counts, m.Complete)
			}
			if m.Tokens.Input != stats.InputTokens || m.Tokens.Output != stats.OutputTokens {
				t.Errorf("manifest tokens %+v, emulator served %d/%d", m.Tokens, stats.InputTokens, stats.OutputTokens)
			}
			if m.Calls.Attempts != stats.Requests {
				t.Errorf("manifest says %d calls, the emulator received %d", m.Calls.Attempts, stats.Requests)
			}
			if len(m.OutputFiles) == 0 {
				t.Errorf("manifest lists no output files")
			}
		})
	}
}
