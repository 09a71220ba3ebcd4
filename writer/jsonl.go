package writer

import (
	"time"

	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"

	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// jsonlBufferSize is the write buffer of a JSONL file.
const jsonlBufferSize = 256 << 10

// jsonlEncoder writes rows as JSON lines. Its output is byte for byte what
// a json.Encoder with SetEscapeHTML(false) writes for a Row, without its
// reflection and allocations.
type jsonlEncoder struct {
	bw      *bufio.Writer
	line    []byte
	compact bytes.Buffer
	// batchStyle writes the bedrock-batch style instead of flat rows.
	batchStyle bool
}

func newJSONLEncoder() *jsonlEncoder { return &jsonlEncoder{} }

// timeFormat is how rows write times: RFC 3339 in UTC, as encoding/json
// writes them (the pipeline keeps them to the millisecond, as Parquet
// does), which DuckDB and Athena read.
const timeFormat = time.RFC3339Nano

func (e *jsonlEncoder) begin(w io.Writer) {
	if e.bw == nil {
		e.bw = bufio.NewWriterSize(w, jsonlBufferSize)
		return
	}
	e.bw.Reset(w)
}

func (e *jsonlEncoder) write(row *Row) error {
	if e.batchStyle {
		var err error
		if e.line, err = appendBatchRow(e.line[:0], row); err != nil {
			return err
		}
		_, err = e.bw.Write(e.line)
		return err
	}
	e.line = e.appendRow(e.line[:0], row)
	_, err := e.bw.Write(e.line)
	return err
}

func (e *jsonlEncoder) finish() error { return e.bw.Flush() }

func (e *jsonlEncoder) reset() {
	if e.bw != nil {
		e.bw.Reset(io.Discard)
	}
}

// appendRow appends row as one line of JSON, with its newline.
func (e *jsonlEncoder) appendRow(b []byte, row *Row) []byte {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, row.ID)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, row.Status)
	b = append(b, `,"output":`...)
	b = jsonenc.AppendString(b, row.Output)
	b = append(b, `,"output_json":`...)
	b = e.appendJSON(b, row.OutputJSON)
	b = append(b, `,"stop_reason":`...)
	b = jsonenc.AppendString(b, row.StopReason)
	b = append(b, `,"input_tokens":`...)
	b = strconv.AppendInt(b, row.InputTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, row.OutputTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, row.TotalTokens, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, row.CacheReadInputTokens, 10)
	b = append(b, `,"cache_write_input_tokens":`...)
	b = strconv.AppendInt(b, row.CacheWriteInputTokens, 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendInt(b, row.LatencyMs, 10)
	b = append(b, `,"time_to_first_token_ms":`...)
	b = strconv.AppendInt(b, row.TimeToFirstTokenMs, 10)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, row.Attempts, 10)
	b = append(b, `,"model_id":`...)
	b = jsonenc.AppendString(b, row.ModelID)
	b = append(b, `,"service_tier":`...)
	b = jsonenc.AppendString(b, row.ServiceTier)
	b = append(b, `,"route":`...)
	b = jsonenc.AppendString(b, row.Route)
	b = append(b, `,"error_type":`...)
	b = jsonenc.AppendString(b, row.ErrorType)
	b = append(b, `,"error_message":`...)
	b = jsonenc.AppendString(b, row.ErrorMessage)
	b = append(b, `,"metadata":`...)
	b = e.appendJSON(b, row.Metadata)
	b = append(b, `,"run_id":`...)
	b = jsonenc.AppendString(b, row.RunID)
	b = append(b, `,"finished_at":"`...)
	b = row.FinishedAt.UTC().AppendFormat(b, timeFormat)
	return append(b, "\"}\n"...)
}

// appendJSON appends a JSON value (metadata, structured output) compacted
// onto one line, or null when there is none. A value that is not valid JSON
// (which the reader and the pipeline never produce) is written as a JSON
// string of its text rather than failing the run or breaking the line.
func (e *jsonlEncoder) appendJSON(b []byte, m json.RawMessage) []byte {
	if len(m) == 0 {
		return append(b, "null"...)
	}
	e.compact.Reset()
	if err := json.Compact(&e.compact, m); err != nil {
		return jsonenc.AppendString(b, string(m))
	}
	return append(b, e.compact.Bytes()...)
}
