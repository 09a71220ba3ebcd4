package request_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
)

func ptr[T any](v T) *T { return &v }

func userText(text string) []reader.Message {
	return []reader.Message{{Role: "user", Content: []reader.Content{{Text: text}}}}
}

// files is a media Opener over a map, counting opens.
type files map[string]string

func (f files) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	data, ok := f[path]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return io.NopCloser(strings.NewReader(data)), nil
}

func (f files) OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	data, ok := f[path]
	if !ok {
		return nil, 0, nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return strings.NewReader(data), int64(len(data)), io.NopCloser(nil), nil
}

func TestBuild(t *testing.T) {
	origin := reader.Origin{File: "in.jsonl", Line: 3}
	job := request.Options{
		ModelID: "anthropic.claude-3-haiku-20240307-v1:0", System: "Be brief.",
		Inference:        bedrock.InferenceConfig{MaxTokens: ptr(int32(256)), Temperature: ptr(float32(0))},
		AdditionalFields: json.RawMessage(`{"top_k":50,"keep":true}`),
		Media:            files{"docs/a.pdf": "%PDF-1.7 tiny", "s3://bucket/b.png": "\x89PNG..."},
		S3Location:       func(m string) bool { return strings.HasPrefix(m, "amazon.nova") },
	}
	tests := []struct {
		name string
		job  func(*request.Options)
		rec  reader.Record
		want func(*bedrock.Request)
	}{
		{
			name: "job defaults, zero temperature sent",
			rec:  reader.Record{Messages: userText("hi")},
			want: func(r *bedrock.Request) {},
		},
		{
			name: "per-record model, inference and additional fields override",
			rec: reader.Record{Messages: userText("hi"), ModelID: "us.amazon.nova-pro-v1:0",
				Inference:        reader.Inference{MaxTokens: ptr(int32(10)), TopP: ptr(float32(0.5)), StopSequences: []string{}},
				AdditionalFields: json.RawMessage(`{"top_k":5}`), System: "Own system."},
			want: func(r *bedrock.Request) {
				r.ModelID = "us.amazon.nova-pro-v1:0"
				r.System = "Own system."
				r.Inference.MaxTokens = ptr(int32(10))
				r.Inference.TopP = ptr(float32(0.5))
				r.Inference.StopSequences = []string{}
				r.AdditionalFields = json.RawMessage(`{"keep":true,"top_k":5}`)
			},
		},
		{
			name: "multi-turn few-shot kept in order",
			rec: reader.Record{Messages: []reader.Message{
				{Role: "user", Content: []reader.Content{{Text: "2+2"}}},
				{Role: "assistant", Content: []reader.Content{{Text: "4"}}},
				{Role: "user", Content: []reader.Content{{Text: "3+3"}, {CachePoint: true}}},
			}},
			want: func(r *bedrock.Request) {
				r.Messages = []bedrock.Message{
					{Role: "user", Content: bedrock.TextBlocks("2+2")},
					{Role: "assistant", Content: bedrock.TextBlocks("4")},
					{Role: "user", Content: []bedrock.Block{{Text: "3+3"}, {CachePoint: true}}},
				}
			},
		},
		{
			name: "documents read as bytes, s3 images as bytes for a model without s3Location",
			rec: reader.Record{Messages: []reader.Message{{Role: "user", Content: []reader.Content{
				{Document: &reader.Media{Format: "pdf", Name: "a", Location: "docs/a.pdf"}},
				{Image: &reader.Media{Format: "png", Location: "s3://bucket/b.png"}},
				{Text: "Compare."},
			}}}},
			want: func(r *bedrock.Request) {
				r.Messages = []bedrock.Message{{Role: "user", Content: []bedrock.Block{
					{Document: &bedrock.Media{Format: "pdf", Name: "a", Bytes: []byte("%PDF-1.7 tiny")}},
					{Image: &bedrock.Media{Format: "png", Bytes: []byte("\x89PNG...")}},
					{Text: "Compare."},
				}}}
			},
		},
		{
			name: "s3 media stay a location for a model that reads S3",
			rec: reader.Record{ModelID: "amazon.nova-lite-v1:0", Messages: []reader.Message{{Role: "user", Content: []reader.Content{
				{Image: &reader.Media{Format: "png", Location: "s3://bucket/b.png", BucketOwner: "111122223333"}},
				{Text: "Describe."},
			}}}},
			want: func(r *bedrock.Request) {
				r.ModelID = "amazon.nova-lite-v1:0"
				r.Messages = []bedrock.Message{{Role: "user", Content: []bedrock.Block{
					{Image: &bedrock.Media{Format: "png", S3URI: "s3://bucket/b.png", BucketOwner: "111122223333"}},
					{Text: "Describe."},
				}}}
			},
		},
		{
			name: "--expected-bucket-owner is the bucketOwner of s3 media whose record names none",
			job:  func(o *request.Options) { o.BucketOwner = "123456789012" },
			rec: reader.Record{ModelID: "amazon.nova-lite-v1:0", Messages: []reader.Message{{Role: "user", Content: []reader.Content{
				{Image: &reader.Media{Format: "png", Location: "s3://bucket/b.png"}},
				{Document: &reader.Media{Format: "pdf", Location: "s3://bucket/c.pdf", BucketOwner: "111122223333"}},
				{Text: "Describe."},
			}}}},
			want: func(r *bedrock.Request) {
				r.ModelID = "amazon.nova-lite-v1:0"
				r.Messages = []bedrock.Message{{Role: "user", Content: []bedrock.Block{
					{Image: &bedrock.Media{Format: "png", S3URI: "s3://bucket/b.png", BucketOwner: "123456789012"}},
					{Document: &bedrock.Media{Format: "pdf", Name: "document 1", S3URI: "s3://bucket/c.pdf", BucketOwner: "111122223333"}},
					{Text: "Describe."},
				}}}
			},
		},
		{
			name: "cache the system prompt, tier, latency, guardrail",
			job: func(o *request.Options) {
				o.CacheSystem, o.ServiceTier, o.Latency = true, "flex", "optimized"
				o.Guardrail = &bedrock.Guardrail{ID: "gr-1", Version: "3"}
			},
			rec: reader.Record{Messages: userText("hi")},
			want: func(r *bedrock.Request) {
				r.CacheSystem, r.ServiceTier, r.Latency = true, "flex", "optimized"
				r.Guardrail = &bedrock.Guardrail{ID: "gr-1", Version: "3"}
			},
		},
		{
			name: "template renders from fields and keeps attached documents",
			job: func(o *request.Options) {
				o.Template = mustTemplate(t, "Title: {{.title}}\n{{cachePoint}}Summarize: {{truncate 5 .body}} ({{default \"n/a\" .missing}})")
			},
			rec: reader.Record{
				Fields: map[string]any{"title": "T", "body": "abcdefgh", "prompt": "ignored"},
				Messages: []reader.Message{{Role: "user", Content: []reader.Content{
					{Document: &reader.Media{Format: "pdf", Name: "a", Location: "docs/a.pdf"}}, {Text: "ignored"}}}},
			},
			want: func(r *bedrock.Request) {
				r.Messages = []bedrock.Message{{Role: "user", Content: []bedrock.Block{
					{Document: &bedrock.Media{Format: "pdf", Name: "a", Bytes: []byte("%PDF-1.7 tiny")}},
					{Text: "Title: T\n"}, {CachePoint: true}, {Text: "Summarize: abcde (n/a)"},
				}}}
			},
		},
		{
			name: "template after few-shot turns is a new user turn",
			job:  func(o *request.Options) { o.Template = mustTemplate(t, "Q: {{.q}}") },
			rec: reader.Record{Fields: map[string]any{"q": json.Number("7")}, Messages: []reader.Message{
				{Role: "user", Content: []reader.Content{{Text: "Q: 1"}}},
				{Role: "assistant", Content: []reader.Content{{Text: "one"}}},
			}},
			want: func(r *bedrock.Request) {
				r.Messages = []bedrock.Message{
					{Role: "user", Content: bedrock.TextBlocks("Q: 1")},
					{Role: "assistant", Content: bedrock.TextBlocks("one")},
					{Role: "user", Content: bedrock.TextBlocks("Q: 7")},
				}
			},
		},
		{
			name: "schema forces a tool",
			job: func(o *request.Options) {
				s, err := request.ParseSchema("person.json", []byte(`{"type":"object","title":"person","properties":{"name":{"type":"string"}},"required":["name"]}`))
				if err != nil {
					t.Fatal(err)
				}
				o.Schema = s
			},
			rec: reader.Record{Messages: userText("hi")},
			want: func(r *bedrock.Request) {
				r.Tool = &bedrock.Tool{Name: "person", Description: "Give the answer as this tool's input, matching its JSON Schema exactly.",
					InputSchema: json.RawMessage(`{"type":"object","title":"person","properties":{"name":{"type":"string"}},"required":["name"]}`)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := job
			if tt.job != nil {
				tt.job(&opts)
			}
			rec := tt.rec
			rec.Origin = origin
			got, err := request.New(opts).Build(context.Background(), &rec)
			if err != nil {
				t.Fatal(err)
			}
			want := &bedrock.Request{
				ModelID: job.ModelID, System: job.System, Inference: job.Inference,
				AdditionalFields: job.AdditionalFields,
				Messages:         []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks("hi")}},
			}
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func mustTemplate(t *testing.T, text string) *request.Template {
	t.Helper()
	tmpl, err := request.ParseTemplate("prompt.tmpl", text)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestBuildErrors(t *testing.T) {
	origin := reader.Origin{File: "docs.parquet", Row: 9}
	big := strings.Repeat("x", bedrock.MaxDocumentBytes+1)
	tests := []struct {
		name      string
		opts      request.Options
		rec       reader.Record
		field     string
		errorType string
		reason    string
	}{
		{"template field missing", request.Options{Template: mustTemplate(t, "{{.title}}: {{.body}}")},
			reader.Record{Fields: map[string]any{"title": "x"}}, "body", request.ErrorTypeTemplate, "missing"},
		{"template renders nothing", request.Options{Template: mustTemplate(t, "{{.body}}")},
			reader.Record{Fields: map[string]any{"body": "  "}}, "", request.ErrorTypeTemplate, "empty prompt"},
		{"missing document", request.Options{Media: files{}},
			reader.Record{Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Document: &reader.Media{Format: "pdf", Location: "gone.pdf"}}, {Text: "x"}}}}},
			"messages[0].content[0].document", request.ErrorTypeMedia, "does not exist"},
		{"document over the limit", request.Options{Media: files{"big.txt": big}},
			reader.Record{Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: "x"}, {Document: &reader.Media{Format: "txt", Location: "big.txt"}}}}}},
			"messages[0].content[1].document", request.ErrorTypeMedia, "over Bedrock's limit"},
		{"too many documents", request.Options{},
			reader.Record{Messages: []reader.Message{{Role: "user", Content: manyDocs(bedrock.MaxDocuments + 1)}}},
			"messages[0].content[5].document", request.ErrorTypeMedia, "more than 5 documents"},
		{"additional fields not an object", request.Options{},
			reader.Record{Messages: userText("x"), AdditionalFields: json.RawMessage(`[1]`)},
			"additional_model_request_fields", request.ErrorTypeOverride, "JSON object"},
		{"no prompt", request.Options{}, reader.Record{}, "prompt", request.ErrorTypeOverride, "no prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec
			rec.Origin = origin
			_, err := request.New(tt.opts).Build(context.Background(), &rec)
			var e *request.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want a *request.Error", err)
			}
			if e.Field != tt.field || e.Type != tt.errorType || !strings.Contains(e.Error(), tt.reason) || e.Origin != origin {
				t.Errorf("got field %q type %q origin %v: %v; want field %q type %q containing %q", e.Field, e.Type, e.Origin, e, tt.field, tt.errorType, tt.reason)
			}
			if !strings.Contains(e.Error(), "docs.parquet row 9") {
				t.Errorf("%q does not say where the record is", e.Error())
			}
		})
	}
}

