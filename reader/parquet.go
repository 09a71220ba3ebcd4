package reader

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// parquetBatch is how many rows a ParquetReader decodes at a time.
const parquetBatch = 128

// ParquetReader reads records from a Parquet file, one row group at a time
// and a batch of rows at a time, so memory does not grow with the file.
// It is not safe for concurrent use.
type ParquetReader struct {
	name string
	base string
	file *parquet.File
	cols parquetColumns

	group     int          // index of the next row group to open
	rows      parquet.Rows // rows of the current row group, nil between groups
	groupDone bool         // rows has no more rows
	buf       []parquet.Row
	n, i      int   // rows in buf, next one to return
	row       int64 // rows returned so far
	err       error // sticky

	opts    options
	media   []parquetMedia // of the row being decoded
	scratch []byte
}

// parquetMedia is a non-null value of a document or image column.
type parquetMedia struct {
	col int // index in parquetColumns.media
	v   parquet.Value
}

// NewParquet opens the Parquet file held by ra (size bytes). name is the
// file it came from, for Origin.File and stable ids. It reads only the
// footer; it fails when the footer is unreadable or when the columns cannot
// make records (no "prompt" and no "messages", or a column of a wrong type).
func NewParquet(ra io.ReaderAt, size int64, name string) (*ParquetReader, error) {
	return NewParquetWith(ra, size, name, Options{})
}

// NewParquetWith is NewParquet reading with o. Besides the id, prompt,
// system, messages (JSON text) and metadata columns, it reads the record's
// own model (a string column "model"), inference parameters (number columns
// "max_tokens", "temperature", "top_p", and a JSON string column
// "inference_config" like our JSONL field, whose values the flat columns
// override), "additional_model_request_fields" (a JSON string column), and
// the document and image columns of o. A null or empty model, inference
// or additional value is "not set".
func NewParquetWith(ra io.ReaderAt, size int64, name string, o Options) (*ParquetReader, error) {
	f, err := openParquet(ra, size)
	if err != nil {
		return nil, fmt.Errorf("reader: %s: not a readable Parquet file: %w", name, err)
	}
	opts := o.resolve()
	cols, err := lookupColumns(f.Schema(), &opts)
	if err != nil {
		return nil, fmt.Errorf("reader: %s: %w", name, err)
	}
	return &ParquetReader{
		name: name,
		base: baseName(name),
		file: f,
		cols: cols,
		opts: opts,
		buf:  make([]parquet.Row, parquetBatch),
	}, nil
}

// openParquet reads the footer, with a panic of the decoder on a corrupt
// file turned into an error.
func openParquet(ra io.ReaderAt, size int64) (f *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("corrupt footer: %v", p)
		}
	}()
	return parquet.OpenFile(ra, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(readBufferSize),
	)
}

// Next returns the next record, or io.EOF after the last row. A row that
// cannot be used is a Record with Err set; an error means the file could
// not be read and the reader is done.
func (r *ParquetReader) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	for r.i >= r.n {
		if r.err != nil {
			return Record{}, r.err
		}
		r.fill()
	}
	row := r.buf[r.i]
	r.i++
	r.row++
	return r.decode(row), nil
}

// fill reads the next batch of rows into r.buf, moving on to the next row
// group when the current one is done; at the end it sets r.err. A finished
// row group is closed only here, after its last batch was decoded, because
// the values in r.buf point into its pages.
func (r *ParquetReader) fill() {
	r.i, r.n = 0, 0
	if r.rows != nil && r.groupDone {
		err := r.rows.Close()
		r.rows = nil
		if err != nil {
			r.err = fmt.Errorf("reader: %s: row group %d: %w", r.name, r.group, err)
			return
		}
	}
	if r.rows == nil {
		groups := r.file.RowGroups()
		if r.group >= len(groups) {
			r.err = io.EOF
			return
		}
		r.rows = groups[r.group].Rows()
		r.group++
		r.groupDone = false
	}
	n, err := readRows(r.rows, r.buf)
	r.n = n
	switch {
	case err == io.EOF:
		r.groupDone = true
	case err != nil: // the run stops: drop the batch rather than keep values of a closed group
		r.n = 0
		r.rows.Close()
		r.rows = nil
		r.err = fmt.Errorf("reader: %s: row group %d: %w", r.name, r.group, err)
	}
}

// readRows is rows.ReadRows(buf), with a panic of the decoder on a corrupt
// file turned into an error.
func readRows(rows parquet.Rows, buf []parquet.Row) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("corrupt data: %v", p)
		}
	}()
	return rows.ReadRows(buf)
}

// Close releases the row group being read. It does not close the ReaderAt.
func (r *ParquetReader) Close() error {
	if r.rows == nil {
		return nil
	}
	err := r.rows.Close()
	r.rows = nil
	return err
}

