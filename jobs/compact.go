package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// A data file rewritten without the error rows --retry-errors sends again
// is named after the original: part-X-00003.jsonl becomes
// part-X-00003.r-00000.jsonl. The copy is committed before the original is
// removed, so a kill in between leaves both, and the next run removes the
// original (Superseded): never a row twice, never a row lost.
const compactedMark = ".r"

// Output is where compacted copies are written and originals removed.
type Output interface {
	writer.Destination
	Remove(ctx context.Context, name string) error
}

// Superseded returns the data files among names whose compacted copy is
// already committed.
func Superseded(names []string) []string {
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	var out []string
	for _, n := range names {
		if original, ok := originalOf(n); ok && present[original] {
			out = append(out, original)
		}
	}
	return out
}

// originalOf is the file a compacted copy replaces.
func originalOf(name string) (string, bool) {
	for _, ext := range []string{".jsonl", ".parquet"} {
		if stem, ok := strings.CutSuffix(name, compactedMark+"-00000"+ext); ok {
			return stem + ext, true
		}
	}
	return "", false
}

// DropErrorRows rewrites every data file that holds error rows of the
// shard's records without them, so the records can be sent again and end
// with one row each. The ledger forgets the dropped rows.
func (l *Ledger) DropErrorRows(ctx context.Context, out Output, opener reader.Opener, path func(string) string, shard Shard) error {
	for _, name := range l.Files {
		if !l.errorFiles[name] {
			continue
		}
		dropped, err := l.rewrite(ctx, out, opener, path, name, shard)
		if err != nil {
			return fmt.Errorf("removing error rows from %s: %w", path(name), err)
		}
		if err := out.Remove(ctx, name); err != nil {
			return err
		}
		l.Totals.Records -= dropped
		l.Totals.Error -= dropped
	}
	return nil
}

func (l *Ledger) rewrite(ctx context.Context, out Output, opener reader.Opener, path func(string) string, name string, shard Shard) (int64, error) {
	format, ext := writer.JSONL, ".jsonl"
	if strings.HasSuffix(name, ".parquet") {
		format, ext = writer.Parquet, ".parquet"
	}
	w, err := writer.New(out, writer.Options{Format: format, NamePrefix: strings.TrimSuffix(name, ext) + compactedMark})
	if err != nil {
		return 0, err
	}
	var dropped int64
	var writeErr error
	keep := func(row *writer.Row) {
		if writeErr != nil {
			return
		}
		if shard.Owns(row.ID) && row.Status == writer.StatusError && row.ErrorType != ErrorTypeDuplicateID {
			dropped++
			return
		}
		writeErr = w.Write(ctx, row)
	}
	if format == writer.Parquet {
		err = scanParquet(ctx, opener, path(name), func(r *parquetRow) { keep(r.row()) })
	} else {
		err = scanJSONL(ctx, opener, path(name), keep)
	}
	if err == nil {
		err = writeErr
	}
	if err != nil {
		_ = w.Abort()
		return 0, err
	}
	return dropped, w.Close(ctx)
}

// parquetRow is an output row as the writer lays it out in Parquet.
type parquetRow struct {
	ID                    string  `parquet:"id"`
	Status                string  `parquet:"status"`
	Output                *string `parquet:"output,optional"`
	StopReason            *string `parquet:"stop_reason,optional"`
	InputTokens           int64   `parquet:"input_tokens"`
	OutputTokens          int64   `parquet:"output_tokens"`
	TotalTokens           int64   `parquet:"total_tokens"`
	CacheReadInputTokens  int64   `parquet:"cache_read_input_tokens"`
	CacheWriteInputTokens int64   `parquet:"cache_write_input_tokens"`
	LatencyMs             int64   `parquet:"latency_ms"`
	Attempts              int64   `parquet:"attempts"`
	ModelID               *string `parquet:"model_id,optional"`
	ErrorType             *string `parquet:"error_type,optional"`
	ErrorMessage          *string `parquet:"error_message,optional"`
	Metadata              *string `parquet:"metadata,optional"`
}

func (p *parquetRow) row() *writer.Row {
	text := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	row := &writer.Row{
		ID: p.ID, Status: p.Status, Output: text(p.Output), StopReason: text(p.StopReason),
		InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, TotalTokens: p.TotalTokens,
		CacheReadInputTokens: p.CacheReadInputTokens, CacheWriteInputTokens: p.CacheWriteInputTokens,
		LatencyMs: p.LatencyMs, Attempts: p.Attempts, ModelID: text(p.ModelID),
		ErrorType: text(p.ErrorType), ErrorMessage: text(p.ErrorMessage),
	}
	if p.Metadata != nil {
		row.Metadata = json.RawMessage(*p.Metadata)
	}
	return row
}
