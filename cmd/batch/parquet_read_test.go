package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/bedrock-batch/bedrock-batch/writer"
)

// readParquetRows reads an output Parquet file with Apache Arrow's reader,
// which shares no code with the writer, and turns each row into a
// writer.Row by way of its column names (the JSON names): a column that is
// missing or misnamed leaves its field empty and fails the checks.
func readParquetRows(t *testing.T, path string) []writer.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: arrow cannot open it: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	records, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer records.Release()
	var rows []writer.Row
	for records.Next() {
		batch := records.Record()
		for i := 0; i < int(batch.NumRows()); i++ {
			fields := map[string]any{}
			for c, col := range batch.Columns() {
				name := batch.ColumnName(c)
				if col.IsNull(i) {
					continue
				}
				switch a := col.(type) {
				case *array.String:
					if name == "metadata" {
						fields[name] = json.RawMessage(a.Value(i))
					} else {
						fields[name] = a.Value(i)
					}
				case *array.Int64:
					fields[name] = a.Value(i)
				case *array.Timestamp:
					unit := a.DataType().(*arrow.TimestampType).Unit
					fields[name] = a.Value(i).ToTime(unit).UTC()
				default:
					t.Fatalf("%s: column %s is %T, want string, int64 or timestamp", path, name, col)
				}
			}
			data, err := json.Marshal(fields)
			if err != nil {
				t.Fatal(err)
			}
			var row writer.Row
			if err := json.Unmarshal(data, &row); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, row)
		}
	}
	if err := records.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}
