package pipeline

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/reader"
)

// TestLanesCountReaderHoldings fills the lanes near their byte bound and
// opens a Parquet reader: what the reader holds leaves no room for one more
// record until the reader is closed.
func TestLanesCountReaderHoldings(t *testing.T) {
	type row struct {
		ID     int64  `parquet:"id"`
		Prompt string `parquet:"prompt"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.Compression(&parquet.Zstd))
	if _, err := w.Write([]row{{1, "a prompt"}, {2, "another"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	text := strings.Repeat("x", 250<<10)
	rec := reader.Record{ID: "r", Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: text}}}}}
	size := recordBytes(&rec)
	base := reader.HeldBytes()
	l := newLanes(100, base+4*size+100<<10) // four records and 100 KiB to spare
	for range 3 {
		if _, ok := l.push("m", rec); !ok {
			t.Fatal("push failed")
		}
	}
	if !l.room(size) {
		t.Fatal("no room for a fourth record with no reader open")
	}

	r, err := reader.NewParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	held := reader.HeldBytes() - base
	if held != r.HeldBytes() || held < 100<<10 {
		t.Fatalf("an open Parquet reader holds %d bytes, HeldBytes counts %d", r.HeldBytes(), held)
	}
	if l.room(size) {
		t.Errorf("room for a fourth record while the reader holds %d bytes", held)
	}
	r.Close()
	if reader.HeldBytes() != base {
		t.Errorf("HeldBytes is %d after the reader closed, %d before it opened", reader.HeldBytes(), base)
	}
	if !l.room(size) {
		t.Error("no room for a fourth record after the reader closed")
	}
}
