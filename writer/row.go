// Package writer turns results into output rows and rows into data files
// (JSONL or Parquet) that become visible in the output directory only when
// complete.
package writer

import "encoding/json"

// Status values of a Row.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Row is one output row: the result of one input record. JSONL and Parquet
// carry the same flat, snake_case fields.
type Row struct {
	ID                    string          `json:"id"`
	Status                string          `json:"status"`
	Output                string          `json:"output"`
	StopReason            string          `json:"stop_reason"`
	InputTokens           int64           `json:"input_tokens"`
	OutputTokens          int64           `json:"output_tokens"`
	TotalTokens           int64           `json:"total_tokens"`
	CacheReadInputTokens  int64           `json:"cache_read_input_tokens"`
	CacheWriteInputTokens int64           `json:"cache_write_input_tokens"`
	LatencyMs             int64           `json:"latency_ms"`
	Attempts              int64           `json:"attempts"`
	ModelID               string          `json:"model_id"`
	ErrorType             string          `json:"error_type"`
	ErrorMessage          string          `json:"error_message"`
	Metadata              json.RawMessage `json:"metadata"`
}
