package writer

import (
	"context"
	"errors"
	"fmt"
)

// LineEncoder turns rows into JSONL lines, each with its newline, byte for
// byte as a JSONL data file of the same style holds them: a journal keeps
// rows as lines and a compaction copies them into a data file unchanged.
// It is not safe for concurrent use.
type LineEncoder struct {
	enc jsonlEncoder
}

// NewLineEncoder returns an encoder of lines in style (StyleRows or
// StyleBedrockBatch).
func NewLineEncoder(style string) *LineEncoder {
	return &LineEncoder{enc: jsonlEncoder{batchStyle: style == StyleBedrockBatch}}
}

// Append appends row's line to b.
func (l *LineEncoder) Append(b []byte, row *Row) ([]byte, error) {
	if l.enc.batchStyle {
		return appendBatchRow(b, row)
	}
	return l.enc.appendRow(b, row), nil
}

// errNotJSONL refuses WriteLine to a Parquet writer.
var errNotJSONL = errors.New("writer: WriteLine needs the JSONL format")

// WriteLine adds a line a LineEncoder of the same style made, with its
// newline, to the current JSONL data file as it is: a compaction copies
// the journal's lines without decoding them.
func (w *Writer) WriteLine(ctx context.Context, line []byte) error {
	enc, ok := w.enc.(*jsonlEncoder)
	if !ok {
		return errNotJSONL
	}
	if err := w.open(ctx); err != nil {
		return err
	}
	if _, err := enc.bw.Write(line); err != nil {
		return w.fail(fmt.Errorf("writer: %s: %w", w.objName, err))
	}
	return w.wrote()
}
