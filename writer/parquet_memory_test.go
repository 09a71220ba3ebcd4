package writer

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

// countingDest is a storage.Dir whose files count their bytes and keep
// nothing.
type countingDest struct {
	*storagetest.Dir
	written int64
}

type countingObject struct{ d *countingDest }

func (d *countingDest) Create(context.Context, string) (storage.Object, error) {
	return countingObject{d}, nil
}
func (o countingObject) Write(p []byte) (int, error) {
	o.d.written += int64(len(p))
	return len(p), nil
}
func (countingObject) Commit() error { return nil }
func (countingObject) Abort() error  { return nil }

// liveHeap is the live heap after two collections (the second empties
// the sync.Pools of parquet-go's buffers).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestParquetWriterMemory writes one file of 60,000 rows of 1 KB answers
// (60 MB of values) in row groups bounded at 4 MiB: the live heap never
// grows by more than 12 MiB, whatever the file's size.
func TestParquetWriterMemory(t *testing.T) {
	const n = 60_000
	rng := rand.New(rand.NewPCG(1, 1))
	answer := make([]byte, 1000)
	dest := &countingDest{Dir: storagetest.NewDir()}
	w, err := New(dest, Options{Format: Parquet, NamePrefix: "m", RowGroupRows: 1_000_000, RowGroupBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	base := liveHeap()
	var peak uint64
	for i := range n {
		for k := range answer {
			answer[k] = 'a' + byte(rng.IntN(26))
		}
		row := Row{ID: "r", Status: StatusOK, Output: string(answer), InputTokens: int64(i)}
		if err := w.Write(t.Context(), &row); err != nil {
			t.Fatal(err)
		}
		if i%5000 == 4999 {
			peak = max(peak, liveHeap())
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes written; live heap %d KiB before, at most %d KiB while writing", dest.written, base>>10, peak>>10)
	if dest.written < 30<<20 {
		t.Fatalf("only %d bytes written: not the file under test", dest.written)
	}
	if peak > base+12<<20 {
		t.Errorf("live heap grew from %d KiB to %d KiB while writing row groups of 4 MiB", base>>10, peak>>10)
	}
}
