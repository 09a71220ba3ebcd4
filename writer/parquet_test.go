package writer

// The Parquet files of the writer are read back here with Apache Arrow's Go
// implementation, which shares no code with parquet-go, the writer's.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// arrowRow is a row as Arrow reads it: nil pointers are nulls.
type arrowRow struct {
	ID, Status                                  string
	Output, StopReason, ModelID                 *string
	ErrorType, ErrorMessage, Metadata           *string
	InputTokens, OutputTokens, TotalTokens      int64
	CacheReadInputTokens, CacheWriteInputTokens int64
	LatencyMs, Attempts                         int64
}

// openArrow opens Parquet bytes with Arrow's low-level reader.
func openArrow(t *testing.T, data []byte) *file.Reader {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("arrow cannot open the file: %v", err)
	}
	return r
}

// readParquetRows reads every row of a Parquet file with Arrow's pqarrow.
func readParquetRows(t *testing.T, data []byte) []arrowRow {
	t.Helper()
	pf := openArrow(t, data)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()

	rows := make([]arrowRow, table.NumRows())
	col := func(name string) *arrow.Chunked {
		idx := table.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q in %v", name, table.Schema())
		}
		return table.Column(idx[0]).Data()
	}
	str := func(name string, set func(r *arrowRow, v *string)) {
		i := 0
		for _, chunk := range col(name).Chunks() {
			a, ok := chunk.(*array.String)
			if !ok {
				t.Fatalf("column %q is %T, want a string array", name, chunk)
			}
			for j := 0; j < a.Len(); j, i = j+1, i+1 {
				if a.IsNull(j) {
					set(&rows[i], nil)
				} else {
					v := a.Value(j)
					set(&rows[i], &v)
				}
			}
		}
	}
	i64 := func(name string, set func(r *arrowRow, v int64)) {
		i := 0
		for _, chunk := range col(name).Chunks() {
			a, ok := chunk.(*array.Int64)
			if !ok {
				t.Fatalf("column %q is %T, want an int64 array", name, chunk)
			}
			for j := 0; j < a.Len(); j, i = j+1, i+1 {
				if a.IsNull(j) {
					t.Fatalf("column %q row %d is null", name, i)
				}
				set(&rows[i], a.Value(j))
			}
		}
	}
	required := func(set func(r *arrowRow, v string)) func(r *arrowRow, v *string) {
		return func(r *arrowRow, v *string) {
			if v == nil {
				t.Fatal("null in a required column")
			}
			set(r, *v)
		}
	}
	str("id", required(func(r *arrowRow, v string) { r.ID = v }))
	str("status", required(func(r *arrowRow, v string) { r.Status = v }))
	str("output", func(r *arrowRow, v *string) { r.Output = v })
	str("stop_reason", func(r *arrowRow, v *string) { r.StopReason = v })
	str("model_id", func(r *arrowRow, v *string) { r.ModelID = v })
	str("error_type", func(r *arrowRow, v *string) { r.ErrorType = v })
	str("error_message", func(r *arrowRow, v *string) { r.ErrorMessage = v })
	str("metadata", func(r *arrowRow, v *string) { r.Metadata = v })
	i64("input_tokens", func(r *arrowRow, v int64) { r.InputTokens = v })
	i64("output_tokens", func(r *arrowRow, v int64) { r.OutputTokens = v })
	i64("total_tokens", func(r *arrowRow, v int64) { r.TotalTokens = v })
	i64("cache_read_input_tokens", func(r *arrowRow, v int64) { r.CacheReadInputTokens = v })
	i64("cache_write_input_tokens", func(r *arrowRow, v int64) { r.CacheWriteInputTokens = v })
	i64("latency_ms", func(r *arrowRow, v int64) { r.LatencyMs = v })
	i64("attempts", func(r *arrowRow, v int64) { r.Attempts = v })
	return rows
}

