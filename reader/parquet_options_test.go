package reader

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// readParquetWith reads every record of a Parquet file with o.
func readParquetWith(t *testing.T, path string, o Options) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewParquetWith(bytes.NewReader(data), int64(len(data)), path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return readAll(t, r)
}

func TestParquetKeepFieldsForTemplates(t *testing.T) {
	type row struct {
		DocID string `parquet:"doc_id"`
		Title string `parquet:"title"`
		Body  string `parquet:"body"`
	}
	dir := t.TempDir()
	path := writeParquet(t, dir, "docs.parquet", []row{{"d1", "Q3", "Revenue rose."}, {"d2", "Q4", "Revenue fell."}},
		parquet.MaxRowsPerRowGroup(1))
	recs := readParquetWith(t, path, Options{IDField: "doc_id", KeepFields: true, PromptOptional: true})
	checkRendered(t, recs, dir+"/", []string{
		`{"id":"d1","origin":"docs.parquet row 1","fields":{"body":"string(Revenue rose.)","doc_id":"string(d1)","title":"string(Q3)"}}`,
		`{"id":"d2","origin":"docs.parquet row 2","fields":{"body":"string(Revenue fell.)","doc_id":"string(d2)","title":"string(Q4)"}}`,
	})

	// The same file with "body" as the prompt field: no option needed for it
	// to be required.
	recs = readParquetWith(t, path, Options{IDField: "doc_id", PromptField: "body"})
	checkRendered(t, recs, dir+"/", []string{
		`{"id":"d1","origin":"docs.parquet row 1","messages":[{"role":"user","text":["Revenue rose."]}]}`,
		`{"id":"d2","origin":"docs.parquet row 2","messages":[{"role":"user","text":["Revenue fell."]}]}`,
	})
	if _, err := NewParquetWith(bytes.NewReader(nil), 0, "x", Options{}); err == nil {
		t.Error("an empty file opened")
	}
	data, _ := os.ReadFile(path)
	if _, err := NewParquet(bytes.NewReader(data), int64(len(data)), path); err == nil || !strings.Contains(err.Error(), `no "prompt" or "messages" column`) {
		t.Errorf("without PromptOptional: %v", err)
	}
}

// pqRich is a row with every column the reader knows and some it keeps.
type pqRich struct {
	ID          string   `parquet:"id"`
	Prompt      *string  `parquet:"prompt,optional"`
	Model       *string  `parquet:"model,optional"`
	MaxTokens   *int32   `parquet:"max_tokens,optional"`
	Temperature *float64 `parquet:"temperature,optional"`
	TopP        *float32 `parquet:"top_p,optional"`
	Inference   *string  `parquet:"inference_config,optional"`
	Additional  *string  `parquet:"additional_model_request_fields,optional"`
	Documents   []string `parquet:"documents,list"`
	Images      []byte   `parquet:"images,optional"` // raw bytes or a reference
	Flag        bool     `parquet:"flag"`
	Count       int64    `parquet:"count"`
	Big         uint64   `parquet:"big"`
	Ratio       float32  `parquet:"ratio"`
	Blob        []byte   `parquet:"blob,optional"`
	Nested      struct {
		A string `parquet:"a"`
	} `parquet:"nested"`
}