// decode turns one row into a Record.
func (r *ParquetReader) decode(row parquet.Row) Record {
	var vals [numRoles]parquet.Value
	var fields map[string]any
	if len(r.cols.keep) > 0 {
		fields = make(map[string]any, len(r.cols.keep))
	}
	r.media = r.media[:0]
	for _, v := range row {
		c := v.Column()
		if c < 0 || c >= len(r.cols.leaves) {
			continue
		}
		l := r.cols.leaves[c]
		vals[l.role] = v
		if l.media > 0 && !v.IsNull() {
			r.media = append(r.media, parquetMedia{l.media - 1, v})
		}
		if l.keep > 0 {
			k := r.cols.keep[l.keep-1]
			fields[k.name] = keptValue(v, k.unsigned)
		}
	}
	rec := Record{Origin: Origin{File: r.name, Row: r.row}}
	switch id := vals[roleID]; {
	case id.IsNull(): // also when the column is absent
		rec.ID = r.stableID()
	case id.Kind() == parquet.Int32:
		rec.ID = r.formatInt(int64(id.Int32()), uint64(uint32(id.Int32())))
	case id.Kind() == parquet.Int64:
		rec.ID = r.formatInt(id.Int64(), uint64(id.Int64()))
	default:
		b := id.ByteArray()
		if len(b) == 0 {
			return r.invalid(r.stableID(), r.opts.idField, "must not be empty")
		}
		if !utf8.Valid(b) {
			return r.invalid(r.stableID(), r.opts.idField, "is not valid UTF-8")
		}
		rec.ID = string(b)
	}

	var ferr *fieldError
	rec.Messages, ferr = r.conversation(vals[rolePrompt], vals[roleMessages])
	if system := vals[roleSystem]; ferr == nil && !system.IsNull() {
		if b := system.ByteArray(); !utf8.Valid(b) {
			ferr = &fieldError{"system", fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(b))}
		} else {
			rec.System = string(b)
		}
	}
	if ferr == nil && r.cols.hasOverrides {
		ferr = r.overrides(&vals, &rec)
	}
	if ferr == nil && len(r.media) > 0 {
		var media []Content
		if media, ferr = r.mediaBlocks(); ferr == nil {
			rec.Messages = withMedia(rec.Messages, media)
		}
	}
	if ferr != nil {
		return r.invalid(rec.ID, ferr.field, ferr.reason)
	}
	if metadata := vals[roleMetadata]; !metadata.IsNull() && len(metadata.ByteArray()) > 0 {
		rec.Metadata = metadataJSON(metadata.ByteArray())
	}
	rec.Fields = fields
	return rec
}

// conversation builds the messages of a row from its prompt or its messages
// column (JSON text); a null or empty value counts as absent.
func (r *ParquetReader) conversation(prompt, messages parquet.Value) ([]Message, *fieldError) {
	p, m := prompt.ByteArray(), messages.ByteArray()
	if prompt.IsNull() {
		p = nil
	}
	if messages.IsNull() {
		m = nil
	}
	pf := r.opts.promptField
	switch {
	case len(p) > 0 && len(m) > 0:
		return nil, &fieldError{"messages", strconv.Quote(pf) + ` and "messages" are both set; use one`}
	case len(m) > 0:
		if at := invalidUTF8At(m); at >= 0 {
			return nil, &fieldError{"messages", fmt.Sprintf("invalid UTF-8 at byte %d", at)}
		}
		if !json.Valid(m) {
			return nil, &fieldError{"messages", "not valid JSON"}
		}
		return parseMessages(m[skipSpace(m, 0):], "messages", &r.scratch)
	case r.opts.promptOpt && len(p) == 0:
		return nil, nil
	case !r.cols.has[rolePrompt]:
		return nil, &fieldError{"messages", "is null or empty"}
	case prompt.IsNull():
		return nil, &fieldError{pf, "is null"}
	case len(p) == 0:
		return nil, &fieldError{pf, "must not be empty"}
	}
	if at := invalidUTF8At(p); at >= 0 {
		return nil, &fieldError{pf, fmt.Sprintf("invalid UTF-8 at byte %d", at)}
	}
	return promptMessages(string(p)), nil
}

// metadataJSON keeps valid JSON text as it is and makes any other text a
// JSON string. The result never aliases b.
func metadataJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return bytes.Clone(b)
	}
	s, _ := json.Marshal(string(b)) // a string always marshals
	return s
}

// formatInt writes an integer id in decimal, honouring an unsigned column.
func (r *ParquetReader) formatInt(signed int64, unsigned uint64) string {
	if r.cols.idUnsigned {
		return strconv.FormatUint(unsigned, 10)
	}
	return strconv.FormatInt(signed, 10)
}

// stableID is the id of a row that has none: "<base name>:<row>".
func (r *ParquetReader) stableID() string {
	r.scratch = append(append(r.scratch[:0], r.base...), ':')
	r.scratch = strconv.AppendInt(r.scratch, r.row, 10)
	return string(r.scratch)
}

// invalid returns a broken record from the current row.
func (r *ParquetReader) invalid(id, field, reason string) Record {
	o := Origin{File: r.name, Row: r.row}
	return Record{ID: id, Origin: o, Err: &InvalidRecordError{Origin: o, Field: field, Reason: reason}}
}
