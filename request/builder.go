// Package request builds the Bedrock request a record is sent as: the job's
// options, the record's own overrides, a prompt rendered from a template,
// documents and images read from where they live, cache points and the
// forced tool of structured output.
package request

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// ErrorTypeTemplate, ErrorTypeMedia and ErrorTypeOverride are the
// error_type of rows whose request could not be built.
const (
	ErrorTypeTemplate = "TemplateError"
	ErrorTypeMedia    = "InvalidContent"
	ErrorTypeOverride = "InvalidRecord"
)

// Error says why a record's request could not be built; the record becomes
// an error row with this type and message, and the run goes on.
type Error struct {
	Origin reader.Origin
	Field  string
	Type   string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Origin, e.Reason)
	}
	return fmt.Sprintf("%s: field %q: %s", e.Origin, e.Field, e.Reason)
}

// ErrorType is the error_type of the record's row.
func (e *Error) ErrorType() string { return e.Type }

// Options are the job-wide parts of every request.
type Options struct {
	ModelID          string
	System           string
	CacheSystem      bool
	Inference        bedrock.InferenceConfig
	AdditionalFields json.RawMessage // a JSON object
	// Template, when set, renders the user prompt from the record's fields.
	Template *Template
	// Schema, when set, asks for structured output by forcing one tool.
	Schema      *Schema
	Guardrail   *bedrock.Guardrail
	ServiceTier string
	Latency     string
	// Media reads documents and images given by location; nil reads none
	// (a record that needs one becomes an error row).
	Media storage.Opener
	// S3Location reports whether a model reads s3:// documents and images
	// itself; nil means none does, so their bytes are sent.
	S3Location func(modelID string) bool
	// BucketOwner is the bucketOwner of an s3Location whose record names
	// none (--expected-bucket-owner): Bedrock then refuses to read a bucket
	// of another account, as the run's own S3 calls do.
	BucketOwner string
}

// Builder builds requests; it is safe for concurrent use.
type Builder struct {
	opts Options
}

// New returns a Builder of requests with the job's options.
func New(opts Options) *Builder { return &Builder{opts: opts} }

// Options returns the job's options.
func (b *Builder) Options() Options { return b.opts }

// Build returns the request for rec, with the documents and images it
// names read (the pipeline builds just before the call, so only records in
// flight hold media bytes). An error is an *Error, or the context's.
func (b *Builder) Build(ctx context.Context, rec *reader.Record) (*bedrock.Request, error) {
	o := &b.opts
	req := &bedrock.Request{
		ModelID:          o.ModelID,
		System:           o.System,
		CacheSystem:      o.CacheSystem || rec.CacheSystem,
		Inference:        o.Inference,
		AdditionalFields: o.AdditionalFields,
		Guardrail:        o.Guardrail,
		ServiceTier:      o.ServiceTier,
		Latency:          o.Latency,
	}
	if rec.ModelID != "" {
		req.ModelID = rec.ModelID
	}
	if rec.System != "" {
		req.System = rec.System
	}
	override(&req.Inference, rec.Inference)
	if len(rec.AdditionalFields) > 0 {
		merged, err := mergeObjects(o.AdditionalFields, rec.AdditionalFields)
		if err != nil {
			return nil, &Error{Origin: rec.Origin, Field: "additional_model_request_fields", Type: ErrorTypeOverride, Reason: err.Error()}
		}
		req.AdditionalFields = merged
	}
	msgs, err := b.messages(ctx, rec, req.ModelID)
	if err != nil {
		return nil, err
	}
	req.Messages = msgs
	if o.Template != nil {
		blocks, err := o.Template.Render(rec)
		if err != nil {
			return nil, err
		}
		req.Messages = withUserTurn(req.Messages, blocks)
	}
	if len(req.Messages) == 0 {
		return nil, &Error{Origin: rec.Origin, Field: "prompt", Type: ErrorTypeOverride, Reason: "the record has no prompt and no messages"}
	}
	if o.Schema != nil {
		req.Tool = o.Schema.Tool()
	}
	return req, nil
}

// override sets every parameter the record sets itself.
func override(ic *bedrock.InferenceConfig, rec reader.Inference) {
	if rec.MaxTokens != nil {
		ic.MaxTokens = rec.MaxTokens
	}
	if rec.Temperature != nil {
		ic.Temperature = rec.Temperature
	}
	if rec.TopP != nil {
		ic.TopP = rec.TopP
	}
	if rec.StopSequences != nil {
		ic.StopSequences = rec.StopSequences
	}
}

// messages converts the record's conversation, reading its media.
func (b *Builder) messages(ctx context.Context, rec *reader.Record, modelID string) ([]bedrock.Message, error) {
	out := make([]bedrock.Message, len(rec.Messages))
	media := mediaCounter{origin: rec.Origin}
	for i, m := range rec.Messages {
		content := make([]bedrock.Block, len(m.Content))
		for j, c := range m.Content {
			content[j] = bedrock.Block{Text: c.Text, CachePoint: c.CachePoint}
			var err error
			switch {
			case c.Image != nil:
				content[j].Image, err = b.media(ctx, &media, c.Image, false, modelID, i, j)
			case c.Document != nil:
				content[j].Document, err = b.media(ctx, &media, c.Document, true, modelID, i, j)
			}
			if err != nil {
				return nil, err
			}
		}
		out[i] = bedrock.Message{Role: m.Role, Content: content}
	}
	return out, nil
}

// withUserTurn makes a rendered prompt the text of the user's last turn:
// it replaces the text of a final user turn (the record's "prompt", which
// the template may use as a field) and keeps its documents and images, or
// follows a conversation that ends with the assistant (few-shot turns).
func withUserTurn(msgs []bedrock.Message, blocks []bedrock.Block) []bedrock.Message {
	if n := len(msgs); n > 0 && msgs[n-1].Role == "user" {
		last := &msgs[n-1]
		kept := last.Content[:0]
		for _, c := range last.Content {
			if c.Image != nil || c.Document != nil {
				kept = append(kept, c)
			}
		}
		last.Content = append(kept, blocks...)
		return msgs
	}
	return append(msgs, bedrock.Message{Role: "user", Content: blocks})
}

// mergeObjects returns the JSON object base with the members of over set
// over it (one level deep, as a per-record override is meant).
func mergeObjects(base, over json.RawMessage) (json.RawMessage, error) {
	overMap, err := objectOf(over)
	if err != nil {
		return nil, err
	}
	if len(base) == 0 {
		return over, nil
	}
	merged, err := objectOf(base)
	if err != nil {
		return nil, err
	}
	for k, v := range overMap {
		merged[k] = v
	}
	return json.Marshal(merged)
}

func objectOf(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, fmt.Errorf("must be a JSON object")
	}
	return m, nil
}

// Model is the model a record's request goes to: its own, else the job's.
func (b *Builder) Model(rec *reader.Record) string {
	if rec.ModelID != "" {
		return rec.ModelID
	}
	return b.opts.ModelID
}