func TestParquetOverridesMediaAndFields(t *testing.T) {
	rows := []pqRich{
		{ID: "plain", Prompt: ptr("p")},
		{ID: "over", Prompt: ptr("p"), Model: ptr("amazon.nova-lite-v1:0"), MaxTokens: ptr(int32(256)), Temperature: ptr(0.5), TopP: ptr(float32(0.25)),
			Inference: ptr(`{"max_tokens": 99, "stop_sequences": ["END"]}`), Additional: ptr(`{"top_k": 3}`)},
		{ID: "media", Prompt: ptr("p"), Documents: []string{"s3://b/a.pdf", "notes/b.md"}, Images: pngBytes},
		{ID: "ref", Prompt: ptr("p"), Images: []byte("s3://b/c.webp")},
		{ID: "kept", Prompt: ptr("p"), Flag: true, Count: -5, Big: math.MaxUint64, Ratio: 0.5, Blob: []byte{0xff, 0}},
		{ID: "empty-model", Prompt: ptr("p"), Model: ptr(""), Additional: ptr("")},
		{ID: "bad-max", Prompt: ptr("p"), MaxTokens: ptr(int32(0))},
		{ID: "bad-temp", Prompt: ptr("p"), Temperature: ptr(math.NaN())},
		{ID: "bad-top", Prompt: ptr("p"), TopP: ptr(float32(-1))},
		{ID: "bad-add", Prompt: ptr("p"), Additional: ptr(`[1]`)},
		{ID: "bad-add-json", Prompt: ptr("p"), Additional: ptr(`{`)},
		{ID: "bad-inf", Prompt: ptr("p"), Inference: ptr(`{"temperature": "hot"}`)},
		{ID: "bad-doc", Prompt: ptr("p"), Documents: []string{"a.pdf", "b.zip"}},
		{ID: "bad-img", Prompt: ptr("p"), Images: pdfBytes},
		{ID: "bad-raw", Prompt: ptr("p"), Images: []byte{0xff, 0xfe, 0}},
		{ID: "no-prompt"},
	}
	dir := t.TempDir()
	path := writeParquet(t, dir, "rich.parquet", rows, parquet.MaxRowsPerRowGroup(5))
	recs := readParquetWith(t, path, Options{})
	checkRendered(t, recs, dir+"/", []string{
		`{"id":"plain","origin":"rich.parquet row 1","messages":[{"role":"user","text":["p"]}]}`,
		`{"id":"over","origin":"rich.parquet row 2","messages":[{"role":"user","text":["p"]}],"model":"amazon.nova-lite-v1:0","inference":"max_tokens=256 temperature=0.5 top_p=0.25 stop=[\"END\"]","additional":"{\"top_k\": 3}"}`,
		`{"id":"media","origin":"rich.parquet row 3","messages":[{"role":"user","content":["document pdf name=a loc=s3://b/a.pdf","document md name=b loc=notes/b.md","image png bytes=16:89504e47","text:p"]}]}`,
		`{"id":"ref","origin":"rich.parquet row 4","messages":[{"role":"user","content":["image webp loc=s3://b/c.webp","text:p"]}]}`,
		`{"id":"kept","origin":"rich.parquet row 5","messages":[{"role":"user","text":["p"]}]}`,
		`{"id":"empty-model","origin":"rich.parquet row 6","messages":[{"role":"user","text":["p"]}]}`,
		`{"id":"bad-max","origin":"rich.parquet row 7","err_field":"max_tokens","err":"must be an integer from 1 to 2147483647, got 0"}`,
		`{"id":"bad-temp","origin":"rich.parquet row 8","err_field":"temperature","err":"must be a finite number ≥ 0, got NaN"}`,
		`{"id":"bad-top","origin":"rich.parquet row 9","err_field":"top_p","err":"must be a finite number ≥ 0, got -1"}`,
		`{"id":"bad-add","origin":"rich.parquet row 10","err_field":"additional_model_request_fields","err":"must be a JSON object, got an array"}`,
		`{"id":"bad-add-json","origin":"rich.parquet row 11","err_field":"additional_model_request_fields","err":"not valid JSON"}`,
		`{"id":"bad-inf","origin":"rich.parquet row 12","err_field":"inference_config.temperature","err":"must be a number, got a string"}`,
		`{"id":"bad-doc","origin":"rich.parquet row 13","err_field":"documents[1]","err":"unknown document extension \".zip\": want pdf, csv, doc, docx, xls, xlsx, html, txt or md"}`,
		`{"id":"bad-img","origin":"rich.parquet row 14","err_field":"images","err":"raw bytes are a document (pdf), not a image"}`,
		`{"id":"bad-raw","origin":"rich.parquet row 15","err_field":"images","err":"raw bytes of an unknown format: give a image as PNG, JPEG, GIF, WebP or PDF bytes, or as a URI or path"}`,
		`{"id":"no-prompt","origin":"rich.parquet row 16","err_field":"prompt","err":"is null"}`,
	})

	// KeepFields: every flat column, each as its Go type; the list and the
	// nested group are left out.
	recs = readParquetWith(t, path, Options{KeepFields: true, PromptOptional: true})
	got := renderRecord(recs[4])
	want := `"fields":{"additional_model_request_fields":"\u003cnil\u003e(\u003cnil\u003e)","big":"uint64(18446744073709551615)","blob":"[]uint8([255 0])","count":"int64(-5)","flag":"bool(true)","id":"string(kept)","images":"\u003cnil\u003e(\u003cnil\u003e)","inference_config":"\u003cnil\u003e(\u003cnil\u003e)","max_tokens":"\u003cnil\u003e(\u003cnil\u003e)","model":"\u003cnil\u003e(\u003cnil\u003e)","prompt":"string(p)","ratio":"float64(0.5)","temperature":"\u003cnil\u003e(\u003cnil\u003e)","top_p":"\u003cnil\u003e(\u003cnil\u003e)"}`
	if !strings.Contains(got, want) {
		t.Errorf("kept fields:\n got %s\nwant %s", got, want)
	}
	if rec := recs[15]; rec.ID != "no-prompt" || rec.Err != nil || rec.Messages != nil {
		t.Errorf("optional prompt: %s", renderRecord(rec))
	}
}

