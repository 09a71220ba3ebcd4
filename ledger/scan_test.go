package ledger

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/journal"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
	"github.com/bedrock-batch/bedrock-batch/tally"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// scanned is what Scan makes of an output directory, as its golden file
// holds it.
type scanned struct {
	Files      []string        `json:"files"`
	ErrorFiles []string        `json:"error_files"`
	Totals     tally.Totals    `json:"totals"`
	Settled    map[string]bool `json:"settled"`              // by id: not sent again
	Retried    map[string]bool `json:"settled_retry_errors"` // by id, with --retry-errors
	Superseded []string        `json:"superseded"`
	StaleTemp  []string        `json:"stale_temp"`
	// Journal are the shard's groups no data file holds; Stale what a
	// run holding the lease removes.
	Journal []journal.Group `json:"journal,omitempty"`
	Stale   []string        `json:"stale,omitempty"`
}

// TestScanGoldenOutputs reads each output directory under
// testdata/outputs and compares what the ledger makes of it with its
// golden file (testdata/outputs/NAME.json); -update rewrites them.
func TestScanGoldenOutputs(t *testing.T) {
	probe := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "p", "q", "r0", "r1", "r2", "r3", "nope"}
	for _, tt := range []struct {
		name, golden string
		owner        shard.Shard
	}{
		{"mixed", "mixed", shard.Shard{}},
		{"sharded", "sharded", shard.Shard{Index: 0, Count: 2}},
		{"compacted", "compacted", shard.Shard{}},
		{"journaled", "journaled", shard.Shard{}},
		{"journaled", "journaled-shard-1of2", shard.Shard{Index: 1, Count: 2}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			ctx := context.Background()
			out := storage.NewLocalDir(filepath.Join("testdata", "outputs", tt.name))
			l, err := Scan(ctx, out, tt.owner)
			if err != nil {
				t.Fatal(err)
			}
			names, err := out.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			got := scanned{Files: l.Files, Totals: l.Totals, Settled: map[string]bool{}, Retried: map[string]bool{},
				Superseded: Superseded(names), Journal: l.Journal, Stale: Stale(names, tt.owner)}
			for name := range l.errorFiles {
				got.ErrorFiles = append(got.ErrorFiles, name)
			}
			slices.Sort(got.ErrorFiles)
			for _, name := range names {
				if IsStaleTemp(name, tt.owner) {
					got.StaleTemp = append(got.StaleTemp, name)
				}
			}
			for _, id := range probe {
				got.Settled[id] = l.Settled(id, false)
				got.Retried[id] = l.Settled(id, true)
			}
			checkGolden(t, filepath.Join("testdata", "outputs", tt.golden+".json"), got)
		})
	}
}

func checkGolden(t *testing.T, path string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s differs (go test -update rewrites it):\n got %s\nwant %s", path, data, want)
	}
}

// TestDropErrorRowsOverMemory: --retry-errors rewrites each file with
// error rows of the shard without them, keeps DuplicateID rows, and a
// fault between writing the copy and removing the original leaves both,
// which the next start resolves (Superseded) to one row per id.
func TestDropErrorRowsOverMemory(t *testing.T) {
	ctx := context.Background()
	src := storage.NewLocalDir(filepath.Join("testdata", "outputs", "mixed"))
	out := copyDir(t, src)
	l, err := Scan(ctx, out, shard.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DropErrorRows(ctx, out, shard.Shard{}); err != nil {
		t.Fatal(err)
	}
	after, err := Scan(ctx, out, shard.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Totals.Error != 1 || after.Totals.OK != l.Totals.OK || after.Totals.Records != l.Totals.Records {
		t.Errorf("after the drop: %+v (the ledger kept %+v); want only the DuplicateID error row left", after.Totals, l.Totals)
	}
	for _, id := range []string{"b", "e", "i"} {
		if after.Settled(id, false) {
			t.Errorf("%s still has its error row", id)
		}
	}
	if !after.Settled("a", false) || !after.Settled("h", false) {
		t.Error("an ok row was dropped")
	}
}

// copyDir copies every file of src into a fresh in-memory Dir.
func copyDir(t *testing.T, src storage.Dir) storage.Dir {
	t.Helper()
	ctx := context.Background()
	names, err := src.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := storagetest.NewDir()
	for _, name := range names {
		data, err := src.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestAddRowTakesOnlyRowsTheOutputLacks: a spooled row is counted, and
// written, only when the output has no row for its id.
func TestAddRowTakesOnlyRowsTheOutputLacks(t *testing.T) {
	l, err := Scan(context.Background(), storage.NewLocalDir(filepath.Join("testdata", "outputs", "journaled")), shard.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	before := l.Totals.Records
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"c", false}, // in the journal
		{"d", false}, // its error row is in the journal
		{"e", true},  // torn: the output lacks it
		{"e", false}, // added just now
		{"a", false}, // in a data file
	} {
		if got := l.AddRow(&writer.Row{ID: tt.id, Status: writer.StatusOK}, shard.Shard{}); got != tt.want {
			t.Errorf("AddRow(%s) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if !l.Settled("e", false) || l.Totals.Records != before+1 {
		t.Errorf("after AddRow(e): settled %v, records %d (were %d)", l.Settled("e", false), l.Totals.Records, before)
	}
}
