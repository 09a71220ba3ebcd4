package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLocalDirPutGetList(t *testing.T) {
	ctx := context.Background()
	dir, err := NewLocalDir(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Get(ctx, "_manifest.json"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Get of a missing file: %v, want os.ErrNotExist", err)
	}
	for _, content := range []string{`{"v":1}`, `{"v":2}`} {
		if err := dir.Put(ctx, "_manifest.json", []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := dir.Get(ctx, "_manifest.json")
		if err != nil || string(got) != content {
			t.Fatalf("Get = %q, %v; want %q", got, err, content)
		}
	}
	obj, err := dir.Create(ctx, "part-1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if err := obj.Commit(); err != nil {
		t.Fatal(err)
	}
	names, err := dir.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Put leaves no temporary file behind.
	if want := []string{"_manifest.json", "part-1.jsonl"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("List = %q, want %q", names, want)
	}
}
