package reader

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path    string
		want    Format
		wantErr bool
	}{
		{"a.jsonl", JSONL, false},
		{"dir/a.ndjson", JSONL, false},
		{"a.jsonl.gz", JSONL, false},
		{"a.NDJSON.GZ", JSONL, false},
		{"a.parquet", Parquet, false},
		{"s3://bucket/key/a.Parquet", Parquet, false},
		{"a.json", "", true},
		{"a.csv", "", true},
		{"a.parquet.gz", "", true},
		{"jsonl", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FormatOf(tt.path)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("FormatOf(%q) = %q, %v; want %q, error %v", tt.path, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

// writeFiles creates files (name -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gzipped compresses s.
func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	parquetFixture, err := os.ReadFile(filepath.Join("testdata", "duckdb_gzip_int32.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzipped(t, "{\"id\":\"g1\",\"prompt\":\"p\"}\n\n{\"prompt\":\"p\"}\n")
	writeFiles(t, dir, map[string]string{
		"a.jsonl":       `{"id":"a1","prompt":"p"}` + "\n" + `{"id":"a2","prompt":"p"}`,
		"b.jsonl.gz":    gz,
		"c.parquet":     string(parquetFixture),
		"d.ndjson":      "",
		"e.txt":         `{"id":"e1","prompt":"p"}`,
		"truncated.gz":  gz[:len(gz)-8], // no trailer
		"garbage.gz":    "this is not gzip",
		"bad.parquet":   "PAR1 nope",
		"unknown.jsonx": "",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	ids := func(ids ...string) []string { return ids }
	tests := []struct {
		name     string
		inputs   []Input
		want     []string // ids read before the end or the error
		wantErr  string   // substring of the error that ends the reading
		notExist bool
	}{
		{
			name:   "JSONL, gzip, Parquet and an empty file in order",
			inputs: []Input{{Path: p("a.jsonl")}, {Path: p("b.jsonl.gz")}, {Path: p("d.ndjson")}, {Path: p("c.parquet")}},
			want:   ids("a1", "a2", "g1", "b.jsonl.gz:3", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"),
		},
		{
			name:   "explicit format overrides the extension",
			inputs: []Input{{Path: p("e.txt"), Format: JSONL}},
			want:   ids("e1"),
		},
		{
			name:     "a missing file fails only when reached",
			inputs:   []Input{{Path: p("a.jsonl")}, {Path: p("missing.jsonl")}},
			want:     ids("a1", "a2"),
			wantErr:  "missing.jsonl",
			notExist: true,
		},
		{
			name:     "missing Parquet file",
			inputs:   []Input{{Path: p("missing.parquet")}},
			wantErr:  "missing.parquet",
			notExist: true,
		},
		{
			name:    "truncated gzip",
			inputs:  []Input{{Path: p("truncated.gz"), Format: JSONL}},
			want:    ids("g1", "truncated.gz:3"),
			wantErr: "truncated.gz",
		},
		{
			name:    "not gzip",
			inputs:  []Input{{Path: p("garbage.gz"), Format: JSONL}},
			wantErr: "garbage.gz: not a readable gzip file",
		},
		{
			name:    "not Parquet",
			inputs:  []Input{{Path: p("bad.parquet")}},
			wantErr: "bad.parquet",
		},
		{
			name:    "unknown extension",
			inputs:  []Input{{Path: p("unknown.jsonx")}},
			wantErr: "unknown.jsonx",
		},
		{
			name:    "a directory",
			inputs:  []Input{{Path: dir, Format: Parquet}},
			wantErr: "is a directory",
		},
		{
			name:    "unknown format",
			inputs:  []Input{{Path: p("a.jsonl"), Format: "csv"}},
			wantErr: `unknown format "csv"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := OpenFiles(tt.inputs)
			defer f.Close()
			var got []string
			var err error
			for {
				var rec Record
				rec, err = f.Next(context.Background())
				if err != nil {
					break
				}
				got = append(got, rec.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids %q, want %q", got, tt.want)
			}
			if tt.wantErr == "" {
				if err != io.EOF {
					t.Fatalf("ended with %v, want io.EOF", err)
				}
				return
			}
			if err == io.EOF || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ended with %v, want an error containing %q", err, tt.wantErr)
			}
			if errors.Is(err, os.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(%v, os.ErrNotExist) = %v", err, !tt.notExist)
			}
			if _, err2 := f.Next(context.Background()); err2 == nil || err2 == io.EOF {
				t.Errorf("Next after the error returned %v", err2)
			}
		})
	}
}

// countingOpener records which files are open.
type countingOpener struct {
	*storage.Router
	open map[string]int
}

type trackedCloser struct {
	io.ReadCloser
	close func()
}

func (c trackedCloser) Close() error { c.close(); return c.ReadCloser.Close() }

func (o *countingOpener) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	rc, err := o.Router.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	o.open[path]++
	return trackedCloser{rc, func() { o.open[path]-- }}, nil
}

func TestFilesOpenLazilyOneAtATime(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jsonl": `{"prompt":"a"}`, "b.jsonl": `{"prompt":"b"}`})
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	op := &countingOpener{Router: storage.NewRouter(nil), open: map[string]int{}}
	f := OpenFilesWith(op, []Input{{Path: a}, {Path: b}})
	if len(op.open) != 0 {
		t.Fatalf("files opened before the first Next: %v", op.open)
	}
	ctx := context.Background()
	if _, err := f.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if op.open[a] != 1 || op.open[b] != 0 {
		t.Fatalf("after the first record: %v", op.open)
	}
	if _, err := f.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if op.open[a] != 0 || op.open[b] != 1 {
		t.Fatalf("after the second record: %v", op.open)
	}
	if _, err := f.Next(ctx); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	if op.open[b] != 0 {
		t.Fatalf("b still open at the end: %v", op.open)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFilesClose(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jsonl": "{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}\n"})
	op := &countingOpener{Router: storage.NewRouter(nil), open: map[string]int{}}
	f := OpenFilesWith(op, []Input{{Path: filepath.Join(dir, "a.jsonl")}})
	if _, err := f.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for p, n := range op.open {
		if n != 0 {
			t.Errorf("%s still open after Close", p)
		}
	}
	if _, err := f.Next(context.Background()); err == nil || err == io.EOF {
		t.Errorf("Next after Close returned %v", err)
	}
}
