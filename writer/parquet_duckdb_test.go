package writer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/internal/duckdbtest"
)

// TestParquetRowGroupStatisticsInDuckDB writes 5,000 rows in row groups of
// 1,000 and has DuckDB read the file: every row comes back, and each row
// group's min and max of id, the token counts and latency are those of its
// rows, so that engines can skip row groups by them.
func TestParquetRowGroupStatisticsInDuckDB(t *testing.T) {
	const n, group = 5000, 1000
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{ID: fmt.Sprintf("r%05d", i), Status: StatusOK, Output: fmt.Sprintf("answer %d", i),
			InputTokens: int64(i), OutputTokens: int64(i % 97), LatencyMs: int64(n - i), Attempts: 1,
			ModelID: fmt.Sprintf("model-%d", i%3)}
		if i%10 == 0 {
			rows[i].Status, rows[i].Output, rows[i].ErrorType = StatusError, "", "ThrottlingException"
		}
	}
	dir := t.TempDir()
	writeParquetFileWith(t, dir, rows, Options{RowGroupRows: group})
	path := filepath.Join(dir, "part-00000.parquet")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	stats := duckdbtest.Query(t, fmt.Sprintf(`SELECT row_group_id::VARCHAR AS g, row_group_num_rows::VARCHAR AS n,
		path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi
		FROM parquet_metadata('%s') WHERE path_in_schema IN ('id', 'input_tokens', 'output_tokens', 'latency_ms', 'model_id')
		ORDER BY row_group_id, path_in_schema`, path))
	if len(stats) != 5*n/group {
		t.Fatalf("DuckDB sees %d column chunks, want %d: %v", len(stats), 5*n/group, stats)
	}
	for _, s := range stats {
		var g int
		fmt.Sscan(s["g"].(string), &g)
		part := rows[g*group : (g+1)*group]
		var lo, hi string
		switch s["col"] {
		case "id":
			lo, hi = part[0].ID, part[len(part)-1].ID
		case "input_tokens":
			lo, hi = fmt.Sprint(part[0].InputTokens), fmt.Sprint(part[len(part)-1].InputTokens)
		case "output_tokens":
			lo, hi = "0", "96"
		case "latency_ms":
			lo, hi = fmt.Sprint(part[len(part)-1].LatencyMs), fmt.Sprint(part[0].LatencyMs)
		case "model_id":
			lo, hi = "model-0", "model-2"
		}
		if s["n"] != fmt.Sprint(group) || s["lo"] != lo || s["hi"] != hi {
			t.Errorf("row group %d, column %s: %s rows, min %v, max %v; want %d rows, min %s, max %s",
				g, s["col"], s["n"], s["lo"], s["hi"], group, lo, hi)
		}
	}
	got := duckdbtest.Query(t, fmt.Sprintf(`SELECT count(*)::VARCHAR AS rows, sum(input_tokens)::VARCHAR AS tokens,
		count(error_type)::VARCHAR AS errors, count(output)::VARCHAR AS outputs,
		max(CASE WHEN id = 'r04321' THEN output END) AS output FROM '%s'`, path))
	want := map[string]any{"rows": "5000", "tokens": fmt.Sprint(n * (n - 1) / 2), "errors": "500", "outputs": "4500", "output": "answer 4321"}
	if fmt.Sprint(got) != fmt.Sprint([]map[string]any{want}) {
		t.Errorf("DuckDB reads %v, want %v", got, want)
	}
}
