package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/writer"
)

// writeChunks writes data to w in chunks of uneven sizes.
func writeChunks(t *testing.T, w interface{ Write([]byte) (int, error) }, data []byte) {
	t.Helper()
	for i, n := 0, 1; i < len(data); n = n*3 + 7 {
		n = min(n%(3<<20)+1, len(data)-i)
		k, err := w.Write(data[i : i+n])
		if err != nil || k != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
		i += n
	}
}

func TestCreateCommit(t *testing.T) {
	tests := []struct {
		name     string
		partSize int64
		size     int
		parts    bool // a multipart upload is open before Commit
	}{
		{name: "empty", size: 0},
		{name: "small", size: 1000},
		{name: "one part, single put", size: 7 << 20},
		{name: "multipart", partSize: MinPartSize, size: 11<<20 + 333, parts: true},
		{name: "exact parts", partSize: MinPartSize, size: 2 * MinPartSize, parts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{PartSize: tt.partSize})
			d, err := e.store.Dir(ctx(t), e.uri("out"))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.String(); got != e.uri("out/") {
				t.Errorf("String() = %q; want %q", got, e.uri("out/"))
			}
			obj, err := d.Create(ctx(t), "part-1.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			data := pattern(tt.size)
			writeChunks(t, obj, data)
			if c, limit := cap(obj.(*object).buf), 2*e.store.opts.PartSize; int64(c) > limit {
				t.Errorf("the object buffers %d bytes; want at most %d", c, limit)
			}
			if _, ok := e.get(t, "out/part-1.jsonl"); ok {
				t.Fatal("the object is visible before Commit")
			}
			if names, err := d.List(ctx(t), ""); err != nil || len(names) != 0 {
				t.Fatalf("List before Commit = %q, %v; want nothing", names, err)
			}
			if got := e.uploads(t, "out/part-1.jsonl"); (got == 1) != tt.parts {
				t.Fatalf("%d multipart uploads before Commit; want one: %t", got, tt.parts)
			}
			if err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
			got, ok := e.get(t, "out/part-1.jsonl")
			if !ok || !bytes.Equal(got, data) {
				t.Fatalf("after Commit: %d bytes (exists %t); want %d equal ones", len(got), ok, len(data))
			}
			if names, err := d.List(ctx(t), ""); err != nil || !slices.Equal(names, []string{"part-1.jsonl"}) {
				t.Fatalf("List after Commit = %q, %v", names, err)
			}
			if n := e.uploads(t, "out/part-1.jsonl"); n != 0 {
				t.Errorf("%d incomplete uploads after Commit", n)
			}
			if err := obj.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
			if err := obj.Commit(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("second Commit: %v; want fs.ErrClosed", err)
			}
			if _, err := d.Create(ctx(t), "part-1.jsonl"); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Create of a committed name: %v; want fs.ErrExist", err)
			}
			if n, err := d.AbortIncomplete(ctx(t)); n != 0 || err != nil {
				t.Errorf("AbortIncomplete = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	for _, size := range []int{100, 11 << 20} {
		e := newEnv(t, Options{PartSize: MinPartSize})
		d, err := e.store.Dir(ctx(t), e.uri("out/"))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := d.Create(ctx(t), "part-1.parquet")
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, obj, pattern(size))
		if err := obj.Abort(); err != nil {
			t.Fatal(err)
		}
		if n := e.uploads(t, "out/part-1.parquet"); n != 0 {
			t.Errorf("size %d: %d incomplete uploads after Abort", size, n)
		}
		if _, ok := e.get(t, "out/part-1.parquet"); ok {
			t.Errorf("size %d: the object exists after Abort", size)
		}
		if err := obj.Abort(); err != nil {
			t.Errorf("second Abort: %v", err)
		}
		if _, err := obj.Write([]byte("x")); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Write after Abort: %v; want fs.ErrClosed", err)
		}
		if err := obj.Commit(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Commit after Abort: %v; want fs.ErrClosed", err)
		}
	}
}

