package reader

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/internal/duckdbtest"
)

// duckdbSource is a prompt set made in DuckDB: every column a record is
// made of, with nulls, empty values, lists of documents, a few prompts of
// 140 KB and a column the reader must skip.
const duckdbSource = `CREATE TABLE src AS SELECT
  i,
  CASE WHEN i % 997 = 5 THEN NULL ELSE 'r' || i END AS id,
  CASE WHEN i % 1000 = 7 THEN NULL WHEN i % 1000 = 8 THEN ''
       WHEN i % 5000 = 9 THEN repeat('long é ', 20000)
       ELSE 'Summarise document ' || i || ' — naïve café ' || md5(i::VARCHAR) END AS prompt,
  CASE WHEN i % 3 = 0 THEN 'Be brief.' END AS system,
  CASE i % 4 WHEN 0 THEN '{"n":' || i || '}' WHEN 1 THEN NULL WHEN 2 THEN 'note ' || i ELSE '' END AS metadata,
  CASE WHEN i % 10 = 0 THEN 'anthropic.claude-3-haiku-20240307-v1:0' END AS model,
  (CASE WHEN i % 7 = 0 THEN i % 500 + 1 END)::INTEGER AS max_tokens,
  (CASE WHEN i % 11 = 0 THEN (i % 10) / 10.0 END)::DOUBLE AS temperature,
  CASE i % 6 WHEN 0 THEN ['s3://bucket/doc' || i || '.pdf'] WHEN 1 THEN ['s3://b/a' || i || '.txt', 's3://b/b.md']
       WHEN 2 THEN [] END AS documents,
  md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS payload
FROM range(20000) t(i)`

// TestParquetLayoutsAgreeWithDuckDB has DuckDB write one prompt set in
// several layouts (one row group with pages of every column chunk whole,
// many row groups, snappy, gzip, format v2 with its delta encodings and
// data pages v2) and reads each: every layout gives the same records, and
// each record says what DuckDB reads in its row.
func TestParquetLayoutsAgreeWithDuckDB(t *testing.T) {
	dir := t.TempDir()
	layouts := []struct{ name, options string }{
		{"one-group", "COMPRESSION zstd, ROW_GROUP_SIZE 1000000"},
		{"many-groups", "COMPRESSION zstd, ROW_GROUP_SIZE 2048"},
		{"snappy", "COMPRESSION snappy, ROW_GROUP_SIZE 1000000"},
		{"gzip", "COMPRESSION gzip, ROW_GROUP_SIZE 5000"},
		{"v2", "COMPRESSION zstd, ROW_GROUP_SIZE 1000000, PARQUET_VERSION V2"},
	}
	statements := []string{duckdbSource}
	for _, l := range layouts {
		statements = append(statements, fmt.Sprintf("COPY (SELECT * EXCLUDE (i) FROM src ORDER BY i) TO '%s' (FORMAT parquet, %s)",
			filepath.Join(dir, l.name+".parquet"), l.options))
	}
	groups := map[string]string{}
	for _, g := range duckdbtest.Query(t, append(statements, fmt.Sprintf(
		"SELECT file_name, count(DISTINCT row_group_id)::VARCHAR AS n FROM parquet_metadata('%s/*.parquet') GROUP BY file_name", dir))...) {
		groups[filepath.Base(g["file_name"].(string))] = g["n"].(string)
	}
	if groups["one-group.parquet"] != "1" || groups["many-groups.parquet"] != "10" {
		t.Fatalf("row groups per file: %v; the layouts are not the ones under test", groups)
	}
	var first []string
	for _, l := range layouts {
		path := filepath.Join(dir, l.name+".parquet")
		recs := readParquetWith(t, path, Options{})
		want := duckdbtest.Query(t, fmt.Sprintf(
			"SELECT * EXCLUDE (payload) FROM read_parquet('%s', file_row_number = true) ORDER BY file_row_number", path))
		t.Run(l.name, func(t *testing.T) {
			checkRecordsAgainstDuckDB(t, recs, want, l.name+".parquet")
			var rendered []string
			for _, rec := range recs {
				rendered = append(rendered, strings.ReplaceAll(renderRecord(rec), l.name+".parquet", "F.parquet"))
			}
			if first == nil {
				first = rendered
				return
			}
			for i := range rendered {
				if rendered[i] != first[i] {
					t.Fatalf("record %d differs from the %s layout's:\n%.300s\n%.300s", i+1, layouts[0].name, rendered[i], first[i])
				}
			}
		})
	}
}

