package storage_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

func TestLocalDir(t *testing.T) {
	storagetest.TestDir(t, func(t *testing.T) storage.Dir {
		return storage.NewLocalDir(filepath.Join(t.TempDir(), "out"))
	})
}

func TestLocalDirShowsTheTemporaryFilesOfAKilledRun(t *testing.T) {
	root := t.TempDir()
	d := storage.NewLocalDir(root)
	ctx := context.Background()
	obj, err := d.Create(ctx, "part-1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Abort()
	// The run is "killed" here: the temporary file stays for the next
	// run to find and remove.
	names, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{storage.TempPrefix + "part-1.jsonl"}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q", names, want)
	}
}

func TestRouterOpensLocalPathsAndRefusesS3WithoutABackend(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := storage.NewRouter(nil)
	ctx := context.Background()
	rc, err := r.Open(ctx, filepath.Join(dir, "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := r.Open(ctx, filepath.Join(dir, "b.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := r.Open(ctx, "s3://bucket/a.jsonl"); err == nil {
		t.Error("Open of an S3 URI without an S3 backend succeeded")
	}
	got, err := r.Expand(ctx, []string{filepath.Join(dir, "*.jsonl")})
	if err != nil || len(got) != 1 {
		t.Errorf("Expand = %q, %v", got, err)
	}
	out, err := r.Dir(ctx, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.CheckWritable(ctx, out); err != nil {
		t.Errorf("CheckWritable of a new local folder: %v", err)
	}
	if names, _ := out.List(ctx, ""); len(names) != 0 {
		t.Errorf("CheckWritable left %q behind", names)
	}
}

func TestCheckWritableSaysWhenALocalDirectoryIsNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	err := storage.CheckWritable(context.Background(), storage.NewLocalDir(dir))
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("CheckWritable: %v, want fs.ErrPermission", err)
	}
}

// TestRemoveEmptyFolder removes a folder once empty, and only then.
func TestRemoveEmptyFolder(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := storage.NewLocalDir(root)
	if err := d.Put(ctx, "_journal/g/000000.jsonl", []byte("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveEmptyFolder(ctx, "_journal/g"); err != nil {
		t.Errorf("RemoveEmptyFolder of a folder holding a file: %v, want nil", err)
	}
	if names, _ := d.List(ctx, ""); len(names) != 1 {
		t.Fatalf("the file went with its folder: %q", names)
	}
	d.Remove(ctx, "_journal/g/000000.jsonl")
	for _, folder := range []string{"_journal/g", "_journal", "_journal"} {
		if err := d.RemoveEmptyFolder(ctx, folder); err != nil {
			t.Errorf("RemoveEmptyFolder(%s): %v", folder, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}
