package reader

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// readParquetFile reads every record of a Parquet file.
func readParquetFile(t *testing.T, path string) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewParquet(bytes.NewReader(data), int64(len(data)), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return readAll(t, r)
}

// TestParquetDuckDB reads files written by DuckDB (see
// testdata/make_fixtures.mjs) and compares them with golden files.
func TestParquetDuckDB(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		count int
		rows  []int // 1-based rows to put in the golden file; nil = all
	}{
		{name: "zstd, dictionary, 3 row groups, string ids, nulls", file: "duckdb_zstd_dict", count: 5000,
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2047, 2048, 2049, 4096, 4097, 5000}},
		{name: "snappy, int64 ids, messages column", file: "duckdb_snappy_int", count: 100},
		{name: "gzip, int32 ids, prompt and messages columns", file: "duckdb_gzip_int32", count: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := readParquetFile(t, filepath.Join("testdata", tt.file+".parquet"))
			if len(recs) != tt.count {
				t.Fatalf("got %d records, want %d", len(recs), tt.count)
			}
			var out strings.Builder
			for i, rec := range recs {
				if rec.Origin.Row != int64(i+1) {
					t.Fatalf("record %d has row %d", i, rec.Origin.Row)
				}
				if tt.rows == nil || containsInt(tt.rows, i+1) {
					out.WriteString(renderRecord(rec) + "\n")
				}
			}
			checkGolden(t, filepath.Join("testdata", tt.file+".golden"), out.String())
		})
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// pqRow is a row written with parquet-go in tests.
type pqRow struct {
	ID       *int32  `parquet:"id,optional"`
	Prompt   *string `parquet:"prompt,optional,dict"`
	System   *string `parquet:"system,optional,dict"`
	Metadata []byte  `parquet:"metadata,optional"` // BYTE_ARRAY without the STRING type
	Other    float64 `parquet:"other"`
}

