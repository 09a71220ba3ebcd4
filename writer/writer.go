package writer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Format is the encoding of the data files.
type Format string

// The output formats.
const (
	// JSONL writes one JSON object per line.
	JSONL Format = "jsonl"
	// Parquet writes Apache Parquet files, zstd-compressed.
	Parquet Format = "parquet"
)

// DefaultMaxRowsPerFile is the number of rows after which a data file is
// committed and the next row starts a new one, when Options leaves it 0.
const DefaultMaxRowsPerFile = 1_000_000

// ErrClosed is returned by a Writer used after Close or Abort.
var ErrClosed = errors.New("writer: closed")

// Options configure a Writer.
type Options struct {
	Format Format
	// NamePrefix starts every data file name: NamePrefix-00000.jsonl,
	// NamePrefix-00001.jsonl, ... It must be unique to the run (a timestamp
	// and a random part) and must not start with "_".
	NamePrefix string
	// FirstSeq numbers the first data file (default 0): a compaction
	// writes the part its journal group is named after.
	FirstSeq int
	// MaxRowsPerFile rotates to a new file after this many rows; 0 means
	// DefaultMaxRowsPerFile.
	MaxRowsPerFile int
	// Style is the shape of JSONL rows: StyleRows (the default) or
	// StyleBedrockBatch.
	Style string
	// RowGroupRows and RowGroupBytes bound a Parquet row group: it ends
	// once it has RowGroupRows rows or RowGroupBytes bytes of values before
	// compression, whichever comes first. The writer holds one row group
	// in memory. 0 means DefaultRowGroupRows and DefaultRowGroupBytes.
	RowGroupRows  int64
	RowGroupBytes int64
}

// encoder turns rows into the bytes of one data file at a time.
type encoder interface {
	begin(w io.Writer)    // start a file
	write(row *Row) error // add a row; may buffer
	finish() error        // write out everything, footer included
	reset()               // forget an unfinished file
}

// Writer writes rows into a sequence of data files in a storage.Dir. A data
// file is created when its first row arrives and becomes visible when it is
// committed: by Commit, by Close, or when it reaches MaxRowsPerFile rows.
// A Writer is not safe for concurrent use.
type Writer struct {
	dest storage.Dir
	opts Options
	ext  string
	enc  encoder

	obj     storage.Object // the file being written, nil when none
	objName string
	objRows int64
	seq     int

	files []string
	rows  int64

	closed bool
	err    error // sticky: the first failure
}

// New returns a Writer of data files in dest.
func New(dest storage.Dir, opts Options) (*Writer, error) {
	if err := checkName(opts.NamePrefix); err != nil {
		return nil, fmt.Errorf("writer: NamePrefix: %w", err)
	}
	if opts.MaxRowsPerFile < 0 {
		return nil, fmt.Errorf("writer: MaxRowsPerFile is %d; want 0 (default) or more", opts.MaxRowsPerFile)
	}
	if opts.MaxRowsPerFile == 0 {
		opts.MaxRowsPerFile = DefaultMaxRowsPerFile
	}
	if opts.RowGroupRows < 0 || opts.RowGroupBytes < 0 {
		return nil, fmt.Errorf("writer: RowGroupRows %d and RowGroupBytes %d: want 0 (default) or more", opts.RowGroupRows, opts.RowGroupBytes)
	}
	opts.RowGroupRows = cmp.Or(opts.RowGroupRows, DefaultRowGroupRows)
	opts.RowGroupBytes = cmp.Or(opts.RowGroupBytes, DefaultRowGroupBytes)
	if opts.FirstSeq < 0 {
		return nil, fmt.Errorf("writer: FirstSeq is %d; want 0 or more", opts.FirstSeq)
	}
	w := &Writer{dest: dest, opts: opts, seq: opts.FirstSeq}
	switch opts.Format {
	case JSONL:
		enc := newJSONLEncoder()
		enc.batchStyle = opts.Style == StyleBedrockBatch
		w.ext, w.enc = ".jsonl", enc
	case Parquet:
		w.ext, w.enc = ".parquet", newParquetEncoder(opts.RowGroupRows, opts.RowGroupBytes)
	default:
		return nil, fmt.Errorf("writer: unknown format %q: want %q or %q", opts.Format, JSONL, Parquet)
	}
	return w, nil
}

