package reader

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// raceEnabled is set by race_test.go: the race detector makes the big
// streaming tests too slow, so they read fewer records.
var raceEnabled bool

// heapInUse returns the live heap after two collections: the second
// empties the sync.Pools (parquet-go's buffer pools) that the first left.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// checkConstantMemory reads n records from src and fails if the live heap
// grows by more than slack between the first tenth and the end.
func checkConstantMemory(t *testing.T, src Source, n int, slack uint64) {
	t.Helper()
	ctx := context.Background()
	var base, peak uint64
	for i := 1; ; i++ {
		rec, err := src.Next(ctx)
		if err == io.EOF {
			if i-1 != n {
				t.Fatalf("read %d records, want %d", i-1, n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != nil {
			t.Fatalf("record %d: %v", i, rec.Err)
		}
		switch {
		case i == n/10:
			base = heapInUse()
		case i%(n/10) == 0:
			peak = max(peak, heapInUse())
		}
	}
	t.Logf("%d records: live heap %d KiB after the first tenth, at most %d KiB after", n, base>>10, peak>>10)
	if peak > base+slack {
		t.Errorf("live heap grew from %d KiB to %d KiB while streaming", base>>10, peak>>10)
	}
}

func TestJSONLConstantMemory(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	checkConstantMemory(t, NewJSONL(&lineGenerator{n: n}, "gen.jsonl"), n, 2<<20)
}

// TestParquetOneRowGroupMemory reads a file laid out as DuckDB and pyarrow
// lay out a prompt set: 200,000 rows in one row group, each column one
// page (37 MB of prompts, decompressed). The live heap may not grow by more
// than 24 MiB while it is read (zstd's windows are most of that: 8 MiB for
// the prompt column): a reader that held the prompt page, let alone the row
// group, would need more. The bound is checked on the live heap after a
// collection, with a soft memory limit so that the collector works as it
// would in a small container; no clock is involved.
func TestParquetOneRowGroupMemory(t *testing.T) {
	const n = 200_000
	type row struct {
		ID       int64  `parquet:"id"`
		Prompt   string `parquet:"prompt,plain"`
		Metadata string `parquet:"metadata,optional,plain"`
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{int64(i), fmt.Sprintf("Summarize document %d in one paragraph: %s", i, strings.Repeat(strconv.Itoa(i), 25)), fmt.Sprintf(`{"n":%d}`, i)}
	}
	path := writeParquet(t, t.TempDir(), "one.parquet", rows, parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(n), parquet.PageBufferSize(256<<20))
	rows = nil
	pages, biggest := promptPages(t, path)
	if pages != 1 || biggest < 30<<20 {
		t.Fatalf("the file has %d prompt pages, the largest of %d bytes: not the layout under test", pages, biggest)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	base := heapInUse()
	f := OpenFiles([]Input{{Path: filepath.Clean(path)}})
	defer f.Close()
	var peak uint64
	for i := 1; ; i++ {
		rec, err := f.Next(t.Context())
		if err == io.EOF {
			if i-1 != n {
				t.Fatalf("read %d records, want %d", i-1, n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != nil || rec.ID != strconv.Itoa(i-1) {
			t.Fatalf("record %d: %q %v", i, rec.ID, rec.Err)
		}
		if i%(n/20) == 0 {
			peak = max(peak, heapInUse())
		}
	}
	t.Logf("%d records of a %d-byte page: live heap %d KiB before, at most %d KiB while reading", n, biggest, base>>10, peak>>10)
	if peak > base+24<<20 {
		t.Errorf("live heap grew from %d KiB to %d KiB while reading one row group", base>>10, peak>>10)
	}
}

// promptPages counts the pages of the prompt column of a file and returns
// the largest uncompressed size, as parquet-go reads them.
func promptPages(t *testing.T, path string) (pages int, biggest int64) {
	t.Helper()
	osf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(osf, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := pf.Schema().Lookup("prompt")
	for _, g := range pf.RowGroups() {
		pp := g.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			p, err := pp.ReadPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			pages++
			biggest = max(biggest, p.Size())
			parquet.Release(p)
		}
		pp.Close()
	}
	return pages, biggest
}

// TestHeldBytesOfJSONL counts a JSONL reader's buffer while it reads, and
// nothing once it reached its end.
func TestHeldBytesOfJSONL(t *testing.T) {
	base := HeldBytes()
	r := NewJSONL(strings.NewReader(`{"prompt":"p"}`+"\n"), "f.jsonl")
	if _, err := r.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := HeldBytes() - base; got != readBufferSize {
		t.Errorf("a JSONL reader holds %d bytes, want its %d-byte buffer", got, readBufferSize)
	}
	if _, err := r.Next(t.Context()); err != io.EOF {
		t.Fatalf("Next: %v, want io.EOF", err)
	}
	if HeldBytes() != base {
		t.Errorf("HeldBytes is %d after the end, %d before", HeldBytes(), base)
	}
}