// expectArrow is what Arrow should read for row.
func expectArrow(row Row) arrowRow {
	// Each byte that is not UTF-8 becomes U+FFFD, as in []rune(s).
	utf := func(s string) string { return string([]rune(s)) }
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		s = utf(s)
		return &s
	}
	return arrowRow{
		ID: utf(row.ID), Status: utf(row.Status),
		Output: opt(row.Output), StopReason: opt(row.StopReason), ModelID: opt(row.ModelID),
		ErrorType: opt(row.ErrorType), ErrorMessage: opt(row.ErrorMessage), Metadata: opt(string(row.Metadata)),
		InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, TotalTokens: row.TotalTokens,
		CacheReadInputTokens: row.CacheReadInputTokens, CacheWriteInputTokens: row.CacheWriteInputTokens,
		LatencyMs: row.LatencyMs, Attempts: row.Attempts,
	}
}

func (r arrowRow) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// writeParquetFile writes rows with a Writer into dir and returns the file.
func writeParquetFile(t *testing.T, dir string, rows []Row) []byte {
	t.Helper()
	return writeParquetFileWith(t, dir, rows, Options{})
}

// writeParquetFileWith is writeParquetFile with the row group bounds of o.
func writeParquetFileWith(t *testing.T, dir string, rows []Row, o Options) []byte {
	t.Helper()
	dest := storage.NewLocalDir(dir)
	o.Format, o.NamePrefix = Parquet, "part"
	w, err := New(dest, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(context.Background(), &rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParquetSchemaSeenByArrow(t *testing.T) {
	data := writeParquetFile(t, t.TempDir(), sampleRows())
	pf := openArrow(t, data)
	defer pf.Close()
	tests := []struct {
		column   string
		physical parquet.Type
		logical  schema.LogicalType
		optional bool
	}{
		{"id", parquet.Types.ByteArray, schema.StringLogicalType{}, false},
		{"status", parquet.Types.ByteArray, schema.StringLogicalType{}, false},
		{"output", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"output_json", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"stop_reason", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"input_tokens", parquet.Types.Int64, nil, false},
		{"output_tokens", parquet.Types.Int64, nil, false},
		{"total_tokens", parquet.Types.Int64, nil, false},
		{"cache_read_input_tokens", parquet.Types.Int64, nil, false},
		{"cache_write_input_tokens", parquet.Types.Int64, nil, false},
		{"latency_ms", parquet.Types.Int64, nil, false},
		{"time_to_first_token_ms", parquet.Types.Int64, nil, false},
		{"attempts", parquet.Types.Int64, nil, false},
		{"model_id", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"service_tier", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"route", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"error_type", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"error_message", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"metadata", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"run_id", parquet.Types.ByteArray, schema.StringLogicalType{}, true},
		{"finished_at", parquet.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMillis), false},
	}
	sc := pf.MetaData().Schema
	if sc.NumColumns() != len(tests) {
		t.Errorf("%d columns, want %d", sc.NumColumns(), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.column, func(t *testing.T) {
			if i >= sc.NumColumns() {
				t.Fatal("missing")
			}
			c := sc.Column(i)
			if c.Name() != tt.column || c.ColumnPath().String() != tt.column {
				t.Fatalf("column %d is %q (path %s), want %q, flat", i, c.Name(), c.ColumnPath(), tt.column)
			}
			if c.PhysicalType() != tt.physical {
				t.Errorf("physical type %s, want %s", c.PhysicalType(), tt.physical)
			}
			if tt.logical != nil && !c.LogicalType().Equals(tt.logical) {
				t.Errorf("logical type %s, want %s", c.LogicalType(), tt.logical)
			}
			if tt.physical == parquet.Types.Int64 && tt.logical == nil {
				if lt := c.LogicalType(); !lt.IsNone() && !lt.Equals(schema.NewIntLogicalType(64, true)) {
					t.Errorf("logical type %s, want none or INT(64, signed)", lt)
				}
			}
			if opt := c.MaxDefinitionLevel() > 0; opt != tt.optional {
				t.Errorf("optional = %v, want %v", opt, tt.optional)
			}
			cc, err := pf.MetaData().RowGroup(0).ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("compression %s, want ZSTD", cc.Compression())
			}
		})
	}
}

func TestParquetValuesSeenByArrow(t *testing.T) {
	rows := sampleRows()
	// Parquet keeps strings as bytes: no U+FFFD replacement, no compaction.
	data := writeParquetFile(t, t.TempDir(), rows)
	got := readParquetRows(t, data)
	if len(got) != len(rows) {
		t.Fatalf("arrow read %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		if want := expectArrow(rows[i]); !reflect.DeepEqual(got[i], want) {
			t.Errorf("row %d:\n got %s\nwant %s", i, got[i], want)
		}
	}
}

// TestParquetRowGroups checks where row groups end: at RowGroupRows rows,
// or at RowGroupBytes bytes of values, whichever comes first.
func TestParquetRowGroups(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		rows   int
		output int // bytes of each row's output
		want   []int64
	}{
		{"rows", Options{RowGroupRows: 1000}, 2234, 10, []int64{1000, 1000, 234}},
		{"bytes", Options{RowGroupBytes: 64 << 10}, 30, 10_000, []int64{7, 7, 7, 7, 2}},
		{"defaults", Options{}, 1234, 10, []int64{1234}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := make([]Row, tt.rows)
			for i := range rows {
				out := fmt.Sprintf("out %d ", i)
				rows[i] = Row{ID: fmt.Sprintf("r%d", i), Status: StatusOK, Output: out + strings.Repeat("x", tt.output-len(out)), Attempts: int64(i)}
				if i%3 == 0 {
					rows[i].Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
				}
			}
			data := writeParquetFileWith(t, t.TempDir(), rows, tt.opts)
			pf := openArrow(t, data)
			var sizes []int64
			for g := 0; g < pf.NumRowGroups(); g++ {
				sizes = append(sizes, pf.MetaData().RowGroup(g).NumRows())
			}
			pf.Close()
			if fmt.Sprint(sizes) != fmt.Sprint(tt.want) {
				t.Errorf("row groups of %v rows, want %v", sizes, tt.want)
			}
			got := readParquetRows(t, data)
			if len(got) != len(rows) {
				t.Fatalf("arrow read %d rows, want %d", len(got), len(rows))
			}
			for i := range rows {
				if want := expectArrow(rows[i]); !reflect.DeepEqual(got[i], want) {
					t.Fatalf("row %d:\n got %.200s\nwant %.200s", i, got[i], want)
				}
			}
		})
	}
}

