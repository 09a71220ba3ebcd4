package reader

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Input is one file to read.
type Input struct {
	Path   string
	Format Format // "" means: from the file name (FormatOf)
}

// Files reads several inputs one after another as one Source. Each file is
// opened when its first record is wanted and closed after its last, so only
// one is open at a time. It is not safe for concurrent use.
type Files struct {
	opener storage.Opener
	inputs []Input
	opts   Options
	next   int            // index of the next input to open
	cur    Source         // reader of the open input, nil between inputs
	closer []func() error // closes the open input, innermost first
	err    error          // sticky
}

// OpenFiles returns a Source over local files. Files ending in .gz are
// decompressed. Every file is read with zero Options unless WithOptions
// says otherwise.
func OpenFiles(inputs []Input) *Files { return OpenFilesWith(storage.NewRouter(nil), inputs) }

// OpenFilesWith is OpenFiles over the files of any storage.Opener.
func OpenFilesWith(opener storage.Opener, inputs []Input) *Files {
	return &Files{opener: opener, inputs: inputs}
}

// Next returns the next record of the current file, moving on to the next
// file at the end of each; it returns io.EOF after the last record of the
// last file. An error (a file missing or unreadable) ends the reading.
func (f *Files) Next(ctx context.Context) (Record, error) {
	for f.err == nil {
		if f.cur == nil {
			if f.next >= len(f.inputs) {
				f.err = io.EOF
				break
			}
			in := f.inputs[f.next]
			f.next++
			if err := f.open(ctx, in); err != nil {
				f.err = err
				break
			}
		}
		rec, err := f.cur.Next(ctx)
		if err == nil {
			return rec, nil
		}
		if err != io.EOF {
			f.Close()
			f.err = err
			break
		}
		if err := f.closeCurrent(); err != nil {
			f.err = err
		}
	}
	return Record{}, f.err
}

// open opens one input and makes it the current source.
func (f *Files) open(ctx context.Context, in Input) error {
	format := in.Format
	if format == "" {
		var err error
		if format, err = FormatOf(in.Path); err != nil {
			return err
		}
	}
	switch format {
	case JSONL:
		rc, err := f.opener.Open(ctx, in.Path)
		if err != nil {
			return fmt.Errorf("reader: %w", err)
		}
		f.closer = append(f.closer, rc.Close)
		var r io.Reader = rc
		if isGzip(in.Path) {
			gz, err := gzip.NewReader(rc)
			if err != nil {
				f.closeCurrent()
				return fmt.Errorf("reader: %s: not a readable gzip file: %w", in.Path, err)
			}
			f.closer = append(f.closer, gz.Close)
			r = gz
		}
		f.cur = NewJSONLWith(r, in.Path, f.opts)
	case Parquet:
		ra, size, c, err := f.opener.OpenAt(ctx, in.Path)
		if err != nil {
			return fmt.Errorf("reader: %w", err)
		}
		f.closer = append(f.closer, c.Close)
		pr, err := NewParquetWith(ra, size, in.Path, f.opts)
		if err != nil {
			f.closeCurrent()
			return err
		}
		f.closer = append(f.closer, pr.Close)
		f.cur = pr
	default:
		return fmt.Errorf("reader: %s: unknown format %q: want %q or %q", in.Path, format, JSONL, Parquet)
	}
	return nil
}

// closeCurrent closes the current input, if any.
func (f *Files) closeCurrent() error {
	var errs []error
	for i := len(f.closer) - 1; i >= 0; i-- {
		if err := f.closer[i](); err != nil {
			errs = append(errs, err)
		}
	}
	f.closer = f.closer[:0]
	f.cur = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reader: closing %s: %w", f.inputs[f.next-1].Path, err)
	}
	return nil
}

// Close closes the open input, if any; Next returns an error afterwards.
func (f *Files) Close() error {
	err := f.closeCurrent()
	if f.err == nil {
		f.err = errors.New("reader: Files is closed")
	}
	return err
}