// Write adds a row to the current data file, starting one if need be. It
// is buffered: the row is durable only after the next Commit. Write does
// not keep row: the caller may reuse it.
func (w *Writer) Write(ctx context.Context, row *Row) error {
	if err := w.open(ctx); err != nil {
		return err
	}
	if err := w.enc.write(row); err != nil {
		return w.fail(fmt.Errorf("writer: %s: %w", w.objName, err))
	}
	return w.wrote()
}

// open starts the next data file unless one is open.
func (w *Writer) open(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.obj != nil {
		return nil
	}
	name := dataFileName(w.opts.NamePrefix, w.seq, w.ext)
	obj, err := w.dest.Create(ctx, name)
	if err != nil {
		return w.fail(err)
	}
	w.seq++
	w.obj, w.objName, w.objRows = obj, name, 0
	w.enc.begin(obj)
	return nil
}

// wrote counts a row of the open file, committing the file once full.
func (w *Writer) wrote() error {
	w.objRows++
	if w.objRows >= int64(w.opts.MaxRowsPerFile) {
		return w.commitFile()
	}
	return nil
}

// Commit makes every row written so far durable and visible: it finishes
// the current data file, if it has rows, and commits it. The next Write
// starts a new file.
func (w *Writer) Commit(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	return w.commitFile()
}

// Close commits, then ends the Writer.
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return w.err
	}
	err := w.Commit(ctx)
	w.closed = true
	return err
}

// Abort drops the current uncommitted file and ends the Writer. Committed
// files stay.
func (w *Writer) Abort() error {
	w.closed = true
	if w.obj == nil {
		return nil
	}
	err := w.obj.Abort()
	w.obj = nil
	w.enc.reset()
	return err
}

// Files returns the names of the committed data files, in order.
func (w *Writer) Files() []string { return append([]string(nil), w.files...) }

// Rows returns the number of rows in committed data files.
func (w *Writer) Rows() int64 { return w.rows }

// String describes the Writer's configuration.
func (w *Writer) String() string {
	return "writer " + string(w.opts.Format) + " " + w.opts.NamePrefix + "-NNNNN" + w.ext +
		" max " + strconv.Itoa(w.opts.MaxRowsPerFile) + " rows per file"
}

// usable returns the error that stops the Writer, if any.
func (w *Writer) usable() error {
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return ErrClosed
	}
	return nil
}

// commitFile finishes and commits the current file, if any.
func (w *Writer) commitFile() error {
	if w.obj == nil {
		return nil
	}
	if err := w.enc.finish(); err != nil {
		return w.fail(fmt.Errorf("writer: %s: %w", w.objName, err))
	}
	if err := w.obj.Commit(); err != nil {
		w.obj = nil // a failed Commit already dropped the file
		return w.fail(err)
	}
	w.files = append(w.files, w.objName)
	w.rows += w.objRows
	w.obj, w.objName, w.objRows = nil, "", 0
	return nil
}

// fail records the first failure and drops the current file: once a write
// failed, the file may be incomplete and must not be committed.
func (w *Writer) fail(err error) error {
	if w.obj != nil {
		w.obj.Abort()
		w.obj = nil
	}
	w.enc.reset()
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// dataFileName is the name of the seq-th data file of a prefix.
func dataFileName(prefix string, seq int, ext string) string {
	return fmt.Sprintf("%s-%05d%s", prefix, seq, ext)
}

// JSONLFileName is the name a Writer of JSONL files with NamePrefix prefix
// gives its seq-th file: what a file made without a Writer must be called.
func JSONLFileName(prefix string, seq int) string {
	return dataFileName(prefix, seq, ".jsonl")
}

// checkName rejects data file names that are paths or bookkeeping names.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, `/\`):
		return fmt.Errorf("writer: invalid file name %q", name)
	case strings.HasPrefix(name, "_"):
		return fmt.Errorf("writer: invalid file name %q: names starting with _ are reserved", name)
	}
	return nil
}
