// Package reader yields prompt records one at a time from JSONL and Parquet
// prompt sets, so a run never holds a whole input file in memory.
package reader

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Record is one input record. A record that could not be parsed still has an
// ID and an Origin, and carries the reason in Err: it becomes an error row,
// never a stopped run.
type Record struct {
	// ID is the record's own id (a string, or an integer written in decimal),
	// or, when the record has none, a stable id made from the file name and
	// the line (JSONL) or row (Parquet) number.
	ID string
	// Origin says where the record came from, for error messages.
	Origin Origin
	// Messages is the conversation to send; a "prompt" field becomes one user
	// message with one text block.
	Messages []Message
	// System is the record's own system prompt, empty when it has none. A
	// system given as Converse system blocks is their text joined by blank
	// lines.
	System string
	// CacheSystem asks for a cachePoint after the system prompt: the
	// record's system blocks ended with {"cachePoint": ...}.
	CacheSystem bool
	// Metadata is the record's "metadata" value, copied to its output row as
	// is; nil when absent.
	Metadata json.RawMessage
	// ModelID is the record's own model, empty for the job's.
	ModelID string
	// Inference holds the record's own inference parameters; each set one
	// overrides the job's.
	Inference Inference
	// AdditionalFields is the record's additional_model_request_fields (a
	// JSON object), merged over the job's; nil when absent.
	AdditionalFields json.RawMessage
	// Fields are the record's top-level values, for templates: only read
	// when Options.KeepFields is set, and only for a valid record. Strings
	// are strings, JSON numbers are json.Number, nested JSON values what
	// encoding/json decodes them to; Parquet integers are int64, floats
	// float64, booleans bool, byte arrays that are not UTF-8 []byte, nulls
	// nil (see Options.KeepFields).
	Fields map[string]any
	// Style is the shape the record was written in: StyleNative, or the
	// batch format of another service it was detected as.
	Style string
	// Raw is the record's own request as it was given, so that a writer can
	// echo it: the "modelInput" object of a StyleBedrockBatch record, the
	// "body" object of a StyleOpenAI one; nil for StyleNative.
	Raw json.RawMessage
	// Err is non-nil when the record is broken; it is an *InvalidRecordError.
	Err error
}

// The values of Record.Style.
const (
	// StyleNative is our own JSONL fields, and every Parquet row.
	StyleNative = ""
	// StyleBedrockBatch is a Bedrock batch inference record:
	// {"recordId": ..., "modelInput": {...}}.
	StyleBedrockBatch = "bedrock-batch"
	// StyleOpenAI is an OpenAI batch request line:
	// {"custom_id": ..., "method": "POST", "url": ..., "body": {...}}.
	StyleOpenAI = "openai"
)

// Message is one turn of a Converse conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content []Content
}

// Content is one content block of a message: exactly one of Text, Image,
// Document, or a CachePoint.
type Content struct {
	Text       string
	Image      *Media
	Document   *Media
	CachePoint bool
}

// Media is an image or a document as a record gives it: inline bytes, or a
// Location (a local path or an s3:// URI) that is read, or passed to
// Bedrock as an s3Location, when the request is built.
type Media struct {
	// Format is the Converse format (png, jpeg, gif, webp; pdf, csv, doc,
	// docx, xls, xlsx, html, txt, md); empty means "from the Location's
	// extension".
	Format string
	// Name is a document's name: the base name of its file, made to fit
	// Bedrock's rule; empty for inline bytes, to be named by the request
	// builder.
	Name        string
	Bytes       []byte
	Location    string
	BucketOwner string
}

// Inference holds a record's own inference parameters; nil is "not set".
type Inference struct {
	MaxTokens     *int32
	Temperature   *float32
	TopP          *float32
	StopSequences []string // nil is "not set"
}

// Origin is where a record came from: a file and a 1-based line (JSONL) or
// a 1-based row (Parquet).
type Origin struct {
	File string
	Line int64 // 1-based line number in a JSONL file; 0 for Parquet
	Row  int64 // 1-based row number in a Parquet file; 0 for JSONL
}

// String formats the origin as "file:line" or "file row N".
func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return fmt.Sprintf("%s row %d", o.File, o.Row)
}

// InvalidRecordError says why one record could not be used: which file,
// line or row, and field.
type InvalidRecordError struct {
	Origin Origin
	Field  string // the field at fault, empty when the whole line is at fault
	Reason string
}

// Error says where the record is and what is wrong with it.
func (e *InvalidRecordError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Origin, e.Reason)
	}
	return fmt.Sprintf("%s: field %q: %s", e.Origin, e.Field, e.Reason)
}

// ErrorType is the error_type of the record's row.
func (e *InvalidRecordError) ErrorType() string { return "InvalidRecord" }

// ErrInvalidRecord matches every *InvalidRecordError with errors.Is.
var ErrInvalidRecord = errors.New("invalid record")

// Is reports whether target is ErrInvalidRecord.
func (e *InvalidRecordError) Is(target error) bool { return target == ErrInvalidRecord }
