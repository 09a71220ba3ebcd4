package writer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown format", Options{Format: "csv", NamePrefix: "p"}, `unknown format "csv"`},
		{"no format", Options{NamePrefix: "p"}, `unknown format ""`},
		{"no prefix", Options{Format: JSONL}, "NamePrefix"},
		{"prefix with a slash", Options{Format: JSONL, NamePrefix: "a/b"}, "NamePrefix"},
		{"bookkeeping prefix", Options{Format: JSONL, NamePrefix: "_part"}, "reserved"},
		{"negative max rows", Options{Format: Parquet, NamePrefix: "p", MaxRowsPerFile: -1}, "MaxRowsPerFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(newMemDest(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// writeN writes n rows with ids from first on.
func writeN(t *testing.T, w *Writer, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := w.Write(context.Background(), &Row{ID: fmt.Sprintf("r%d", i), Status: StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
}

// fileRows counts the rows of a committed file of either format.
func fileRows(t *testing.T, format Format, data []byte) int {
	t.Helper()
	if format == JSONL {
		return bytes.Count(data, []byte("\n"))
	}
	return len(readParquetRows(t, data))
}

func TestRotationAndCommit(t *testing.T) {
	for _, format := range []Format{JSONL, Parquet} {
		t.Run(string(format), func(t *testing.T) {
			ext := "." + string(format)
			tests := []struct {
				name      string
				maxRows   int
				write     []int // rows to write before each Commit
				wantFiles []string
				wantRows  []int
			}{
				{"one file", 0, []int{5}, []string{"p-00000"}, []int{5}},
				{"rotation", 3, []int{7}, []string{"p-00000", "p-00001", "p-00002"}, []int{3, 3, 1}},
				{"exact multiple leaves no empty file", 3, []int{6}, []string{"p-00000", "p-00001"}, []int{3, 3}},
				{"commit starts a new file", 10, []int{2, 0, 3, 0}, []string{"p-00000", "p-00001"}, []int{2, 3}},
				{"nothing written, nothing created", 10, []int{0, 0}, nil, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dest := newMemDest()
					w, err := New(dest, Options{Format: format, NamePrefix: "p", MaxRowsPerFile: tt.maxRows})
					if err != nil {
						t.Fatal(err)
					}
					total := 0
					for _, n := range tt.write {
						writeN(t, w, total, n)
						total += n
						if err := w.Commit(context.Background()); err != nil {
							t.Fatal(err)
						}
						if w.Rows() != int64(total) {
							t.Errorf("Rows() = %d after Commit, want %d", w.Rows(), total)
						}
					}
					if err := w.Close(context.Background()); err != nil {
						t.Fatal(err)
					}
					var want []string
					for _, f := range tt.wantFiles {
						want = append(want, f+ext)
					}
					if got := w.Files(); !slices.Equal(got, want) {
						t.Fatalf("Files() = %q, want %q", got, want)
					}
					if len(dest.files) != len(want) || len(dest.pending) != 0 {
						t.Fatalf("destination has %d files and %d pending", len(dest.files), len(dest.pending))
					}
					for i, name := range want {
						if n := fileRows(t, format, dest.files[name]); n != tt.wantRows[i] {
							t.Errorf("%s has %d rows, want %d", name, n, tt.wantRows[i])
						}
					}
				})
			}
		})
	}
}

func TestCommitMakesRowsVisible(t *testing.T) {
	for _, format := range []Format{JSONL, Parquet} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			dest := storage.NewLocalDir(dir)
			w, err := New(dest, Options{Format: format, NamePrefix: "part-x"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if names := listDir(t, dir); len(names) != 0 {
				t.Fatalf("New created %q", names)
			}
			writeN(t, w, 0, 2)
			name := "part-x-00000." + string(format)
			if names := listDir(t, dir); !slices.Equal(names, []string{storage.TempPrefix + name}) {
				t.Fatalf("before Commit the directory holds %q, want only the temporary file", names)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if names := listDir(t, dir); !slices.Equal(names, []string{name}) {
				t.Fatalf("after Commit the directory holds %q, want %q", names, name)
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if n := fileRows(t, format, data); n != 2 || w.Rows() != 2 {
				t.Errorf("committed file has %d rows, Rows() = %d; want 2", n, w.Rows())
			}
			writeN(t, w, 2, 1)
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			names := listDir(t, dir)
			if hasTemp(names) || len(names) != 2 || w.Rows() != 3 {
				t.Errorf("after Close: %q, Rows() = %d", names, w.Rows())
			}
			if err := w.Write(ctx, &Row{ID: "late"}); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Close: %v, want ErrClosed", err)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	for _, format := range []Format{JSONL, Parquet} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			dest := storage.NewLocalDir(dir)
			w, err := New(dest, Options{Format: format, NamePrefix: "p"})
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, w, 0, 3)
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			writeN(t, w, 3, 4)
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			want := []string{"p-00000." + string(format)}
			if names := listDir(t, dir); !slices.Equal(names, want) {
				t.Errorf("after Abort the directory holds %q, want %q", names, want)
			}
			if w.Rows() != 3 || !slices.Equal(w.Files(), want) {
				t.Errorf("Rows() = %d, Files() = %q", w.Rows(), w.Files())
			}
			if err := w.Write(context.Background(), &Row{ID: "x"}); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Abort: %v, want ErrClosed", err)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("second Abort: %v", err)
			}
		})
	}
}

func TestAbortWithNothingWritten(t *testing.T) {
	dir := t.TempDir()
	dest := storage.NewLocalDir(dir)
	w, err := New(dest, Options{Format: JSONL, NamePrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, w, 0, 2)
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("Abort left %q", names)
	}
}

func TestWriteFailureDropsTheFile(t *testing.T) {
	for _, format := range []Format{JSONL, Parquet} {
		t.Run(string(format), func(t *testing.T) {
			dest := newMemDest()
			dest.failAt = 1 // every write of bytes fails
			w, err := New(dest, Options{Format: format, NamePrefix: "p"})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := 0; i < 10 && werr == nil; i++ {
				werr = w.Write(context.Background(), &Row{ID: "r"})
			}
			if werr == nil {
				werr = w.Commit(context.Background())
			}
			var full errDiskFull
			if !errors.As(werr, &full) {
				t.Fatalf("got %v, want the disk-full error", werr)
			}
			if len(dest.files) != 0 || len(dest.pending) != 0 {
				t.Errorf("after the failure: %d committed, %d pending", len(dest.files), len(dest.pending))
			}
			if err := w.Write(context.Background(), &Row{ID: "r"}); !errors.As(err, &full) {
				t.Errorf("Write after the failure: %v, want the same error", err)
			}
			if err := w.Close(context.Background()); !errors.As(err, &full) {
				t.Errorf("Close after the failure: %v, want the same error", err)
			}
		})
	}
}

func TestNamesNeverClash(t *testing.T) {
	dir := t.TempDir()
	dest := storage.NewLocalDir(dir)
	ctx := context.Background()
	// Two writers with their own prefixes share a directory.
	a, _ := New(dest, Options{Format: JSONL, NamePrefix: "part-a", MaxRowsPerFile: 2})
	b, _ := New(dest, Options{Format: JSONL, NamePrefix: "part-b", MaxRowsPerFile: 2})
	writeN(t, a, 0, 3)
	writeN(t, b, 0, 3)
	if err := errors.Join(a.Close(ctx), b.Close(ctx)); err != nil {
		t.Fatal(err)
	}
	want := []string{"part-a-00000.jsonl", "part-a-00001.jsonl", "part-b-00000.jsonl", "part-b-00001.jsonl"}
	if names := listDir(t, dir); !slices.Equal(names, want) {
		t.Fatalf("directory holds %q, want %q", names, want)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "part-a-00000.jsonl"))

	// A writer that reuses a prefix fails rather than overwrite a file.
	c, _ := New(dest, Options{Format: JSONL, NamePrefix: "part-a"})
	err := c.Write(ctx, &Row{ID: "clobber"})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("reusing a name: %v, want fs.ErrExist", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "part-a-00000.jsonl"))
	if !bytes.Equal(before, after) {
		t.Error("an existing data file was changed")
	}
	if names := listDir(t, dir); !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
}

func BenchmarkWriteJSONL(b *testing.B) { benchmarkWrite(b, JSONL) }

func BenchmarkWriteParquet(b *testing.B) { benchmarkWrite(b, Parquet) }

func benchmarkWrite(b *testing.B, format Format) {
	rows := make([]Row, 1000)
	for i := range rows {
		rows[i] = Row{
			ID: fmt.Sprintf("rec-%08d", i), Status: StatusOK,
			Output:     "The document describes a quarterly review of the sales pipeline.\nKey points: " + strings.Repeat("growth ", 30),
			StopReason: "end_turn", InputTokens: 512, OutputTokens: 96, TotalTokens: 608,
			LatencyMs: 840, Attempts: 1, ModelID: "anthropic.claude-3-haiku-20240307-v1:0",
			Metadata: []byte(`{"source":"s3://bucket/docs/doc.txt","n":42}`),
		}
	}
	w, err := New(discardDest{storagetest.NewDir()}, Options{Format: format, NamePrefix: "bench", MaxRowsPerFile: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Write(ctx, &rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
