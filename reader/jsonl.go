package reader

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"unicode/utf8"
)

const (
	// MaxLineBytes is the longest JSONL line accepted; a longer line becomes
	// an invalid record and reading goes on after it.
	MaxLineBytes = 256 << 20

	// readBufferSize is the size of the buffered reader under a JSONLReader.
	readBufferSize = 64 << 10
	// keepLineBuffer is the largest line buffer kept between lines; a bigger
	// one (grown for a long line) is released so memory does not stay high.
	keepLineBuffer = 16 << 20
)

var utf8BOM = []byte("\xEF\xBB\xBF")

// JSONLReader reads records from JSONL text, one JSON object per line.
// It is not safe for concurrent use.
type JSONLReader struct {
	br      *bufio.Reader
	name    string // Origin.File
	base    string // prefix of stable ids
	line    int64  // physical lines read so far
	maxLine int

	opts    options
	buf     []byte       // a line that did not fit in br's buffer
	scratch []byte       // unescaping and id formatting
	keyBuf  []byte       // an escaped key, unescaped
	media   []mediaValue // values of the document and image fields of a line
	err     error        // sticky read error
	share   heldShare    // of HeldBytes
}

// mediaValue is the raw value of a document or image field of a line.
type mediaValue struct {
	field string
	kind  mediaKind
	val   []byte
}

// NewJSONL returns a reader of the JSONL text in r. name is the file the
// text came from: it is used in Origin.File and its base name in stable ids.
// NewJSONL does not decompress: pass a gzip.Reader for .gz files.
func NewJSONL(r io.Reader, name string) *JSONLReader { return NewJSONLWith(r, name, Options{}) }

// NewJSONLWith is NewJSONL reading with o.
//
// Each line is read in the shape its keys say (Record.Style):
//   - a line with our prompt field or "messages" is ours (StyleNative);
//   - else a line with "modelInput" is a Bedrock batch inference record
//     (StyleBedrockBatch): {"recordId", "modelInput": {"messages", "system",
//     "inferenceConfig", "additionalModelRequestFields"}}, with Converse
//     content blocks;
//   - else a line with "custom_id" and "body" is an OpenAI batch request
//     line (StyleOpenAI): {"custom_id", "url", "body": {"messages",
//     "max_tokens" | "max_completion_tokens", "temperature", "top_p",
//     "stop"}}. Its body.model is ignored: it names an OpenAI model, and
//     the job's model (or the record's own "model" of our shape) applies.
//   - anything else is ours, and invalid unless o.PromptOptional.
func NewJSONLWith(r io.Reader, name string, o Options) *JSONLReader {
	return &JSONLReader{
		br:      bufio.NewReaderSize(r, readBufferSize),
		name:    name,
		base:    baseName(name),
		maxLine: MaxLineBytes,
		opts:    o.resolve(),
	}
}

// baseName is the last element of a local path or an object key.
func baseName(name string) string { return path.Base(filepath.ToSlash(name)) }

// Next returns the next record, or io.EOF after the last one. A line that
// cannot be used is a Record with Err set, not an error; an error means the
// input itself could not be read and the reader is done.
func (r *JSONLReader) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	for r.err == nil {
		line, tooLong, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reader: %s: line %d: %w", r.name, r.line, err)
			}
			r.err = err
			break
		}
		if tooLong {
			return r.invalid(r.stableID(), "", fmt.Sprintf("line is longer than %d bytes", r.maxLine)), nil
		}
		if r.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if isBlank(line) {
			continue
		}
		r.share.set(int64(readBufferSize + cap(r.buf)))
		return r.decode(line), nil
	}
	r.share.set(0)
	return Record{}, r.err
}

