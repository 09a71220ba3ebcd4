package bedrock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

func image(format string, size int) bedrock.Block {
	return bedrock.Block{Image: &bedrock.Media{Format: format, Bytes: bytes.Repeat([]byte{1}, size)}}
}

func doc(format, name string, size int) bedrock.Block {
	return bedrock.Block{Document: &bedrock.Media{Format: format, Name: name, Bytes: bytes.Repeat([]byte{1}, size)}}
}

func repeat(b bedrock.Block, n int) []bedrock.Block {
	blocks := make([]bedrock.Block, n)
	for i := range blocks {
		blocks[i] = b
	}
	return blocks
}

// TestValidation checks that what Bedrock would reject fails before any
// call, as a BadRecord, and that what it takes at the limits is sent.
func TestValidation(t *testing.T) {
	tests := []struct {
		name     string
		req      bedrock.Request
		wantType string // "" means valid
		wantIn   string // in the message
	}{
		{"image at the size limit", bedrock.Request{Messages: user(image("png", bedrock.MaxImageBytes), text("?"))}, "", ""},
		{"image too large", bedrock.Request{Messages: user(image("png", bedrock.MaxImageBytes+1), text("?"))}, bedrock.TypeInvalidContent, "3932161 bytes"},
		{"image format", bedrock.Request{Messages: user(image("bmp", 10), text("?"))}, bedrock.TypeInvalidContent, `"bmp"`},
		{"jpg is not a format", bedrock.Request{Messages: user(image("jpg", 10), text("?"))}, bedrock.TypeInvalidContent, "png, jpeg, gif, webp"},
		{"20 images", bedrock.Request{Messages: user(append(repeat(image("gif", 1), bedrock.MaxImages), text("?"))...)}, "", ""},
		{"21 images", bedrock.Request{Messages: []bedrock.Message{
			{Role: "user", Content: append(repeat(image("gif", 1), 11), text("?"))},
			{Role: "assistant", Content: bedrock.TextBlocks("ok")},
			{Role: "user", Content: append(repeat(image("gif", 1), 10), text("?"))},
		}}, bedrock.TypeInvalidContent, "21 images"},
		{"image empty", bedrock.Request{Messages: user(image("png", 0), text("?"))}, bedrock.TypeInvalidContent, "empty"},
		{"image bytes and s3", bedrock.Request{Messages: user(bedrock.Block{Image: &bedrock.Media{Format: "png", Bytes: []byte{1}, S3URI: "s3://b/k"}})}, bedrock.TypeInvalidContent, "both"},
		{"image s3 uri", bedrock.Request{Messages: user(bedrock.Block{Image: &bedrock.Media{Format: "png", S3URI: "https://b/k"}})}, bedrock.TypeInvalidContent, "s3://"},
		{"bucket owner", bedrock.Request{Messages: user(bedrock.Block{Image: &bedrock.Media{Format: "png", S3URI: "s3://b/k", BucketOwner: "12345"}})}, bedrock.TypeInvalidContent, "12-digit"},
		{"image from the assistant", bedrock.Request{Messages: []bedrock.Message{{Role: "assistant", Content: []bedrock.Block{image("png", 1)}}}}, bedrock.TypeInvalidContent, "user messages"},
		{"document at the size limit", bedrock.Request{Messages: user(doc("docx", "a", bedrock.MaxDocumentBytes), text("?"))}, "", ""},
		{"document too large", bedrock.Request{Messages: user(doc("docx", "a", bedrock.MaxDocumentBytes+1), text("?"))}, bedrock.TypeInvalidContent, "4718593 bytes"},
		{"large PDF left to Bedrock", bedrock.Request{Messages: user(doc("pdf", "a", bedrock.MaxDocumentBytes+1), text("?"))}, "", ""},
		{"document format", bedrock.Request{Messages: user(doc("rtf", "a", 1), text("?"))}, bedrock.TypeInvalidContent, `"rtf"`},
		{"5 documents", bedrock.Request{Messages: user(append(repeat(doc("csv", "a", 1), bedrock.MaxDocuments), text("?"))...)}, "", ""},
		{"6 documents", bedrock.Request{Messages: user(append(repeat(doc("csv", "a", 1), bedrock.MaxDocuments+1), text("?"))...)}, bedrock.TypeInvalidContent, "6 documents"},
		{"document name with a dot", bedrock.Request{Messages: user(doc("txt", "notes.txt", 1), text("?"))}, bedrock.TypeInvalidContent, "DocumentName"},
		{"document name with two spaces", bedrock.Request{Messages: user(doc("txt", "a  b", 1), text("?"))}, bedrock.TypeInvalidContent, "document name"},
		{"document name with a tab", bedrock.Request{Messages: user(doc("txt", "a\tb", 1), text("?"))}, bedrock.TypeInvalidContent, "document name"},
		{"document name not ASCII", bedrock.Request{Messages: user(doc("txt", "résumé", 1), text("?"))}, bedrock.TypeInvalidContent, "document name"},
		{"document name with an underscore", bedrock.Request{Messages: user(doc("txt", " a_b (1) [x] ", 1), text("?"))}, "", ""},
		{"document without a name", bedrock.Request{Messages: user(doc("txt", "", 1), text("?"))}, bedrock.TypeInvalidContent, "document name"},
		{"document without text", bedrock.Request{Messages: user(doc("txt", "a", 1), bedrock.Block{CachePoint: true})}, bedrock.TypeInvalidContent, "text block"},
		{"empty block", bedrock.Request{Messages: user(text(""))}, bedrock.TypeInvalidRequest, "empty"},
		{"two kinds in a block", bedrock.Request{Messages: user(bedrock.Block{Text: "a", CachePoint: true})}, bedrock.TypeInvalidRequest, "not several"},
		{"role", bedrock.Request{Messages: []bedrock.Message{{Role: "system", Content: bedrock.TextBlocks("a")}}}, bedrock.TypeInvalidRequest, "role"},
		{"tool name", bedrock.Request{Messages: user(text("a")), Tool: &bedrock.Tool{Name: "my tool", InputSchema: json.RawMessage(`{}`)}}, bedrock.TypeInvalidRequest, "tool name"},
		{"tool schema not JSON", bedrock.Request{Messages: user(text("a")), Tool: &bedrock.Tool{Name: "t", InputSchema: json.RawMessage(`{"type":`)}}, bedrock.TypeInvalidRequest, "input schema"},
		{"tool schema not an object", bedrock.Request{Messages: user(text("a")), Tool: &bedrock.Tool{Name: "t", InputSchema: json.RawMessage(`[]`)}}, bedrock.TypeInvalidRequest, "object"},
		{"additional fields not an object", bedrock.Request{Messages: user(text("a")), AdditionalFields: json.RawMessage(`7`)}, bedrock.TypeInvalidRequest, "object"},
		{"additional fields trailing data", bedrock.Request{Messages: user(text("a")), AdditionalFields: json.RawMessage(`{} {}`)}, bedrock.TypeInvalidRequest, "more than one"},
		{"additional fields null", bedrock.Request{Messages: user(text("a")), AdditionalFields: json.RawMessage(`null`)}, "", ""},
		{"guardrail version", bedrock.Request{Messages: user(text("a")), Guardrail: &bedrock.Guardrail{ID: "g"}}, bedrock.TypeInvalidRequest, "guardrail"},
		{"service tier", bedrock.Request{Messages: user(text("a")), ServiceTier: "gold"}, bedrock.TypeInvalidRequest, "service tier"},
		{"latency", bedrock.Request{Messages: user(text("a")), Latency: "fast"}, bedrock.TypeInvalidRequest, "latency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, answerOK)
			tt.req.ModelID = "m"
			for _, stream := range []bool{false, true} {
				_, err := f.client(stream).Converse(context.Background(), &tt.req)
				if tt.wantType == "" {
					if err != nil {
						t.Fatalf("stream=%v: %v", stream, err)
					}
					continue
				}
				var callErr *bedrock.Error
				if !errors.As(err, &callErr) || callErr.Class != bedrock.BadRecord || callErr.Type != tt.wantType || !strings.Contains(callErr.Message, tt.wantIn) {
					t.Fatalf("stream=%v: error %v, want a BadRecord %s mentioning %q", stream, err, tt.wantType, tt.wantIn)
				}
			}
			if _, err := f.client(false).CountTokens(context.Background(), &tt.req); (err == nil) != (tt.wantType == "") {
				t.Errorf("CountTokens: %v", err)
			}
			if tt.wantType != "" && f.callCount() != 0 {
				t.Errorf("%d calls made for an invalid request", f.callCount())
			}
		})
	}
}