// writeParquet writes rows to a file in dir with parquet-go and options.
func writeParquet[T any](t testing.TB, dir, name string, rows []T, opts ...parquet.WriterOption) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	// One row per Write: parquet-go v0.32.0 gets the nulls of zero-value
	// optional fields wrong in some multi-row writes.
	for i := range rows {
		if _, err := w.Write(rows[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr[T any](v T) *T { return &v }

func TestParquetWrittenByParquetGo(t *testing.T) {
	var rows []pqRow
	for i := 1; i <= 50; i++ {
		r := pqRow{ID: ptr(int32(i)), Prompt: ptr("same prompt"), Other: float64(i)}
		switch i {
		case 3:
			r.ID = nil
		case 4:
			r.Prompt = nil
		case 5:
			r.Prompt = ptr("")
		case 6:
			r.Metadata = []byte(`[1, {"a":"b"}]`)
		case 7:
			r.Metadata = []byte("not json")
		case 8:
			r.System = ptr("sys")
		case 9:
			r.Prompt = ptr("bad \xff utf-8")
		}
		rows = append(rows, r)
	}
	want := map[int]string{
		1:  `{"id":"1","origin":"F row 1","messages":[{"role":"user","text":["same prompt"]}]}`,
		3:  `{"id":"F:3","origin":"F row 3","messages":[{"role":"user","text":["same prompt"]}]}`,
		4:  `{"id":"4","origin":"F row 4","err_field":"prompt","err":"is null"}`,
		5:  `{"id":"5","origin":"F row 5","err_field":"prompt","err":"must not be empty"}`,
		6:  `{"id":"6","origin":"F row 6","messages":[{"role":"user","text":["same prompt"]}],"metadata":"[1, {\"a\":\"b\"}]"}`,
		7:  `{"id":"7","origin":"F row 7","messages":[{"role":"user","text":["same prompt"]}],"metadata":"\"not json\""}`,
		8:  `{"id":"8","origin":"F row 8","messages":[{"role":"user","text":["same prompt"]}],"system":"sys"}`,
		9:  `{"id":"9","origin":"F row 9","err_field":"prompt","err":"invalid UTF-8 at byte 4"}`,
		50: `{"id":"50","origin":"F row 50","messages":[{"role":"user","text":["same prompt"]}]}`,
	}
	tests := []struct {
		name string
		opts []parquet.WriterOption
	}{
		{"zstd, dictionary, row groups of 7", []parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(7)}},
		{"snappy, one row group", []parquet.WriterOption{parquet.Compression(&parquet.Snappy)}},
		{"uncompressed, data page v2", []parquet.WriterOption{parquet.DataPageVersion(2), parquet.MaxRowsPerRowGroup(20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeParquet(t, t.TempDir(), "F", rows, tt.opts...)
			recs := readParquetFile(t, path)
			if len(recs) != len(rows) {
				t.Fatalf("got %d records, want %d", len(recs), len(rows))
			}
			for i, rec := range recs {
				got := strings.ReplaceAll(renderRecord(rec), path, "F")
				if w, ok := want[i+1]; ok && got != w {
					t.Errorf("row %d:\n got %s\nwant %s", i+1, got, w)
				}
			}
		})
	}
}

func TestNewParquetErrors(t *testing.T) {
	dir := t.TempDir()
	type intPrompt struct {
		Prompt int64 `parquet:"prompt"`
	}
	type floatID struct {
		ID     float64 `parquet:"id"`
		Prompt string  `parquet:"prompt"`
	}
	type listMessages struct {
		Messages []string `parquet:"messages,list"`
	}
	type nestedPrompt struct {
		Prompt struct {
			Text string `parquet:"text"`
		} `parquet:"prompt"`
	}
	notParquet := filepath.Join(dir, "text.parquet")
	if err := os.WriteFile(notParquet, []byte("PAR1 this is not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.parquet")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string // substrings of the error
	}{
		{"no prompt or messages column", filepath.Join("testdata", "duckdb_no_prompt.parquet"), []string{"duckdb_no_prompt.parquet", `"prompt"`, `"messages"`}},
		{"prompt of a wrong type", writeParquet(t, dir, "intprompt.parquet", []intPrompt{{1}}), []string{"intprompt.parquet", `column "prompt"`, "want a string"}},
		{"id of a wrong type", writeParquet(t, dir, "floatid.parquet", []floatID{{1, "p"}}), []string{"floatid.parquet", `column "id"`}},
		{"messages as a list", writeParquet(t, dir, "list.parquet", []listMessages{{[]string{"a"}}}), []string{"list.parquet", `column "messages"`, "nested or repeated"}},
		{"nested prompt", writeParquet(t, dir, "nested.parquet", []nestedPrompt{{}}), []string{"nested.parquet", `column "prompt"`}},
		{"not a Parquet file", notParquet, []string{"text.parquet", "not a readable Parquet file"}},
		{"empty file", empty, []string{"empty.parquet", "not a readable Parquet file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewParquet(bytes.NewReader(data), int64(len(data)), tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParquetCorrupt damages a file in many places: every damage must give
// an error naming the file or go unnoticed, never a panic.
func TestParquetCorrupt(t *testing.T) {
	type row struct {
		ID     int64  `parquet:"id"`
		Prompt string `parquet:"prompt,dict"`
	}
	rows := make([]row, 500)
	for i := range rows {
		rows[i] = row{int64(i), fmt.Sprintf("prompt number %d", i%37)}
	}
	path := writeParquet(t, t.TempDir(), "c.parquet", rows, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(200))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkDamage(t, orig, 7, len(rows), Options{})
}

// checkDamage damages two bytes of orig every stride bytes and reads each
// damaged copy as "c.parquet" with o: every damage must give an error
// naming the file, or records (at most rows of them), and some damage must
// be noticed. A panic or a hang fails the test by itself.
func checkDamage(t *testing.T, orig []byte, stride, rows int, o Options) {
	t.Helper()
	errs := 0
	for off := 4; off < len(orig)-8; off += stride {
		data := bytes.Clone(orig)
		data[off] ^= 0xa5
		data[off+1] ^= 0x3c
		r, err := NewParquetWith(bytes.NewReader(data), int64(len(data)), "c.parquet", o)
		if err == nil {
			for i := 0; err == nil; i++ {
				if i > rows {
					t.Fatalf("offset %d: more records than rows", off)
				}
				_, err = r.Next(t.Context())
			}
			r.Close()
			if err == io.EOF {
				continue
			}
		}
		errs++
		if !strings.Contains(err.Error(), "c.parquet") {
			t.Errorf("offset %d: error %q does not name the file", off, err)
		}
	}
	if errs == 0 {
		t.Error("no damage was noticed")
	}
	t.Logf("%d of %d damages noticed", errs, (len(orig)-12)/stride)
}

func BenchmarkParquet(b *testing.B) {
	type row struct {
		ID       string `parquet:"id"`
		Prompt   string `parquet:"prompt"`
		Metadata string `parquet:"metadata,optional"`
	}
	rows := make([]row, 10_000)
	for i := range rows {
		rows[i] = row{fmt.Sprintf("rec-%08d", i), "Summarize: " + strings.Repeat("lorem ipsum ", 40), `{"n":42}`}
	}
	path := writeParquet(b, b.TempDir(), "bench.parquet", rows, parquet.Compression(&parquet.Zstd))
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		r, err := NewParquet(bytes.NewReader(data), int64(len(data)), "bench.parquet")
		if err != nil {
			b.Fatal(err)
		}
		for ; n < b.N; n++ {
			rec, err := r.Next(ctx)
			if err != nil {
				break
			}
			if rec.Err != nil {
				b.Fatal(rec.Err)
			}
		}
		r.Close()
	}
}
