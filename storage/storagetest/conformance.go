package storagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// TestDir checks that a storage.Dir keeps the contract every backend
// shares, as testing/fstest.TestFS does for an fs.FS. newDir returns an
// empty Dir each time it is called.
func TestDir(t *testing.T, newDir func(t *testing.T) storage.Dir) {
	ctx := context.Background()
	visible := func(t *testing.T, d storage.Dir, prefix string) []string {
		t.Helper()
		names, err := d.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		// A local directory shows its temporary files; they are not data.
		return slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(path.Base(n), storage.TempPrefix) })
	}
	write := func(t *testing.T, d storage.Dir, name, text string) {
		t.Helper()
		obj, err := d.Create(ctx, name)
		if err != nil {
			t.Fatalf("Create(%q): %v", name, err)
		}
		if _, err := io.WriteString(obj, text); err != nil {
			t.Fatalf("Write(%q): %v", name, err)
		}
		if err := obj.Commit(); err != nil {
			t.Fatalf("Commit(%q): %v", name, err)
		}
	}
	read := func(t *testing.T, d storage.Dir, name string) string {
		t.Helper()
		data, err := d.Get(ctx, name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		rc, err := d.Open(ctx, name)
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		defer rc.Close()
		streamed, err := io.ReadAll(rc)
		if err != nil || string(streamed) != string(data) {
			t.Fatalf("Open(%q) read %q, %v; Get read %q", name, streamed, err, data)
		}
		ra, size, closer, err := d.OpenAt(ctx, name)
		if err != nil {
			t.Fatalf("OpenAt(%q): %v", name, err)
		}
		defer closer.Close()
		at := make([]byte, size)
		if _, err := ra.ReadAt(at, 0); (err != nil && err != io.EOF) || string(at) != string(data) {
			t.Fatalf("OpenAt(%q) read %q (size %d), %v; Get read %q", name, at, size, err, data)
		}
		return string(data)
	}

	t.Run("missing files are fs.ErrNotExist", func(t *testing.T) {
		d := newDir(t)
		if _, err := d.Get(ctx, "nope.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get: %v, want fs.ErrNotExist", err)
		}
		if _, err := d.Open(ctx, "sub/nope.jsonl"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open: %v, want fs.ErrNotExist", err)
		}
		if _, _, _, err := d.OpenAt(ctx, "nope.parquet"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenAt: %v, want fs.ErrNotExist", err)
		}
		if names := visible(t, d, ""); len(names) != 0 {
			t.Errorf("an empty Dir lists %q", names)
		}
		if err := d.Remove(ctx, "nope.json"); err != nil {
			t.Errorf("Remove of a missing file: %v, want nil", err)
		}
	})
	t.Run("a created file is visible only once committed", func(t *testing.T) {
		d := newDir(t)
		obj, err := d.Create(ctx, "part-1.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(obj, "a\n")
		if names := visible(t, d, ""); len(names) != 0 {
			t.Errorf("before Commit, List shows %q", names)
		}
		if _, err := d.Get(ctx, "part-1.jsonl"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("before Commit, Get: %v, want fs.ErrNotExist", err)
		}
		io.WriteString(obj, "b\n")
		if err := obj.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := read(t, d, "part-1.jsonl"); got != "a\nb\n" {
			t.Errorf("committed %q, want %q", got, "a\nb\n")
		}
		if _, err := obj.Write([]byte("c")); err == nil {
			t.Error("Write after Commit succeeded")
		}
		if err := obj.Abort(); err != nil {
			t.Errorf("Abort after Commit: %v, want nil", err)
		}
		if _, err := d.Create(ctx, "part-1.jsonl"); !errors.Is(err, fs.ErrExist) {
			t.Errorf("Create of a taken name: %v, want fs.ErrExist", err)
		}
	})
	t.Run("an aborted file leaves nothing", func(t *testing.T) {
		d := newDir(t)
		obj, err := d.Create(ctx, "sub/part-2.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(obj, strings.Repeat("x", 1000))
		if err := obj.Abort(); err != nil {
			t.Fatal(err)
		}
		if names, err := d.List(ctx, ""); err != nil || len(names) != 0 {
			t.Errorf("after Abort, List: %q, %v; want nothing", names, err)
		}
	})
	t.Run("Put replaces and PutIfAbsent refuses a taken name", func(t *testing.T) {
		d := newDir(t)
		for _, text := range []string{"one", "two"} {
			if err := d.Put(ctx, "_manifest.json", []byte(text)); err != nil {
				t.Fatal(err)
			}
			if got := read(t, d, "_manifest.json"); got != text {
				t.Errorf("after Put(%q), read %q", text, got)
			}
		}
		if err := d.PutIfAbsent(ctx, "_lease.json", []byte("mine")); err != nil {
			t.Fatalf("PutIfAbsent of a free name: %v", err)
		}
		if err := d.PutIfAbsent(ctx, "_lease.json", []byte("theirs")); !errors.Is(err, fs.ErrExist) {
			t.Errorf("PutIfAbsent of a taken name: %v, want fs.ErrExist", err)
		}
		if got := read(t, d, "_lease.json"); got != "mine" {
			t.Errorf("the loser of PutIfAbsent changed the file to %q", got)
		}
	})
	t.Run("List filters by prefix at any depth and sorts", func(t *testing.T) {
		d := newDir(t)
		write(t, d, "b.jsonl", "b")
		write(t, d, "meta/m/x.json", "x")
		for _, name := range []string{"a.jsonl", "_journal/0002.jsonl", "_journal/0001.jsonl"} {
			if err := d.Put(ctx, name, []byte(name)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"_journal/0001.jsonl", "_journal/0002.jsonl", "a.jsonl", "b.jsonl", "meta/m/x.json"}},
			{"_journal/", []string{"_journal/0001.jsonl", "_journal/0002.jsonl"}},
			{"meta/", []string{"meta/m/x.json"}},
			{"a", []string{"a.jsonl"}},
			{"missing/", nil},
		} {
			if got := visible(t, d, c.prefix); !slices.Equal(got, c.want) {
				t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
			}
		}
		if err := d.Remove(ctx, "_journal/0001.jsonl"); err != nil {
			t.Fatal(err)
		}
		if got := visible(t, d, "_journal/"); !slices.Equal(got, []string{"_journal/0002.jsonl"}) {
			t.Errorf("after Remove, List = %q", got)
		}
		if uri := d.URI("meta/m/x.json"); !strings.HasSuffix(uri, "m/x.json") {
			t.Errorf("URI(meta/m/x.json) = %q", uri)
		}
	})
	t.Run("ReplaceIf replaces only the version read", func(t *testing.T) {
		d := newDir(t)
		if err := d.Put(ctx, "_lease.json", []byte("first")); err != nil {
			t.Fatal(err)
		}
		data, v1, err := d.GetVersion(ctx, "_lease.json")
		if err != nil || string(data) != "first" || v1 == "" {
			t.Fatalf("GetVersion = %q, %q, %v", data, v1, err)
		}
		v2, err := d.ReplaceIf(ctx, "_lease.json", []byte("second"), v1)
		if err != nil || v2 == "" || v2 == v1 {
			t.Fatalf("ReplaceIf of the version read = %q, %v; want a new version", v2, err)
		}
		if _, err := d.ReplaceIf(ctx, "_lease.json", []byte("stale"), v1); !errors.Is(err, storage.ErrChanged) {
			t.Errorf("ReplaceIf of an old version: %v, want storage.ErrChanged", err)
		}
		if data, v, err := d.GetVersion(ctx, "_lease.json"); string(data) != "second" || v != v2 || err != nil {
			t.Errorf("after a refused ReplaceIf: %q, %q, %v; want %q, %q", data, v, err, "second", v2)
		}
		if _, err := d.ReplaceIf(ctx, "_other.json", []byte("x"), v2); !errors.Is(err, storage.ErrChanged) {
			t.Errorf("ReplaceIf of a missing file: %v, want storage.ErrChanged", err)
		}
		if err := d.Remove(ctx, "_lease.json"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ReplaceIf(ctx, "_lease.json", []byte("again"), v2); !errors.Is(err, storage.ErrChanged) {
			t.Errorf("ReplaceIf of a removed file: %v, want storage.ErrChanged", err)
		}
		if _, _, err := d.GetVersion(ctx, "_lease.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a refused ReplaceIf made the removed file again: %v", err)
		}
	})
	t.Run("of writers replacing one version, one wins", func(t *testing.T) {
		d := newDir(t)
		if err := d.Put(ctx, "_lease.json", []byte("held")); err != nil {
			t.Fatal(err)
		}
		_, v, err := d.GetVersion(ctx, "_lease.json")
		if err != nil {
			t.Fatal(err)
		}
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = d.ReplaceIf(ctx, "_lease.json", []byte(fmt.Sprintf("writer %d", i)), v)
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("writers %d and %d both replaced version %q", winner, i, v)
			case err == nil:
				winner = i
			case !errors.Is(err, storage.ErrChanged):
				t.Errorf("writer %d: %v, want success or storage.ErrChanged", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer replaced the file")
		}
		if got := read(t, d, "_lease.json"); got != fmt.Sprintf("writer %d", winner) {
			t.Errorf("the file holds %q; writer %d won", got, winner)
		}
	})
	t.Run("appended files grow in place", func(t *testing.T) {
		d := newDir(t)
		a, ok := d.(storage.Appender)
		if !ok {
			t.Skip("not a storage.Appender")
		}
		f, err := a.CreateAppend(ctx, "_journal/g/000000.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, text := range []string{"one\n", "two\n"} {
			if _, err := io.WriteString(f, text); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if got := read(t, d, "_journal/g/000000.jsonl"); got != "one\ntwo\n" {
			t.Errorf("appended %q, want %q", got, "one\ntwo\n")
		}
		if got := visible(t, d, "_journal/"); !slices.Equal(got, []string{"_journal/g/000000.jsonl"}) {
			t.Errorf("List = %q", got)
		}
		io.WriteString(f, "thr")
		if err := f.Truncate(int64(len("one\ntwo\n"))); err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "three\n")
		if got := read(t, d, "_journal/g/000000.jsonl"); got != "one\ntwo\nthree\n" {
			t.Errorf("after Truncate and a write: %q", got)
		}
		if _, err := a.CreateAppend(ctx, "_journal/g/000000.jsonl"); !errors.Is(err, fs.ErrExist) {
			t.Errorf("CreateAppend of a taken name: %v, want fs.ErrExist", err)
		}
	})
	t.Run("a linked file has a second name", func(t *testing.T) {
		d := newDir(t)
		l, ok := d.(storage.Linker)
		if !ok {
			t.Skip("not a storage.Linker")
		}
		if err := d.Put(ctx, "_journal/g/000000.jsonl", []byte("one\ntwo\n")); err != nil {
			t.Fatal(err)
		}
		if err := l.Link(ctx, "_journal/g/000000.jsonl", "part-00000.jsonl"); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"_journal/g/000000.jsonl", "part-00000.jsonl"} {
			if got := read(t, d, name); got != "one\ntwo\n" {
				t.Errorf("%s holds %q after the link", name, got)
			}
		}
		if err := d.Remove(ctx, "_journal/g/000000.jsonl"); err != nil {
			t.Fatal(err)
		}
		if got := read(t, d, "part-00000.jsonl"); got != "one\ntwo\n" {
			t.Errorf("the second name holds %q once the first is removed", got)
		}
		if err := d.Put(ctx, "_journal/h/000000.jsonl", []byte("three\n")); err != nil {
			t.Fatal(err)
		}
		if err := l.Link(ctx, "_journal/h/000000.jsonl", "part-00000.jsonl"); !errors.Is(err, fs.ErrExist) {
			t.Errorf("Link to a taken name: %v, want fs.ErrExist", err)
		}
		if got := read(t, d, "part-00000.jsonl"); got != "one\ntwo\n" {
			t.Errorf("a refused link changed the taken name: %q", got)
		}
		if err := l.Link(ctx, "_journal/gone.jsonl", "part-00001.jsonl"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Link of a missing file: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("names that are not relative paths are refused", func(t *testing.T) {
		d := newDir(t)
		for _, name := range []string{"", "/abs", "../up", "a//b", `a\b`} {
			if err := d.Put(ctx, name, []byte("x")); err == nil {
				t.Errorf("Put(%q) succeeded", name)
			}
		}
	})
}
