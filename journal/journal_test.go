package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/internal/fakeclock"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const prefix = "part-20261201T000000Z-aaaaaa"

// objectsOnly hides a Dir's Appender, so the journal writes a segment
// object per commit, as it does on S3.
type objectsOnly struct{ storage.Dir }

// backends are the two ways a journal keeps rows.
var backends = []struct {
	name string
	dir  func(*storagetest.Dir) storage.Dir
}{
	{"appended file", func(d *storagetest.Dir) storage.Dir { return d }},
	{"segment objects", func(d *storagetest.Dir) storage.Dir { return objectsOnly{d} }},
}

func row(i int) *writer.Row {
	return &writer.Row{ID: fmt.Sprintf("r%03d", i), Status: writer.StatusOK, Output: fmt.Sprintf("answer %d", i),
		InputTokens: int64(i), OutputTokens: 2, TotalTokens: int64(i) + 2, ModelID: "m", Route: writer.RouteOnDemand,
		RunID: "run", FinishedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
}

func newJournal(t *testing.T, dir storage.Dir, opts Options) *Journal {
	t.Helper()
	if opts.Format == "" {
		opts.Format = writer.JSONL
	}
	opts.DataPrefix = prefix
	j, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func write(t *testing.T, j *Journal, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := j.Write(context.Background(), row(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// dataIDs reads the ids of every data file of dir: the only non-_ files.
func dataIDs(t *testing.T, dir storage.Dir) (ids []string, files []string) {
	t.Helper()
	ctx := context.Background()
	names, err := dir.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "_") {
			continue
		}
		files = append(files, name)
		data, err := dir.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".parquet") {
			err = writer.ReadParquet(bytes.NewReader(data), int64(len(data)), func(r *writer.Row) error {
				ids = append(ids, r.ID)
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			r, err := writer.DecodeJSONLRow([]byte(line))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids, files
}

func wantIDs(n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, row(i).ID)
	}
	return ids
}

func segmentsIn(t *testing.T, dir storage.Dir) []string {
	t.Helper()
	names, err := dir.List(context.Background(), Folder)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestGroupCommitAndParts: rows handed over between two commits take one
// write; a group ends at PartRows and becomes one data file named after
// it, in either format; Close writes the tail; no segment is left.
func TestGroupCommitAndParts(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		for _, format := range []writer.Format{writer.JSONL, writer.Parquet} {
			t.Run(b.name+"/"+string(format), func(t *testing.T) {
				mem := storagetest.NewDir()
				dir := b.dir(mem)
				j := newJournal(t, dir, Options{Format: format, PartRows: 4})
				write(t, j, 0, 3)
				if err := j.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				write(t, j, 3, 6) // fills group 0, starts group 1
				if err := j.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				st := j.Stats()
				if st.Syncs != 3 {
					t.Errorf("%d writes for 3 commits, the second across two groups: want 3", st.Syncs)
				}
				if err := j.CompactQueued(ctx); err != nil {
					t.Fatal(err)
				}
				ids, files := dataIDs(t, dir)
				if want := []string{prefix + "-00000." + string(format)}; !slices.Equal(files, want) {
					t.Errorf("after the first group filled: files %q, want %q", files, want)
				}
				if !slices.Equal(ids, wantIDs(4)) {
					t.Errorf("the first part holds %q", ids)
				}
				write(t, j, 6, 9)
				if err := j.Close(ctx); err != nil {
					t.Fatal(err)
				}
				ids, files = dataIDs(t, dir)
				if len(files) != 3 || !slices.Equal(ids, wantIDs(9)) {
					t.Errorf("after Close: files %q, ids %q", files, ids)
				}
				if left := segmentsIn(t, dir); len(left) != 0 {
					t.Errorf("segments left: %q", left)
				}
				if got := j.Files(); !slices.Equal(got, files) {
					t.Errorf("Files() = %q, want %q", got, files)
				}
			})
		}
	}
}

// TestPartBytes: a group also ends before PartBytes would be passed.
func TestPartBytes(t *testing.T) {
	ctx := context.Background()
	dir := storagetest.NewDir()
	line, _ := writer.NewLineEncoder(writer.StyleRows).Append(nil, row(0))
	j := newJournal(t, dir, Options{PartBytes: int64(2*len(line) + 1)})
	write(t, j, 0, 5)
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, files := dataIDs(t, dir); len(files) != 3 {
		t.Errorf("5 rows of %d bytes at most %d bytes a part: %q, want 3 files", len(line), 2*len(line)+1, files)
	}
}

// TestTornTail: a last line without its newline (a write a kill cut
// short) is dropped; every whole line is read.
func TestTornTail(t *testing.T) {
	dir := storagetest.NewDir()
	ctx := context.Background()
	name := SegmentName(GroupName(prefix, 0), 0)
	if err := dir.Put(ctx, name, []byte("{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := ReadLines(ctx, dir, name, func(line []byte, n int) error {
		got = append(got, fmt.Sprintf("%d:%s", n, line))
		return nil
	})
	if want := []string{"1:{\"id\":\"a\"}\n", "2:{\"id\":\"b\"}\n"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ReadLines = %q, %v; want %q", got, err, want)
	}
	err = ReadLines(ctx, dir, name, func(line []byte, n int) error { return errors.New("not a row") })
	if err == nil || !strings.Contains(err.Error(), name+" line 1") {
		t.Errorf("a bad line: %v, want an error naming the file and line", err)
	}
}

// TestNames: a group's segments and data file share its name.
func TestNames(t *testing.T) {
	g := GroupName(prefix, 7)
	seg := SegmentName(g, 12)
	if got, ok := GroupOf(seg); !ok || got != g {
		t.Errorf("GroupOf(%q) = %q, %v", seg, got, ok)
	}
	for _, name := range []string{prefix + "-00007.jsonl", Folder + g + "/_tmp-put-000001.jsonl-1", Folder + "x/000000.jsonl", "_manifest.json"} {
		if _, ok := GroupOf(name); ok {
			t.Errorf("GroupOf(%q) says it is a segment", name)
		}
	}
	names := []string{SegmentName(g, 1), SegmentName(g, 0), SegmentName(GroupName(prefix, 8), 0), g + ".parquet"}
	groups, superseded := Groups(names)
	if !slices.Equal(groups[g], []string{SegmentName(g, 0), SegmentName(g, 1)}) || !slices.Equal(superseded, []string{g}) {
		t.Errorf("Groups = %q, superseded %q", groups, superseded)
	}
	if p, n, ok := splitGroup(g); !ok || p != prefix || n != 7 || path.Base(p) != prefix {
		t.Errorf("splitGroup(%q) = %q, %d, %v", g, p, n, ok)
	}
}

// resume does what the next run does with the journal it finds: removes
// the segments a committed data file supersedes, adopts the other groups
// and writes them out.
func resume(t *testing.T, dir storage.Dir) {
	t.Helper()
	ctx := context.Background()
	names, err := dir.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	groups, superseded := Groups(names)
	var adopted []Group
	for g, segments := range groups {
		if slices.Contains(superseded, g) {
			for _, s := range segments {
				if err := dir.Remove(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		adopted = append(adopted, Group{Name: g, Segments: segments})
	}
	slices.SortFunc(adopted, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	j := newJournal(t, dir, Options{DataPrefix: "part-20261202T000000Z-bbbbbb"})
	j.Adopt(adopted)
	if err := j.Close(ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
}

// twelveRows journals 12 rows in two commits, in parts of 5 rows: two
// full groups and a tail.
func twelveRows(t *testing.T, dir storage.Dir, format writer.Format) *Journal {
	t.Helper()
	j := newJournal(t, dir, Options{Format: format, PartRows: 5})
	for _, span := range [][2]int{{0, 8}, {8, 12}} {
		write(t, j, span[0], span[1])
		if err := j.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// TestCompactionCrashPoints fails each step of writing parts out in turn
// (creating the data file, writing it, committing it, removing each
// segment) and resumes: every row ends in exactly one data file and no
// segment is left.
func TestCompactionCrashPoints(t *testing.T) {
	ctx := context.Background()
	type step struct{ op, name string }
	for _, b := range backends {
		for _, format := range []writer.Format{writer.JSONL, writer.Parquet} {
			if format == writer.Parquet && b.name != "segment objects" {
				continue // the steps are the same; Parquet files are slow to write under -race
			}
			// Record the steps of a clean run, then fail each in turn.
			var steps []step
			var mu sync.Mutex
			{
				mem := storagetest.NewDir()
				j := twelveRows(t, b.dir(mem), format)
				mem.Fail = func(op, name string) error {
					mu.Lock()
					defer mu.Unlock()
					if !strings.HasPrefix(name, Folder) || op == "remove" {
						steps = append(steps, step{op, name})
					}
					return nil
				}
				if err := j.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if len(steps) < 6 {
				t.Fatalf("only %d steps recorded: %v", len(steps), steps)
			}
			for _, s := range steps {
				t.Run(fmt.Sprintf("%s/%s/%s %s", b.name, format, s.op, s.name), func(t *testing.T) {
					mem := storagetest.NewDir()
					dir := b.dir(mem)
					j := twelveRows(t, dir, format)
					crash := errors.New("crash")
					mem.Fail = func(op, name string) error {
						if op == s.op && name == s.name {
							return crash
						}
						return nil
					}
					j.Close(ctx) // stopped at the step: the run ends here
					mem.Fail = nil
					resume(t, dir)
					if ids, files := dataIDs(t, dir); !slices.Equal(ids, wantIDs(12)) {
						t.Errorf("after resuming: ids %q in %q", ids, files)
					}
					if left := segmentsIn(t, dir); len(left) != 0 {
						t.Errorf("segments left: %q", left)
					}
				})
			}
		}
	}
}

// failingDir fails the output's writes while broken is set.
func failingDir(mem *storagetest.Dir, broken *bool) {
	mem.Fail = func(op, name string) error {
		if *broken && strings.HasPrefix(name, Folder) && op != "list" && op != "open" && op != "truncate" {
			return errors.New("503 Slow Down")
		}
		return nil
	}
}

// TestOutputFailureSpoolsAndRecovers: while the output refuses writes the
// rows go to the spool and Commit says so; once it takes them again, one
// Commit writes every row once and empties the spool.
func TestOutputFailureSpoolsAndRecovers(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			mem := storagetest.NewDir()
			dir := b.dir(mem)
			clock := fakeclock.New(time.Unix(0, 0))
			spool := NewSpool(t.TempDir(), "run")
			j := newJournal(t, dir, Options{Spool: spool, Clock: clock, Grace: time.Minute})
			write(t, j, 0, 3)
			if err := j.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			broken := true
			failingDir(mem, &broken)
			write(t, j, 3, 6)
			if err := j.Commit(ctx); err == nil {
				t.Fatal("Commit to a failing output succeeded")
			}
			write(t, j, 6, 8)
			clock.Advance(30 * time.Second)
			if err := j.Commit(ctx); err == nil {
				t.Fatal("Commit to a failing output succeeded")
			}
			if got := spooledIDs(t, spool); !slices.Equal(got, wantIDs(8)[3:]) {
				t.Errorf("spooled %q, want the 5 rows the output did not take", got)
			}
			broken = false
			if err := j.Commit(ctx); err != nil {
				t.Fatalf("Commit once the output is back: %v", err)
			}
			if spool.Rows() != 0 {
				t.Errorf("the spool still holds %d bytes once the rows are in the output", spool.Rows())
			}
			if err := j.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if ids, files := dataIDs(t, dir); !slices.Equal(ids, wantIDs(8)) {
				t.Errorf("ids %q in %q", ids, files)
			}
		})
	}
}

// TestOutputGraceRunsOut: once the output has failed for the grace, rows
// go to the spool only, Close fails, and the spool holds every row the
// output does not.
func TestOutputGraceRunsOut(t *testing.T) {
	ctx := context.Background()
	mem := storagetest.NewDir()
	clock := fakeclock.New(time.Unix(0, 0))
	spool := NewSpool(t.TempDir(), "run")
	j := newJournal(t, objectsOnly{mem}, Options{Spool: spool, Clock: clock, Grace: time.Minute})
	write(t, j, 0, 2)
	if err := j.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	broken := true
	failingDir(mem, &broken)
	write(t, j, 2, 4)
	j.Commit(ctx)
	clock.Advance(time.Minute)
	write(t, j, 4, 5)
	if err := j.Commit(ctx); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("Commit after the grace: %v, want ErrGaveUp", err)
	}
	broken = false // too late: this run writes no more to the output
	write(t, j, 5, 6)
	if err := j.Close(ctx); !errors.Is(err, ErrGaveUp) {
		t.Errorf("Close: %v, want ErrGaveUp", err)
	}
	if got := spooledIDs(t, spool); !slices.Equal(got, wantIDs(6)[2:]) {
		t.Errorf("spooled %q", got)
	}
	names, _ := mem.List(ctx, Folder)
	for _, name := range names {
		data, _ := mem.Get(ctx, name)
		if bytes.Contains(data, []byte(`"r002"`)) {
			t.Errorf("%s holds a row written after the output failed", name)
		}
	}
}

// TestAppendedFileIsCutBackAfterAFailedWrite: a sync that fails is undone
// and tried again, so the file holds each row once; when it cannot be cut
// back, the output is given up at once.
func TestAppendedFileIsCutBackAfterAFailedWrite(t *testing.T) {
	ctx := context.Background()
	for _, truncateFails := range []bool{false, true} {
		t.Run(fmt.Sprint("truncate fails ", truncateFails), func(t *testing.T) {
			mem := storagetest.NewDir()
			spool := NewSpool(t.TempDir(), "run")
			j := newJournal(t, mem, Options{Spool: spool})
			write(t, j, 0, 2)
			if err := j.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			syncFails := true
			mem.Fail = func(op, name string) error {
				if (op == "sync" && syncFails) || (op == "truncate" && truncateFails) {
					return errors.New("EIO")
				}
				return nil
			}
			write(t, j, 2, 4)
			if err := j.Commit(ctx); err == nil {
				t.Fatal("a failed sync was not reported")
			}
			syncFails = false
			err := j.Commit(ctx)
			if truncateFails != errors.Is(err, ErrGaveUp) && truncateFails != (err != nil) {
				t.Errorf("Commit after the sync works again: %v", err)
			}
			data, _ := mem.Get(ctx, SegmentName(GroupName(prefix, 0), 0))
			lines := strings.Count(string(data), "\n")
			if !truncateFails && lines != 4 {
				t.Errorf("the journal file holds %d lines, want 4:\n%s", lines, data)
			}
			if truncateFails && len(spooledIDs(t, spool)) != 2 {
				t.Errorf("spooled %q, want the two rows not surely in the file", spooledIDs(t, spool))
			}
		})
	}
}

// TestFence: after Fence nothing more reaches the output.
func TestFence(t *testing.T) {
	ctx := context.Background()
	mem := storagetest.NewDir()
	spool := NewSpool(t.TempDir(), "run")
	j := newJournal(t, objectsOnly{mem}, Options{Spool: spool, PartRows: 2})
	write(t, j, 0, 3)
	if err := j.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	lost := errors.New("the lease was taken over")
	j.Fence(lost)
	write(t, j, 3, 4)
	if err := j.Close(ctx); !errors.Is(err, lost) {
		t.Errorf("Close after Fence: %v, want %v", err, lost)
	}
	if _, files := dataIDs(t, mem); len(files) != 0 {
		t.Errorf("data files written after Fence: %q", files)
	}
	if got := spooledIDs(t, spool); !slices.Equal(got, []string{"r003"}) {
		t.Errorf("spooled %q", got)
	}
}

func spooledIDs(t *testing.T, s *Spool) []string {
	t.Helper()
	folder, name := path.Split(s.Path())
	var ids []string
	err := ReadSpooled(context.Background(), folder, name, func(line []byte, _ int) error {
		r, err := writer.DecodeJSONLRow(line)
		if err == nil {
			ids = append(ids, r.ID)
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}
