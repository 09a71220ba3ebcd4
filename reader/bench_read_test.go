package reader

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// BenchmarkReadRate reads the same 100,000 records (the prompts of
// scripts/bench-memory.sh) from JSONL and from Parquet files in three
// layouts, and reports records a second.
func BenchmarkReadRate(b *testing.B) {
	const n = 100_000
	type row struct {
		ID       int64  `parquet:"id"`
		Prompt   string `parquet:"prompt,plain"`
		Metadata string `parquet:"metadata,plain"`
	}
	type defaultRow struct { // parquet-go's own encodings (DELTA_LENGTH_BYTE_ARRAY)
		ID       int64  `parquet:"id"`
		Prompt   string `parquet:"prompt"`
		Metadata string `parquet:"metadata"`
	}
	var jsonl bytes.Buffer
	rows := make([]row, n)
	defaults := make([]defaultRow, n)
	for i := range rows {
		prompt := fmt.Sprintf("Summarise document %d in one short paragraph for a busy reader", i)
		rows[i] = row{int64(i), prompt, fmt.Sprintf(`{"n":%d}`, i)}
		defaults[i] = defaultRow(rows[i])
		fmt.Fprintf(&jsonl, `{"id":%d,"prompt":%q,"metadata":{"n":%d}}`+"\n", i, prompt, i)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"jsonl", jsonl.Bytes()},
		{"parquet/one-group-one-page", writeParquetBytes(b, rows, parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(n), parquet.PageBufferSize(64<<20))},
		{"parquet/groups-of-10k", writeParquetBytes(b, rows, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(10_000))},
		{"parquet/parquet-go-encodings", writeParquetBytes(b, defaults, parquet.Compression(&parquet.Snappy))},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			b.ReportAllocs()
			for b.Loop() {
				var src Source = NewJSONL(bytes.NewReader(f.data), "in.jsonl")
				closeSrc := func() error { return nil }
				if f.name != "jsonl" {
					r, err := NewParquet(bytes.NewReader(f.data), int64(len(f.data)), "in.parquet")
					if err != nil {
						b.Fatal(err)
					}
					src, closeSrc = r, r.Close
				}
				for range n {
					if rec, err := src.Next(b.Context()); err != nil || rec.Err != nil {
						b.Fatal(err, rec.Err)
					}
				}
				closeSrc()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// writeParquetBytes writes rows with parquet-go into memory.
func writeParquetBytes[T any](b *testing.B, rows []T, opts ...parquet.WriterOption) []byte {
	b.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
