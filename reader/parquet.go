package reader

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// ParquetReader reads records from a Parquet file a row at a time, and each
// column a value at a time: it holds a small window of each column it reads,
// never a row group or a page, so memory does not grow with the file's row
// groups or pages (DuckDB writes pages of up to 100 MB; pyarrow row groups
// of a million rows). It reads only the columns that make records. It is
// not safe for concurrent use.
type ParquetReader struct {
	name string
	base string
	ra   io.ReaderAt
	size int64
	file *parquet.File
	cols parquetColumns

	readers []*chunkReader // of the columns read, in column order
	group   int            // index of the next row group
	left    int64          // rows left in the current row group
	rowBuf  parquet.Row
	row     int64     // rows returned so far
	err     error     // sticky
	share   heldShare // of HeldBytes

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
// or additional value is "not set". Any row group and page size is read in
// the same small memory.
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
	r := &ParquetReader{
		name: name,
		base: baseName(name),
		ra:   ra,
		size: size,
		file: f,
		cols: cols,
		opts: opts,
	}
	for i, path := range f.Schema().Columns() {
		if l := cols.leaves[i]; l.role == roleNone && l.media == 0 && l.keep == 0 {
			continue // not needed: never fetched
		}
		leaf, ok := f.Schema().Lookup(path...)
		if !ok {
			return nil, fmt.Errorf("reader: %s: column %q not found among the leaf columns", name, strings.Join(path, "."))
		}
		r.readers = append(r.readers, newChunkReader(ra, leafColumn{
			index:      i,
			path:       strings.Join(path, "."),
			kind:       leaf.Node.Type().Kind(),
			typeLength: leaf.Node.Type().Length(),
			maxRep:     leaf.MaxRepetitionLevel,
			maxDef:     leaf.MaxDefinitionLevel,
		}))
	}
	return r, nil
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
	for r.err == nil && r.left == 0 {
		r.nextGroup()
	}
	if r.err != nil {
		return Record{}, r.err
	}
	if err := r.readRow(); err != nil {
		r.err = fmt.Errorf("reader: %s: row %d: %w", r.name, r.row+1, err)
		r.Close()
		return Record{}, r.err
	}
	r.left--
	r.row++
	rec := r.decode(r.rowBuf)
	clear(r.rowBuf) // a large value must not outlive its record's copy
	clear(r.media)
	if r.row%64 == 1 { // often enough: a reader's holdings change with its pages
		r.share.set(r.HeldBytes())
	}
	return rec, nil
}

// nextGroup starts the next row group; at the end it sets r.err.
func (r *ParquetReader) nextGroup() {
	groups := r.file.Metadata().RowGroups
	if r.group >= len(groups) {
		r.err = io.EOF
		r.Close()
		return
	}
	g := &groups[r.group]
	r.group++
	if g.NumRows < 0 || len(g.Columns) != len(r.cols.leaves) {
		r.err = fmt.Errorf("reader: %s: row group %d: corrupt metadata", r.name, r.group-1)
		return
	}
	for _, c := range r.readers {
		if err := c.open(&g.Columns[c.leaf.index], r.size); err != nil {
			r.err = fmt.Errorf("reader: %s: row group %d, column %q: %w", r.name, r.group-1, c.leaf.path, err)
			return
		}
	}
	r.left = g.NumRows
}

// readRow reads the values of the next row into r.rowBuf, with a panic of
// a decoder on a corrupt file turned into an error.
func (r *ParquetReader) readRow() (err error) {
	var c *chunkReader
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("column %q: corrupt data: %v", c.leaf.path, p)
		}
	}()
	r.rowBuf = r.rowBuf[:0]
	for _, c = range r.readers {
		if r.rowBuf, err = c.appendRow(r.rowBuf); err != nil {
			if err == io.EOF {
				err = fmt.Errorf("%w: the column ends before its row group", errCorruptPage)
			}
			return fmt.Errorf("row group %d, column %q: %w", r.group-1, c.leaf.path, err)
		}
	}
	return nil
}

// Close releases the decoders. It does not close the ReaderAt.
func (r *ParquetReader) Close() error {
	for _, c := range r.readers {
		c.close()
	}
	r.share.set(0)
	return nil
}

// HeldBytes approximates the memory the reader holds between records:
// buffers, decoder windows, dictionaries and encoded levels.
func (r *ParquetReader) HeldBytes() int64 {
	var n int64
	for _, c := range r.readers {
		n += c.held()
	}
	return n
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