func manyDocs(n int) []reader.Content {
	c := []reader.Content{}
	for range n {
		c = append(c, reader.Content{Document: &reader.Media{Format: "txt", Bytes: []byte("x")}})
	}
	return append(c, reader.Content{Text: "x"})
}

func TestSchemaValidate(t *testing.T) {
	s, err := request.LoadSchemaFile(filepath.Join("testdata", "invoice.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		input string
		ok    bool
	}{
		{`{"vendor":"ACME","total":12.5,"lines":[{"item":"bolt","qty":3}]}`, true},
		{`{"vendor":"ACME","total":"12.5","lines":[]}`, false},
		{`{"total":1,"lines":[]}`, false},
		{`{"vendor":"ACME","total":1,"lines":[{"item":"bolt","qty":1.5}]}`, false},
		{`not json`, false},
		{``, false},
	}
	for _, tt := range tests {
		err := s.Validate(json.RawMessage(tt.input))
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%s) = %v, want ok=%v", tt.input, err, tt.ok)
		}
	}
	if tool := s.Tool(); tool.Name != "invoice" || !json.Valid(tool.InputSchema) {
		t.Errorf("tool %+v", tool)
	}
}

func TestParseSchemaRejects(t *testing.T) {
	for _, text := range []string{`[]`, `{"type":"string"}`, `{"type":"object","properties":{"a":{"type":"nope"}}}`, `{`} {
		if _, err := request.ParseSchema("s.json", []byte(text)); err == nil {
			t.Errorf("ParseSchema(%s) accepted", text)
		}
	}
}

func TestModelInput(t *testing.T) {
	req := &bedrock.Request{
		System: "S", CacheSystem: true,
		Messages: []bedrock.Message{{Role: "user", Content: []bedrock.Block{
			{Image: &bedrock.Media{Format: "png", Bytes: []byte("ab")}}, {Text: "hi"}, {CachePoint: true}}}},
		Inference:        bedrock.InferenceConfig{Temperature: ptr(float32(0)), MaxTokens: ptr(int32(5))},
		AdditionalFields: json.RawMessage(`{"top_k":1}`),
	}
	got, err := request.ModelInput(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"YWI="}}},{"text":"hi"},{"cachePoint":{"type":"default"}}]}],"system":[{"text":"S"},{"cachePoint":{"type":"default"}}],"inferenceConfig":{"maxTokens":5,"temperature":0},"additionalModelRequestFields":{"top_k":1}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