// readLine returns the next physical line without its line ending. The slice
// is valid until the next call. A line longer than maxLine is consumed and
// reported with tooLong. err is io.EOF only when no bytes were left.
func (r *JSONLReader) readLine() (line []byte, tooLong bool, err error) {
	if cap(r.buf) > keepLineBuffer {
		r.buf = nil
	}
	r.buf = r.buf[:0]
	chunk, err := r.br.ReadSlice('\n')
	if err == nil { // the common case: the whole line is in br's buffer
		r.line++
		line = trimEOL(chunk)
		return line, len(line) > r.maxLine, nil
	}
	n := 0
	for {
		n += len(chunk)
		if !tooLong {
			if n > r.maxLine+2 { // +2: room for "\r\n"
				tooLong, r.buf = true, r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err != bufio.ErrBufferFull {
			break
		}
		chunk, err = r.br.ReadSlice('\n')
	}
	switch {
	case err == io.EOF && n == 0:
		return nil, false, io.EOF
	case err != nil && err != io.EOF:
		r.line++
		return nil, false, err
	}
	r.line++
	line = trimEOL(r.buf)
	return line, tooLong || len(line) > r.maxLine, nil
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// jsonlFields are the raw values of the fields of one line that matter; a
// field absent from the line is nil.
type jsonlFields struct {
	id, prompt, messages, system, metadata    []byte
	model, inference, additional              []byte // overrides of ours
	recordID, modelInput, customID, url, body []byte // batch formats
}

// decode turns one non-blank line into a Record.
func (r *JSONLReader) decode(line []byte) Record {
	badUTF8 := invalidUTF8At(line)
	if !json.Valid(line) {
		var syntax *json.SyntaxError
		reason := "not valid JSON"
		if err := json.Unmarshal(line, new(json.RawMessage)); errors.As(err, &syntax) {
			reason = fmt.Sprintf("not valid JSON: %s (at byte %d)", syntax, syntax.Offset)
		}
		if badUTF8 >= 0 && badUTF8 < len(line) {
			reason = fmt.Sprintf("invalid UTF-8 at byte %d", badUTF8)
		}
		return r.invalid(r.stableID(), "", reason)
	}
	start := skipSpace(line, 0)
	if line[start] != '{' {
		return r.invalid(r.stableID(), "", "not a JSON object, got "+kindOf(line[start:]))
	}
	f := r.scan(line[start:])
	style := styleOf(&f)
	idVal, idField := f.id, r.opts.idField
	switch style {
	case StyleBedrockBatch:
		idVal, idField = f.recordID, "recordId"
	case StyleOpenAI:
		idVal, idField = f.customID, "custom_id"
	}
	id, idErr := r.parseID(idVal, idField, badUTF8 >= 0)
	if idErr != nil {
		return r.invalid(r.stableID(), idErr.field, idErr.reason)
	}
	if badUTF8 >= 0 {
		return r.invalid(id, "", fmt.Sprintf("invalid UTF-8 at byte %d", badUTF8))
	}
	rec := Record{ID: id, Origin: Origin{File: r.name, Line: r.line}}
	var ferr *fieldError
	switch style {
	case StyleBedrockBatch:
		ferr = r.bedrockBatch(&f, &rec)
	case StyleOpenAI:
		ferr = r.openAI(&f, &rec)
	default:
		ferr = r.native(&f, &rec)
	}
	if ferr != nil {
		return r.invalid(id, ferr.field, ferr.reason)
	}
	if !isNull(f.metadata) {
		rec.Metadata = bytes.Clone(f.metadata)
	}
	if r.opts.keepFields {
		rec.Fields = jsonFields(line[start:])
	}
	return rec
}

// scan finds the fields of a line that matter, and the values of its
// document and image fields (in r.media).
func (r *JSONLReader) scan(obj []byte) (f jsonlFields) {
	r.media = r.media[:0]
	forEachMember(obj, func(key, val []byte) bool {
		name := key
		if bytes.IndexByte(key, '\\') >= 0 {
			r.keyBuf = appendUnescaped(r.keyBuf[:0], key)
			name = r.keyBuf
		}
		switch string(name) {
		case r.opts.idField:
			f.id = val
		case r.opts.promptField:
			f.prompt = val
		case "messages":
			f.messages = val
		case "system":
			f.system = val
		case "metadata":
			f.metadata = val
		case "model":
			f.model = val
		case "inference_config":
			f.inference = val
		case "additional_model_request_fields":
			f.additional = val
		case "recordId":
			f.recordID = val
		case "modelInput":
			f.modelInput = val
		case "custom_id":
			f.customID = val
		case "url":
			f.url = val
		case "body":
			f.body = val
		default:
			if r.opts.hasMediaFields {
				if isDoc, ok := r.opts.mediaField(name); ok {
					r.media = append(r.media, mediaValue{string(name), mediaKind(isDoc), val})
				}
			}
		}
		return true
	})
	return f
}

// styleOf tells the shape of a line from its keys. Our own fields win, so a
// line of ours that happens to carry a "body" is still ours.
func styleOf(f *jsonlFields) string {
	switch {
	case !isNull(f.prompt) || !isNull(f.messages):
		return StyleNative
	case f.modelInput != nil:
		return StyleBedrockBatch
	case f.customID != nil && f.body != nil:
		return StyleOpenAI
	}
	return StyleNative
}

// parseID returns the record's id from the value of its id field (named
// field): a string, an integer's decimal text, or the stable id when the
// field is absent or null.
func (r *JSONLReader) parseID(v []byte, field string, checkUTF8 bool) (string, *fieldError) {
	switch {
	case isNull(v):
		return r.stableID(), nil
	case v[0] == '"':
		id := unquote(v, &r.scratch)
		if id == "" {
			return "", &fieldError{field, "must not be empty"}
		}
		if checkUTF8 && !utf8.ValidString(id) {
			return "", &fieldError{field, "is not valid UTF-8"}
		}
		return id, nil
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		if !isInteger(v) {
			return "", &fieldError{field, "must be a string or an integer, got " + string(v)}
		}
		return string(v), nil
	default:
		return "", &fieldError{field, "must be a string or an integer, got " + kindOf(v)}
	}
}

// stableID is the id of a record that has none: "<base name>:<line>".
func (r *JSONLReader) stableID() string {
	r.scratch = append(append(r.scratch[:0], r.base...), ':')
	r.scratch = strconv.AppendInt(r.scratch, r.line, 10)
	return string(r.scratch)
}

// invalid returns a broken record from the current line.
func (r *JSONLReader) invalid(id, field, reason string) Record {
	o := Origin{File: r.name, Line: r.line}
	return Record{ID: id, Origin: o, Err: &InvalidRecordError{Origin: o, Field: field, Reason: reason}}
}
