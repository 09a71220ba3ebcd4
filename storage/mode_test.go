//go:build unix

package storage_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// TestLocalFilesTakeTheUmask writes a file each way a LocalDir can (Create
// and Commit, as data files and journal segments are; Put, as the manifest
// is; PutIfAbsent, as a lease is), in a new subfolder, under two umasks:
// every file gets 0666 and every folder 0777, masked by the umask, never a
// mode of its own.
func TestLocalFilesTakeTheUmask(t *testing.T) {
	for _, umask := range []int{0o022, 0o027, 0o002} {
		t.Run(fs.FileMode(umask).String(), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			root := filepath.Join(t.TempDir(), "out")
			d := storage.NewLocalDir(root)
			ctx := context.Background()
			obj, err := d.Create(ctx, "part-00000.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := obj.Write([]byte("{}\n")); err != nil {
				t.Fatal(err)
			}
			if err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := d.Put(ctx, "_manifest.json", []byte("{}\n")); err != nil {
				t.Fatal(err)
			}
			if err := d.PutIfAbsent(ctx, "_lease/shard-0.json", []byte("{}\n")); err != nil {
				t.Fatal(err)
			}
			obj, err = d.Create(ctx, "_journal/seg-1.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Abort()
			wantFile := storage.FileMode &^ fs.FileMode(umask)
			wantDir := storage.DirMode &^ fs.FileMode(umask)
			for name, want := range map[string]fs.FileMode{
				"":                          wantDir,
				"part-00000.jsonl":          wantFile,
				"_manifest.json":            wantFile,
				"_lease":                    wantDir,
				"_lease/shard-0.json":       wantFile,
				"_journal":                  wantDir,
				"_journal/_tmp-seg-1.jsonl": wantFile, // being written
			} {
				fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%q: mode %v, want %v", name, got, want)
				}
			}
		})
	}
}