func TestAbortIncomplete(t *testing.T) {
	e := newEnv(t, Options{PartSize: MinPartSize})
	d, err := e.store.Dir(ctx(t), e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		obj, err := d.Create(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, obj, pattern(6<<20))
		if name == "c.jsonl" {
			if err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := e.uploads(t, "out/a.jsonl") + e.uploads(t, "out/b.jsonl"); n != 2 {
		t.Fatalf("%d incomplete uploads; want 2", n)
	}
	n, err := d.AbortIncomplete(ctx(t))
	if n != 2 || err != nil {
		t.Fatalf("AbortIncomplete = %d, %v; want 2, nil", n, err)
	}
	if n := e.uploads(t, "out/a.jsonl") + e.uploads(t, "out/b.jsonl"); n != 0 {
		t.Errorf("%d incomplete uploads after AbortIncomplete", n)
	}
	if names, err := d.List(ctx(t), ""); err != nil || !slices.Equal(names, []string{"c.jsonl"}) {
		t.Errorf("List = %q, %v; want only c.jsonl", names, err)
	}
}

func TestCreateNames(t *testing.T) {
	e := newEnv(t, Options{})
	d, err := e.store.Dir(ctx(t), e.uri(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "/a", "a//b", `a\b`} {
		if _, err := d.Create(ctx(t), name); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	e.put(t, "taken.jsonl", []byte("x"))
	_, err = d.Create(ctx(t), "taken.jsonl")
	checkErr(t, err, fs.ErrExist, e.uri("taken.jsonl"))
}

func TestPutGetList(t *testing.T) {
	e := newEnv(t, Options{})
	d, err := e.store.Dir(ctx(t), e.uri("runs/r1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx(t), "_manifest.json", []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx(t), "_manifest.json", []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx(t), "_manifest.json")
	if err != nil || string(got) != `{"v":2}` {
		t.Errorf("Get = %q, %v; want the second Put", got, err)
	}
	_, err = d.Get(ctx(t), "_missing.json")
	checkErr(t, err, os.ErrNotExist, e.uri("runs/r1/_missing.json"), "no such key")

	e.put(t, "runs/r1/b.jsonl", nil)
	e.put(t, "runs/r1/a.parquet", nil)
	e.put(t, "runs/r1/sub/c.jsonl", nil)
	e.put(t, "runs/r10/d.jsonl", nil)
	e.put(t, "runs/r1/", nil)     // a "folder" marker
	e.put(t, "runs/r1/sub/", nil) // another
	names, err := d.List(ctx(t), "")
	if want := []string{"_manifest.json", "a.parquet", "b.jsonl", "sub/c.jsonl"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("List = %q, %v; want %q", names, err, want)
	}

	if err := d.Put(ctx(t), "../b", nil); err == nil {
		t.Error("Put of a name outside the prefix succeeded")
	}
	missing, err := e.store.Dir(ctx(t), uri(e.bucket+"-missing", "x/"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = missing.List(ctx(t), "")
	checkErr(t, err, os.ErrNotExist, "does not exist", "ListObjectsV2")
	err = missing.Put(ctx(t), "_manifest.json", nil)
	checkErr(t, err, os.ErrNotExist, "does not exist", "PutObject")
}

func TestDirBadURI(t *testing.T) {
	e := newEnv(t, Options{})
	for _, in := range []string{"s3://", "/tmp/out", "s3://b/out/*/"} {
		if _, err := e.store.Dir(ctx(t), in); err == nil {
			t.Errorf("Dir(%q) succeeded", in)
		}
	}
}

func TestCheckWritable(t *testing.T) {
	e := newEnv(t, Options{})
	d, err := e.store.Dir(ctx(t), e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckWritable(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if names, err := d.List(ctx(t), ""); err != nil || len(names) != 0 {
		t.Errorf("CheckWritable left objects: %q, %v", names, err)
	}
	missing := e.bucket + "-missing"
	d, err = e.store.Dir(ctx(t), uri(missing, "out/"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.CheckWritable(ctx(t))
	checkErr(t, err, os.ErrNotExist, `bucket "`+missing+`" does not exist`, uri(missing, "out/"))
}

// TestWriterOverS3 writes rows with package writer into an S3 prefix.
func TestWriterOverS3(t *testing.T) {
	e := newEnv(t, Options{})
	d, err := e.store.Dir(ctx(t), e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []writer.Format{writer.JSONL, writer.Parquet} {
		w, err := writer.New(d, writer.Options{Format: format, NamePrefix: "part-" + string(format), MaxRowsPerFile: 3})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			row := writer.Row{ID: string(rune('a' + i)), Status: writer.StatusOK, Output: "out", Metadata: json.RawMessage(`{"k":1}`)}
			if err := w.Write(context.Background(), &row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	names, err := d.List(ctx(t), "")
	want := []string{"part-jsonl-00000.jsonl", "part-jsonl-00001.jsonl", "part-parquet-00000.parquet", "part-parquet-00001.parquet"}
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("List = %q, %v; want %q", names, err, want)
	}
	got, _ := e.get(t, "out/part-jsonl-00001.jsonl")
	if lines := strings.Count(string(got), "\n"); lines != 2 {
		t.Errorf("part-jsonl-00001.jsonl has %d lines; want 2", lines)
	}
	ra, size, c, err := e.store.OpenAt(ctx(t), e.uri("out/part-parquet-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := parquet.OpenFile(ra, size)
	if err != nil {
		t.Fatalf("the Parquet part is not readable: %v", err)
	}
	if f.NumRows() != 3 {
		t.Errorf("the Parquet part has %d rows; want 3", f.NumRows())
	}
}