func TestParquetOptionColumnErrors(t *testing.T) {
	dir := t.TempDir()
	type stringMax struct {
		Prompt    string `parquet:"prompt"`
		MaxTokens string `parquet:"max_tokens"`
	}
	type intModel struct {
		Prompt string `parquet:"prompt"`
		Model  int32  `parquet:"model"`
	}
	type intDocs struct {
		Prompt    string  `parquet:"prompt"`
		Documents []int64 `parquet:"documents,list"`
	}
	type nestedImages struct {
		Prompt string `parquet:"prompt"`
		Images struct {
			A string `parquet:"a"`
			B string `parquet:"b"`
		} `parquet:"images"`
	}
	type renamedID struct {
		Key    float64 `parquet:"key"`
		Prompt string  `parquet:"prompt"`
	}
	tests := []struct {
		name string
		path string
		opts Options
		want []string
	}{
		{"max_tokens of strings", writeParquet(t, dir, "a.parquet", []stringMax{{"p", "10"}}), Options{}, []string{`column "max_tokens"`, "want a number"}},
		{"model of integers", writeParquet(t, dir, "b.parquet", []intModel{{"p", 1}}), Options{}, []string{`column "model"`, "want a string"}},
		{"documents of integers", writeParquet(t, dir, "c.parquet", []intDocs{{"p", []int64{1}}}), Options{}, []string{`column "documents"`, "list"}},
		{"nested images", writeParquet(t, dir, "d.parquet", []nestedImages{{Prompt: "p"}}), Options{}, []string{`column "images"`}},
		{"renamed id of floats", writeParquet(t, dir, "e.parquet", []renamedID{{1, "p"}}), Options{IDField: "key"}, []string{`column "key"`, "string or an integer"}},
		{"renamed prompt absent", writeParquet(t, dir, "f.parquet", []renamedID{{1, "p"}}), Options{PromptField: "question"}, []string{`no "question" or "messages" column`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewParquetWith(bytes.NewReader(data), int64(len(data)), tt.path, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.want, filepath.Base(tt.path)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestFilesWithOptions(t *testing.T) {
	type row struct {
		DocID string `parquet:"doc_id"`
		Q     string `parquet:"question"`
	}
	dir := t.TempDir()
	pq := writeParquet(t, dir, "b.parquet", []row{{"p1", "From Parquet?"}})
	writeFiles(t, dir, map[string]string{"a.jsonl": `{"doc_id":"j1","question":"From JSONL?","lang":"fr"}` + "\n"})
	f := OpenFiles([]Input{{Path: filepath.Join(dir, "a.jsonl")}, {Path: pq}}).
		WithOptions(Options{IDField: "doc_id", PromptField: "question", KeepFields: true})
	defer f.Close()
	checkRendered(t, readAll(t, f), dir+"/", []string{
		`{"id":"j1","origin":"a.jsonl:1","messages":[{"role":"user","text":["From JSONL?"]}],"fields":{"doc_id":"string(j1)","lang":"string(fr)","question":"string(From JSONL?)"}}`,
		`{"id":"p1","origin":"b.parquet row 1","messages":[{"role":"user","text":["From Parquet?"]}],"fields":{"doc_id":"string(p1)","question":"string(From Parquet?)"}}`,
	})
}
