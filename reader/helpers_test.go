package reader

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// readAll reads every record of src.
func readAll(t *testing.T, src Source) []Record {
	t.Helper()
	var recs []Record
	for {
		rec, err := src.Next(context.Background())
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(recs), err)
		}
		recs = append(recs, rec)
	}
}

// readJSONL reads every record of text read as the file name.
func readJSONL(t *testing.T, name, text string) []Record {
	t.Helper()
	return readAll(t, NewJSONL(strings.NewReader(text), name))
}

// renderRecord is a Record in a stable, readable JSON form for comparisons
// and golden files. A message of text blocks only shows as "text"; one with
// other blocks as "content", each block rendered by renderBlock.
func renderRecord(rec Record) string {
	type msg struct {
		Role    string   `json:"role"`
		Text    []string `json:"text,omitempty"`
		Content []string `json:"content,omitempty"`
	}
	var v struct {
		ID          string         `json:"id"`
		Origin      string         `json:"origin"`
		Style       string         `json:"style,omitempty"`
		Messages    []msg          `json:"messages,omitempty"`
		System      string         `json:"system,omitempty"`
		CacheSystem bool           `json:"cache_system,omitempty"`
		Model       string         `json:"model,omitempty"`
		Inference   string         `json:"inference,omitempty"`
		Additional  string         `json:"additional,omitempty"` // verbatim
		Metadata    string         `json:"metadata,omitempty"`   // verbatim
		Fields      map[string]any `json:"fields,omitempty"`
		Raw         string         `json:"raw,omitempty"` // verbatim
		Field       string         `json:"err_field,omitempty"`
		Err         string         `json:"err,omitempty"`
	}
	v.ID, v.Origin, v.System, v.Metadata = rec.ID, rec.Origin.String(), rec.System, string(rec.Metadata)
	v.Style, v.CacheSystem, v.Model, v.Additional, v.Raw = rec.Style, rec.CacheSystem, rec.ModelID, string(rec.AdditionalFields), string(rec.Raw)
	v.Inference = renderInference(rec.Inference)
	v.Fields = renderFields(rec.Fields)
	for _, m := range rec.Messages {
		mm := msg{Role: m.Role}
		rich := false
		for _, c := range m.Content {
			rich = rich || c.Text == ""
		}
		for _, c := range m.Content {
			if rich {
				mm.Content = append(mm.Content, renderBlock(c))
			} else {
				mm.Text = append(mm.Text, c.Text)
			}
		}
		v.Messages = append(v.Messages, mm)
	}
	if rec.Err != nil {
		var ie *InvalidRecordError
		if !errors.As(rec.Err, &ie) || !errors.Is(rec.Err, ErrInvalidRecord) {
			v.Err = "NOT AN InvalidRecordError: " + rec.Err.Error()
		} else {
			v.Field, v.Err = ie.Field, ie.Reason
			if ie.Origin != rec.Origin {
				v.Err += " [ORIGIN MISMATCH " + ie.Origin.String() + "]"
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "MARSHAL ERROR: " + err.Error()
	}
	return string(b)
}

// renderBlock is one content block as "text:...", "cachePoint", or
// "image png loc=... bytes=N" and "document pdf name=... loc=...".
func renderBlock(c Content) string {
	media := func(kind string, m *Media) string {
		s := kind + " " + m.Format
		if m.Name != "" {
			s += " name=" + m.Name
		}
		if m.Location != "" {
			s += " loc=" + m.Location
		}
		if m.BucketOwner != "" {
			s += " owner=" + m.BucketOwner
		}
		if m.Bytes != nil {
			s += fmt.Sprintf(" bytes=%d:%x", len(m.Bytes), m.Bytes[:min(4, len(m.Bytes))])
		}
		return s
	}
	switch {
	case c.Image != nil:
		return media("image", c.Image)
	case c.Document != nil:
		return media("document", c.Document)
	case c.CachePoint:
		return "cachePoint"
	}
	return "text:" + c.Text
}

// renderInference shows the parameters that are set, as "max_tokens=N ...".
func renderInference(inf Inference) string {
	var parts []string
	if inf.MaxTokens != nil {
		parts = append(parts, fmt.Sprintf("max_tokens=%d", *inf.MaxTokens))
	}
	if inf.Temperature != nil {
		parts = append(parts, fmt.Sprintf("temperature=%g", *inf.Temperature))
	}
	if inf.TopP != nil {
		parts = append(parts, fmt.Sprintf("top_p=%g", *inf.TopP))
	}
	if inf.StopSequences != nil {
		parts = append(parts, fmt.Sprintf("stop=%q", inf.StopSequences))
	}
	return strings.Join(parts, " ")
}

// renderFields shows each field's Go type with its value, so a test sees
// int64 from float64 and []byte from string.
func renderFields(fields map[string]any) map[string]any {
	if fields == nil {
		return nil
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		out[k] = fmt.Sprintf("%T(%v)", v, v)
	}
	return out
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// checkRendered compares the rendered records with want, the base of the
// file name standing for its path.
func checkRendered(t *testing.T, recs []Record, dir string, want []string) {
	t.Helper()
	var got []string
	for _, r := range recs {
		got = append(got, strings.ReplaceAll(renderRecord(r), dir, ""))
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// Small media files: only their magic numbers matter to the reader.
var (
	pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	pdfBytes = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	png64    = base64.StdEncoding.EncodeToString(pngBytes)
	pdf64    = base64.StdEncoding.EncodeToString(pdfBytes)
)

// b64 is standard base64.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
