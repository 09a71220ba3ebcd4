package journal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// TestLocalJSONLPartsAreTheJournalFiles: in a local directory a JSONL
// part is its group's journal file under a second name, not a copy, and
// holds the bytes a copy would: the same files, byte for byte, as the
// segment-object journal writes by copying.
func TestLocalJSONLPartsAreTheJournalFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	local := storage.NewLocalDir(root)
	copied := storagetest.NewDir()
	var journalFiles []os.FileInfo
	for _, dir := range []storage.Dir{local, objectsOnly{copied}} {
		j := twelveRows(t, dir, writer.JSONL)
		if dir == local {
			for _, name := range segmentsIn(t, local) {
				info, err := os.Stat(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				journalFiles = append(journalFiles, info)
			}
		}
		if err := j.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := local.Put(ctx, "reference", nil); err != nil {
		t.Fatal(err)
	}
	reference, err := os.Stat(filepath.Join(root, "reference"))
	if err != nil {
		t.Fatal(err)
	}
	copyMode := reference.Mode().Perm()
	if err := local.Remove(ctx, "reference"); err != nil {
		t.Fatal(err)
	}
	_, files := dataIDs(t, local)
	if _, want := dataIDs(t, copied); !slices.Equal(files, want) || len(files) != 3 {
		t.Fatalf("linked parts %q, copied parts %q", files, want)
	}
	for _, name := range files {
		got, err := local.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := copied.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: %q, a copy holds %q", name, got, want)
		}
		info, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != copyMode {
			t.Errorf("%s has mode %v; a file the writer makes has %v", name, mode, copyMode)
		}
		if !slices.ContainsFunc(journalFiles, func(j os.FileInfo) bool { return os.SameFile(j, info) }) {
			t.Errorf("%s is a copy, not one of the journal's files", name)
		}
	}
	if left := segmentsIn(t, local); len(left) != 0 {
		t.Errorf("segments left: %q", left)
	}
}

// TestTornGroupIsCopied: a journal file a kill cut short in mid-line is
// not linked, which would make the torn line a data file's; its whole
// lines are copied into the part.
func TestTornGroupIsCopied(t *testing.T) {
	ctx := context.Background()
	dir := storagetest.NewDir()
	enc := writer.NewLineEncoder(writer.StyleRows)
	var data []byte
	for i := range 3 {
		data, _ = enc.Append(data, row(i))
	}
	torn := append(slices.Clone(data), `{"id":"r003","sta`...)
	group := GroupName(prefix, 0)
	if err := dir.Put(ctx, SegmentName(group, 0), torn); err != nil {
		t.Fatal(err)
	}
	j := newJournal(t, dir, Options{DataPrefix: "part-20261202T000000Z-bbbbbb"})
	j.Adopt([]Group{{Name: group, Segments: []string{SegmentName(group, 0)}}})
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := dir.Get(ctx, writer.JSONLFileName(prefix, 0))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Errorf("the part holds %q, want the whole lines %q", got, data)
	}
	if left := segmentsIn(t, dir); len(left) != 0 {
		t.Errorf("segments left: %q", left)
	}
}

// TestPartsAreCopiedWhereLinksFail: on a file system without hard links
// the parts are copied instead, each once, and the run says so once.
func TestPartsAreCopiedWhereLinksFail(t *testing.T) {
	ctx := context.Background()
	dir := storagetest.NewDir()
	links := 0
	dir.Fail = func(op, name string) error {
		if op == "link" {
			links++
			return errors.New("operation not permitted")
		}
		return nil
	}
	var log bytes.Buffer
	j := twelveRows(t, dir, writer.JSONL)
	j.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, files := dataIDs(t, dir); !slices.Equal(ids, wantIDs(12)) || len(files) != 3 {
		t.Errorf("ids %q in %q, want 12 rows in 3 parts", ids, files)
	}
	if left := segmentsIn(t, dir); len(left) != 0 {
		t.Errorf("segments left: %q", left)
	}
	if links != 3 || strings.Count(log.String(), "could not be linked") != 1 {
		t.Errorf("%d links tried, log:\n%s", links, log.String())
	}
}
