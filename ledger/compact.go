package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// A data file rewritten without the error rows --retry-errors sends again
// is named after the original: part-X-00003.jsonl becomes
// part-X-00003.r-00000.jsonl. The copy is committed before the original is
// removed, so a kill in between leaves both, and the next run removes the
// original (Superseded): never a row twice, never a row lost.
const compactedMark = ".r"

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
func (l *Ledger) DropErrorRows(ctx context.Context, out storage.Dir, owner shard.Shard) error {
	for _, name := range l.Files {
		if !l.errorFiles[name] {
			continue
		}
		dropped, err := l.rewrite(ctx, out, name, owner)
		if err != nil {
			return fmt.Errorf("removing error rows from %s: %w", out.URI(name), err)
		}
		if err := out.Remove(ctx, name); err != nil {
			return err
		}
		for key, n := range dropped {
			l.Totals.Records -= n
			l.Totals.Error -= n
			m := l.Totals.Model(key.model)
			m.Records -= n
			m.Error -= n
			if key.route == writer.RouteBatchInference && m.Batch != nil {
				m.Batch.Records -= n
				m.Batch.Error -= n
			}
		}
	}
	return nil
}

func (l *Ledger) rewrite(ctx context.Context, out storage.Dir, name string, owner shard.Shard) (dropped map[modelRoute]int64, err error) {
	format, ext := writer.JSONL, ".jsonl"
	if strings.HasSuffix(name, ".parquet") {
		format, ext = writer.Parquet, ".parquet"
	}
	style := writer.StyleRows
	if format == writer.JSONL {
		batch, err := isBatchStyleFile(ctx, out, name)
		if err != nil {
			return nil, err
		}
		if batch {
			style = writer.StyleBedrockBatch
		}
	}
	w, err := writer.New(out, writer.Options{Format: format, Style: style, NamePrefix: strings.TrimSuffix(name, ext) + compactedMark})
	if err != nil {
		return nil, err
	}
	dropped = make(map[modelRoute]int64)
	var writeErr error
	keep := func(row *writer.Row) {
		if writeErr != nil {
			return
		}
		if owner.Owns(row.ID) && row.Status == writer.StatusError && row.ErrorType != ErrorTypeDuplicateID {
			dropped[modelRoute{row.ModelID, row.Route}]++
			return
		}
		writeErr = w.Write(ctx, row)
	}
	if format == writer.Parquet {
		err = readParquet(ctx, out, name, keep)
	} else {
		err = scanJSONL(ctx, out, name, func(r *writer.Row) *writer.Row { return r }, keep)
	}
	if err == nil {
		err = writeErr
	}
	if err != nil {
		_ = w.Abort()
		return nil, err
	}
	return dropped, w.Close(ctx)
}

// readParquet calls keep for every row of an output Parquet file.
func readParquet(ctx context.Context, out storage.Dir, name string, keep func(*writer.Row)) error {
	ra, size, closer, err := out.OpenAt(ctx, name)
	if err != nil {
		return err
	}
	defer closer.Close()
	return writer.ReadParquet(ra, size, func(row *writer.Row) error {
		keep(row)
		return nil
	})
}

// modelRoute keys dropped rows by model and route.
type modelRoute struct{ model, route string }

// isBatchStyleFile reports whether a JSONL data file holds bedrock-batch
// style lines, so its rewrite keeps the style.
func isBatchStyleFile(ctx context.Context, out storage.Dir, name string) (bool, error) {
	rc, err := out.Open(ctx, name)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	head := make([]byte, len(`{"recordId":`))
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return writer.IsBatchStyleLine(head[:n]), nil
}
