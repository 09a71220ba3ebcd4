package reader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
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

	scratch []byte
}

// parquetColumns are the leaf column indexes of the fields; -1 when absent.
type parquetColumns struct {
	id, prompt, system, messages, metadata int
	idUnsigned                             bool // id is an unsigned integer
}

// NewParquet opens the Parquet file held by ra (size bytes). name is the
// file it came from, for Origin.File and stable ids. It reads only the
// footer; it fails when the footer is unreadable or when the columns cannot
// make records (no "prompt" and no "messages", or a column of a wrong type).
func NewParquet(ra io.ReaderAt, size int64, name string) (*ParquetReader, error) {
	f, err := openParquet(ra, size)
	if err != nil {
		return nil, fmt.Errorf("reader: %s: not a readable Parquet file: %w", name, err)
	}
	cols, err := lookupColumns(f.Schema())
	if err != nil {
		return nil, fmt.Errorf("reader: %s: %w", name, err)
	}
	return &ParquetReader{
		name: name,
		base: baseName(name),
		file: f,
		cols: cols,
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

// lookupColumns finds the columns of a record in the schema and checks
// their types.
func lookupColumns(schema *parquet.Schema) (parquetColumns, error) {
	cols := parquetColumns{id: -1, prompt: -1, system: -1, messages: -1, metadata: -1}
	for _, c := range []struct {
		name  string
		index *int
	}{
		{"id", &cols.id},
		{"prompt", &cols.prompt},
		{"system", &cols.system},
		{"messages", &cols.messages},
		{"metadata", &cols.metadata},
	} {
		var field parquet.Field
		for _, f := range schema.Fields() {
			if f.Name() == c.name {
				field = f
			}
		}
		if field == nil {
			continue
		}
		if !field.Leaf() || field.Repeated() {
			return cols, fmt.Errorf("column %q must be a flat string column, not a nested or repeated one", c.name)
		}
		kind := field.Type().Kind()
		switch {
		case kind == parquet.ByteArray:
		case c.name == "id" && (kind == parquet.Int32 || kind == parquet.Int64):
			if lt := field.Type().LogicalType(); lt != nil {
				it, ok := lt.Value.(*format.IntType)
				cols.idUnsigned = ok && !it.IsSigned
			}
		case c.name == "id":
			return cols, fmt.Errorf("column %q has type %s; want a string or an integer", c.name, field.Type())
		default:
			return cols, fmt.Errorf("column %q has type %s; want a string", c.name, field.Type())
		}
		leaf, ok := schema.Lookup(c.name)
		if !ok {
			return cols, fmt.Errorf("column %q not found among the leaf columns", c.name)
		}
		*c.index = leaf.ColumnIndex
	}
	if cols.prompt < 0 && cols.messages < 0 {
		return cols, errors.New(`no "prompt" or "messages" column`)
	}
	return cols, nil
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
	var id, prompt, system, messages, metadata parquet.Value
	for _, v := range row {
		switch v.Column() {
		case r.cols.id:
			id = v
		case r.cols.prompt:
			prompt = v
		case r.cols.system:
			system = v
		case r.cols.messages:
			messages = v
		case r.cols.metadata:
			metadata = v
		}
	}
	rec := Record{Origin: Origin{File: r.name, Row: r.row}}
	switch {
	case id.IsNull(): // also when the column is absent
		rec.ID = r.stableID()
	case id.Kind() == parquet.Int32:
		rec.ID = r.formatInt(int64(id.Int32()), uint64(uint32(id.Int32())))
	case id.Kind() == parquet.Int64:
		rec.ID = r.formatInt(id.Int64(), uint64(id.Int64()))
	default:
		b := id.ByteArray()
		if len(b) == 0 {
			return r.invalid(r.stableID(), "id", "must not be empty")
		}
		if !utf8.Valid(b) {
			return r.invalid(r.stableID(), "id", "is not valid UTF-8")
		}
		rec.ID = string(b)
	}

	var ferr *fieldError
	rec.Messages, ferr = r.conversation(prompt, messages)
	if ferr == nil && !system.IsNull() {
		if b := system.ByteArray(); !utf8.Valid(b) {
			ferr = &fieldError{"system", fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(b))}
		} else {
			rec.System = string(b)
		}
	}
	if ferr != nil {
		return r.invalid(rec.ID, ferr.field, ferr.reason)
	}
	if !metadata.IsNull() && len(metadata.ByteArray()) > 0 {
		rec.Metadata = metadataJSON(metadata.ByteArray())
	}
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
	switch {
	case len(p) > 0 && len(m) > 0:
		return nil, &fieldError{"messages", `"prompt" and "messages" are both set; use one`}
	case len(m) > 0:
		if at := invalidUTF8At(m); at >= 0 {
			return nil, &fieldError{"messages", fmt.Sprintf("invalid UTF-8 at byte %d", at)}
		}
		if !json.Valid(m) {
			return nil, &fieldError{"messages", "not valid JSON"}
		}
		return parseMessages(m[skipSpace(m, 0):], &r.scratch)
	case r.cols.prompt < 0:
		return nil, &fieldError{"messages", "is null or empty"}
	case prompt.IsNull():
		return nil, &fieldError{"prompt", "is null"}
	case len(p) == 0:
		return nil, &fieldError{"prompt", "must not be empty"}
	}
	if at := invalidUTF8At(p); at >= 0 {
		return nil, &fieldError{"prompt", fmt.Sprintf("invalid UTF-8 at byte %d", at)}
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
