// Package writer turns results into output rows and rows into data files
// (JSONL or Parquet) that become visible in the output directory only when
// complete.
package writer

import (
	"encoding/json"
	"time"
)

// Routes of a Row.
const (
	RouteOnDemand       = "on-demand"
	RouteBatchInference = "batch-inference"
)

// Status values of a Row.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Row is one output row: the result of one input record. JSONL and Parquet
// carry the same flat, snake_case fields.
type Row struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Output string `json:"output"`
	// OutputJSON is the structured output (the forced tool's input) when
	// the job asked for one: JSONL embeds it as JSON, Parquet as its text.
	OutputJSON            json.RawMessage `json:"output_json"`
	StopReason            string          `json:"stop_reason"`
	InputTokens           int64           `json:"input_tokens"`
	OutputTokens          int64           `json:"output_tokens"`
	TotalTokens           int64           `json:"total_tokens"`
	CacheReadInputTokens  int64           `json:"cache_read_input_tokens"`
	CacheWriteInputTokens int64           `json:"cache_write_input_tokens"`
	LatencyMs             int64           `json:"latency_ms"`
	// TimeToFirstTokenMs is how long a streamed call took to its first
	// content; 0 for Converse.
	TimeToFirstTokenMs int64  `json:"time_to_first_token_ms"`
	Attempts           int64  `json:"attempts"`
	ModelID            string `json:"model_id"`
	// ServiceTier is the tier that served the call, as Bedrock reported it.
	ServiceTier string `json:"service_tier"`
	// Route is how the record was answered: RouteOnDemand (Converse) or
	// RouteBatchInference (a Bedrock batch-inference job).
	Route        string          `json:"route"`
	ErrorType    string          `json:"error_type"`
	ErrorMessage string          `json:"error_message"`
	Metadata     json.RawMessage `json:"metadata"`
	// RunID is the run that wrote the row, and FinishedAt when (UTC): a
	// row can be traced to its run's manifest under _runs/.
	RunID      string    `json:"run_id"`
	FinishedAt time.Time `json:"finished_at"`
	// ModelInput is the Converse-shaped request, written only in the
	// bedrock-batch style (which echoes it as modelInput).
	ModelInput json.RawMessage `json:"-"`
}