// checkRecordsAgainstDuckDB compares each record with DuckDB's reading of
// its row.
func checkRecordsAgainstDuckDB(t *testing.T, recs []Record, rows []map[string]any, file string) {
	t.Helper()
	if len(recs) != len(rows) {
		t.Fatalf("%d records, DuckDB reads %d rows", len(recs), len(rows))
	}
	bad := 0
	for i, rec := range recs {
		if err := agreesWithDuckDB(rec, rows[i], file, int64(i+1)); err != "" {
			t.Errorf("row %d: %s\nrecord %.300s", i+1, err, renderRecord(rec))
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}

// agreesWithDuckDB says how rec differs from DuckDB's row, or "".
func agreesWithDuckDB(rec Record, row map[string]any, file string, n int64) string {
	str := func(k string) (string, bool) { s, ok := row[k].(string); return s, ok }
	if id, ok := str("id"); ok && rec.ID != id || !ok && rec.ID != file+":"+strconv.FormatInt(n, 10) {
		return fmt.Sprintf("id %q, DuckDB %v", rec.ID, row["id"])
	}
	prompt, ok := str("prompt")
	switch {
	case !ok || prompt == "":
		if ie, isInvalid := rec.Err.(*InvalidRecordError); !isInvalid || ie.Field != "prompt" {
			return fmt.Sprintf("prompt %v should make an invalid record, got %v", row["prompt"], rec.Err)
		}
		return ""
	case rec.Err != nil:
		return rec.Err.Error()
	}
	content := rec.Messages[0].Content
	if got := content[len(content)-1].Text; got != prompt {
		return fmt.Sprintf("prompt %.80q, DuckDB %.80q", got, prompt)
	}
	if system, _ := str("system"); rec.System != system {
		return fmt.Sprintf("system %q, DuckDB %q", rec.System, system)
	}
	metadata, _ := str("metadata")
	switch {
	case metadata == "" && rec.Metadata != nil,
		metadata != "" && json.Valid([]byte(metadata)) && string(rec.Metadata) != metadata,
		metadata != "" && !json.Valid([]byte(metadata)) && string(rec.Metadata) != strconv.Quote(metadata):
		return fmt.Sprintf("metadata %s, DuckDB %q", rec.Metadata, metadata)
	}
	if model, _ := str("model"); rec.ModelID != model {
		return fmt.Sprintf("model %q, DuckDB %q", rec.ModelID, model)
	}
	if got, want := fmt.Sprint(deref(rec.Inference.MaxTokens)), fmt.Sprint(row["max_tokens"]); got != want {
		return fmt.Sprintf("max_tokens %s, DuckDB %s", got, want)
	}
	if want, ok := row["temperature"].(json.Number); ok {
		f, _ := want.Float64()
		if rec.Inference.Temperature == nil || *rec.Inference.Temperature != float32(f) {
			return fmt.Sprintf("temperature %v, DuckDB %s", deref(rec.Inference.Temperature), want)
		}
	} else if rec.Inference.Temperature != nil {
		return fmt.Sprintf("temperature %v, DuckDB null", *rec.Inference.Temperature)
	}
	var docs []string
	for _, c := range content {
		if c.Document != nil {
			docs = append(docs, c.Document.Location)
		}
	}
	want, _ := row["documents"].([]any)
	if fmt.Sprint(docs) != fmt.Sprint(want) {
		return fmt.Sprintf("documents %v, DuckDB %v", docs, want)
	}
	return ""
}

// deref is *p, or "<nil>".
func deref[T any](p *T) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}