func TestDocumentName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report"},
		{"Q3_report (final).pdf", "Q3-report (final)"},
		{"/data/in/2024 Annual  Report [draft].docx", "2024 Annual Report [draft]"},
		{`C:\Users\me\notes.v2.md`, "notes-v2"},
		{"  leading and trailing  .txt", "leading and trailing"},
		{"tab\tand\nnewline.txt", "tab and newline"},
		{"résumé.pdf", "r-sum-"},
		{"データ.csv", "document"},
		{".hidden", "-hidden"},
		{"", "document"},
		{"...", "document"},
		{strings.Repeat("a", 300) + ".pdf", strings.Repeat("a", bedrock.MaxDocumentNameLen)},
		{strings.Repeat("a", 199) + " b.pdf", strings.Repeat("a", 199)},
	}
	for _, tt := range tests {
		got := bedrock.DocumentName(tt.in)
		if got != tt.want {
			t.Errorf("DocumentName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !bedrock.ValidDocumentName(got) {
			t.Errorf("DocumentName(%q) = %q is not valid", tt.in, got)
		}
	}
}

func FuzzDocumentName(f *testing.F) {
	for _, s := range []string{"report.pdf", "a  b", "データ.csv", "x/y\\z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name := bedrock.DocumentName(s); !bedrock.ValidDocumentName(name) {
			t.Errorf("DocumentName(%q) = %q is not valid", s, name)
		}
	})
}