// TestParquetMetadataIsCopied reuses a Row's Metadata buffer between writes,
// as a caller may.
func TestParquetMetadataIsCopied(t *testing.T) {
	dest := newMemDest()
	w, err := New(dest, Options{Format: Parquet, NamePrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 16)
	row := Row{Status: StatusOK}
	for i := 0; i < 10; i++ {
		buf = fmt.Appendf(buf[:0], `{"i":%d}`, i)
		row.ID, row.Metadata = fmt.Sprint(i), buf
		if err := w.Write(context.Background(), &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, r := range readParquetRows(t, dest.files["p-00000.parquet"]) {
		if r.Metadata == nil || *r.Metadata != fmt.Sprintf(`{"i":%d}`, i) {
			t.Errorf("row %d metadata %v", i, r.Metadata)
		}
	}
}

// TestParquetNullsSeenByArrow writes random patterns of empty and set
// optional fields, in file sizes that are and are not multiples of the
// batch, and checks each null where Arrow sees it.
func TestParquetNullsSeenByArrow(t *testing.T) {
	for _, n := range []int{1, 5, 63, 64, 65, 200, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			pick := func(i int, name string) string {
				if rng.IntN(3) == 0 {
					return fmt.Sprintf("%s-%d", name, i)
				}
				return ""
			}
			rows := make([]Row, n)
			for i := range rows {
				rows[i] = Row{
					ID: fmt.Sprint(i), Status: StatusOK,
					Output: pick(i, "out"), StopReason: pick(i, "stop"), ModelID: pick(i, "model"),
					ErrorType: pick(i, "type"), ErrorMessage: pick(i, "msg"),
				}
				if m := pick(i, "meta"); m != "" {
					rows[i].Metadata = json.RawMessage(`"` + m + `"`)
				}
			}
			got := readParquetRows(t, writeParquetFile(t, t.TempDir(), rows))
			if len(got) != n {
				t.Fatalf("arrow read %d rows, want %d", len(got), n)
			}
			for i := range rows {
				if want := expectArrow(rows[i]); !reflect.DeepEqual(got[i], want) {
					t.Fatalf("row %d:\n got %s\nwant %s", i, got[i], want)
				}
			}
		})
	}
}
