package writer

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/parquet-go/parquet-go"
)

// ReadParquet calls fn for every row of a Parquet data file the writer
// wrote, in order: for rewriting an output (dropping rows) with the very
// schema that wrote it.
func ReadParquet(ra io.ReaderAt, size int64, fn func(*Row) error) error {
	file, err := parquet.OpenFile(ra, size)
	if err != nil {
		return err
	}
	rows := parquet.NewGenericReader[parquetRow](file)
	defer rows.Close()
	batch := make([]parquetRow, parquetBatch)
	for {
		n, err := rows.Read(batch)
		for i := range n {
			if fnErr := fn(batch[i].row()); fnErr != nil {
				return fnErr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// row is the Row a Parquet row holds.
func (p *parquetRow) row() *Row {
	text := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	row := &Row{
		ID: p.ID, Status: p.Status, Output: text(p.Output), StopReason: text(p.StopReason),
		InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, TotalTokens: p.TotalTokens,
		CacheReadInputTokens: p.CacheReadInputTokens, CacheWriteInputTokens: p.CacheWriteInputTokens,
		LatencyMs: p.LatencyMs, Attempts: p.Attempts, ModelID: text(p.ModelID),
		TimeToFirstTokenMs: p.TimeToFirstTokenMs, ServiceTier: text(p.ServiceTier), Route: text(p.Route),
		ErrorType: text(p.ErrorType), ErrorMessage: text(p.ErrorMessage),
		RunID: text(p.RunID), FinishedAt: p.FinishedAt,
	}
	if p.OutputJSON != nil {
		row.OutputJSON = json.RawMessage(*p.OutputJSON)
	}
	if p.Metadata != nil {
		row.Metadata = json.RawMessage(*p.Metadata)
	}
	return row
}
