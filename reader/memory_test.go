package reader

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// raceEnabled is set by race_test.go: the race detector makes the big
// streaming tests too slow, so they read fewer records.
var raceEnabled bool

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
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

func TestParquetConstantMemory(t *testing.T) {
	n := 200_000
	if testing.Short() || raceEnabled {
		n = 40_000
	}
	type row struct {
		ID       int64  `parquet:"id"`
		Prompt   string `parquet:"prompt"`
		Metadata string `parquet:"metadata,optional"`
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{int64(i), fmt.Sprintf("Summarize document %d in one line.", i), fmt.Sprintf(`{"n":%d}`, i)}
	}
	path := writeParquet(t, t.TempDir(), "big.parquet", rows, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(int64(n/20)))
	rows = nil
	f := OpenFiles([]Input{{Path: filepath.Clean(path)}})
	defer f.Close()
	checkConstantMemory(t, f, n, 4<<20)
}
