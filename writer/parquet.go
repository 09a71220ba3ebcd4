package writer

import (
	"io"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Bounds of a Parquet row group, when Options leaves them 0. The writer
// holds one row group, compressed, until it is flushed: 64 MiB of values
// at most, and in a range engines read well (Athena and Spark like 64 to
// 128 MiB; DuckDB and pyarrow use 122,880 and 1,048,576 rows).
const (
	// DefaultRowGroupRows is the most rows in a row group.
	DefaultRowGroupRows = 100_000
	// DefaultRowGroupBytes is the most bytes of values in a row group,
	// before compression.
	DefaultRowGroupBytes = 64 << 20
)

// parquetBatch is how many rows are handed to parquet-go at a time.
const parquetBatch = 64

// parquetRow is the Parquet schema of a Row: flat columns named as the JSON
// fields, strings with the STRING logical type, counts as INT64. Empty
// optional strings and absent metadata are written as nulls. Low-cardinality
// columns are dictionary-encoded; every column is compressed with zstd.
//
// The optional columns are pointers, nil for null, and not strings tagged
// "optional" (null when empty): parquet-go v0.32.0 gets the null flags of
// zero-value optional fields wrong when a Write holds other than a multiple
// of 64 rows (TestParquetNullsSeenByArrow). The pointers point into vals.
type parquetRow struct {
	ID                    string    `parquet:"id,string"`
	Status                string    `parquet:"status,string,dict"`
	Output                *string   `parquet:"output,optional"`
	OutputJSON            *string   `parquet:"output_json,optional"`
	StopReason            *string   `parquet:"stop_reason,optional,dict"`
	InputTokens           int64     `parquet:"input_tokens"`
	OutputTokens          int64     `parquet:"output_tokens"`
	TotalTokens           int64     `parquet:"total_tokens"`
	CacheReadInputTokens  int64     `parquet:"cache_read_input_tokens"`
	CacheWriteInputTokens int64     `parquet:"cache_write_input_tokens"`
	LatencyMs             int64     `parquet:"latency_ms"`
	TimeToFirstTokenMs    int64     `parquet:"time_to_first_token_ms"`
	Attempts              int64     `parquet:"attempts"`
	ModelID               *string   `parquet:"model_id,optional,dict"`
	ServiceTier           *string   `parquet:"service_tier,optional,dict"`
	Route                 *string   `parquet:"route,optional,dict"`
	ErrorType             *string   `parquet:"error_type,optional,dict"`
	ErrorMessage          *string   `parquet:"error_message,optional"`
	Metadata              *string   `parquet:"metadata,optional"`
	RunID                 *string   `parquet:"run_id,optional,dict"`
	FinishedAt            time.Time `parquet:"finished_at,timestamp(millisecond)"`

	vals [10]string // what the optional columns point to
}

// optional points *dst at v stored in slot, or sets it nil when v is empty.
func optional(dst **string, slot *string, v string) {
	if v == "" {
		*dst = nil
		return
	}
	*slot = v
	*dst = slot
}

// parquetEncoder writes rows as one Parquet file, in batches, and ends a
// row group once it has maxRows rows or maxBytes bytes of values.
type parquetEncoder struct {
	w     *parquet.GenericWriter[parquetRow]
	batch []parquetRow // never grows past its capacity: rows point into it
	// meta holds the metadata of the rows in batch, copied because the
	// caller may reuse a Row's Metadata once Write returns; metaEnd[i] is
	// where the metadata of batch[i] ends in meta.
	meta    []byte
	metaEnd []int

	maxRows, maxBytes     int64
	groupRows, groupBytes int64 // of the row group being written
}

func newParquetEncoder(maxRows, maxBytes int64) *parquetEncoder {
	return &parquetEncoder{batch: make([]parquetRow, 0, parquetBatch), maxRows: maxRows, maxBytes: maxBytes}
}

func (e *parquetEncoder) begin(w io.Writer) {
	if e.w == nil {
		e.w = parquet.NewGenericWriter[parquetRow](w,
			parquet.NewSchema("bedrock_batch_row", parquet.SchemaOf(parquetRow{})),
			parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(e.maxRows),
			parquet.CreatedBy("bedrock-batch", "", ""),
			// Min/max of free text are useless for filtering and can be large.
			parquet.SkipPageBounds("output"),
			parquet.SkipPageBounds("output_json"),
			parquet.SkipPageBounds("error_message"),
			parquet.SkipPageBounds("metadata"),
		)
	} else {
		e.w.Reset(w)
	}
	e.groupRows, e.groupBytes = 0, 0
}

func (e *parquetEncoder) write(row *Row) error {
	e.batch = e.batch[:len(e.batch)+1]
	p := &e.batch[len(e.batch)-1]
	p.ID = validUTF8(row.ID)
	p.Status = validUTF8(row.Status)
	p.InputTokens = row.InputTokens
	p.OutputTokens = row.OutputTokens
	p.TotalTokens = row.TotalTokens
	p.CacheReadInputTokens = row.CacheReadInputTokens
	p.CacheWriteInputTokens = row.CacheWriteInputTokens
	p.LatencyMs = row.LatencyMs
	p.Attempts = row.Attempts
	p.TimeToFirstTokenMs = row.TimeToFirstTokenMs
	optional(&p.OutputJSON, &p.vals[6], validUTF8(string(row.OutputJSON)))
	optional(&p.ServiceTier, &p.vals[7], validUTF8(row.ServiceTier))
	optional(&p.Route, &p.vals[8], validUTF8(row.Route))
	optional(&p.Output, &p.vals[0], validUTF8(row.Output))
	optional(&p.StopReason, &p.vals[1], validUTF8(row.StopReason))
	optional(&p.ModelID, &p.vals[2], validUTF8(row.ModelID))
	optional(&p.ErrorType, &p.vals[3], validUTF8(row.ErrorType))
	optional(&p.ErrorMessage, &p.vals[4], validUTF8(row.ErrorMessage))
	optional(&p.RunID, &p.vals[9], validUTF8(row.RunID))
	p.FinishedAt = row.FinishedAt.UTC()
	e.meta = append(e.meta, row.Metadata...)
	e.metaEnd = append(e.metaEnd, len(e.meta))
	e.groupRows++
	e.groupBytes += rowValueBytes(row)
	if e.groupRows >= e.maxRows || e.groupBytes >= e.maxBytes {
		return e.endRowGroup()
	}
	if len(e.batch) == cap(e.batch) {
		return e.flush()
	}
	return nil
}

// endRowGroup writes out the row group being written.
func (e *parquetEncoder) endRowGroup() error {
	if err := e.flush(); err != nil {
		return err
	}
	e.groupRows, e.groupBytes = 0, 0
	return e.w.Flush()
}

// rowValueBytes is the size of a row's values before compression: its
// strings, and 8 bytes for each of its eight numbers.
func rowValueBytes(row *Row) int64 {
	return int64(len(row.ID)+len(row.Status)+len(row.Output)+len(row.OutputJSON)+len(row.StopReason)+
		len(row.ModelID)+len(row.ServiceTier)+len(row.Route)+len(row.ErrorType)+len(row.ErrorMessage)+
		len(row.Metadata)) + 8*8
}

// flush hands the batched rows to parquet-go.
func (e *parquetEncoder) flush() error {
	if len(e.batch) == 0 {
		return nil
	}
	// One string for the metadata of the whole batch; rows take substrings.
	all := string(e.meta)
	valid := utf8.ValidString(all)
	start := 0
	for i, end := range e.metaEnd {
		m := all[start:end]
		if !valid {
			m = validUTF8(m)
		}
		optional(&e.batch[i].Metadata, &e.batch[i].vals[5], m)
		start = end
	}
	_, err := e.w.Write(e.batch)
	e.clearBatch()
	return err
}

func (e *parquetEncoder) finish() error {
	if err := e.flush(); err != nil {
		return err
	}
	return e.w.Close()
}

// clearBatch empties the batch and drops its references to the callers'
// strings.
func (e *parquetEncoder) clearBatch() {
	clear(e.batch)
	e.batch = e.batch[:0]
	e.meta = e.meta[:0]
	e.metaEnd = e.metaEnd[:0]
}

func (e *parquetEncoder) reset() {
	e.clearBatch()
	if e.w != nil {
		e.w.Reset(io.Discard)
	}
}

// validUTF8 returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json does: a STRING column must hold
// UTF-8, and readers such as DuckDB refuse a file where it does not.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
