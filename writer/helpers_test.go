package writer

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// sampleRows are rows with every kind of value that needs care.
func sampleRows() []Row {
	return []Row{
		{
			ID: "r1", Status: StatusOK, Output: "Hello <b>world</b> & \"friends\"\nLine 2\ttab",
			StopReason: "end_turn", InputTokens: 12, OutputTokens: 34, TotalTokens: 46,
			CacheReadInputTokens: 5, CacheWriteInputTokens: 6, LatencyMs: 789, Attempts: 1,
			ModelID: "anthropic.claude-3-haiku-20240307-v1:0", Metadata: json.RawMessage(`{"team":"ml","n":[1,2.5,null]}`),
			RunID: "20261204T104040Z-61eb00", FinishedAt: time.Date(2026, 12, 4, 10, 40, 41, 123_000_000, time.UTC),
		},
		{
			ID: "r2", Status: StatusError, Attempts: 3, ModelID: "m",
			ErrorType: "throttled", ErrorMessage: "ThrottlingException: Too many requests, please wait",
		},
		{
			ID: "ünï\u2028cødé\u2029", Status: StatusOK, Output: "bad utf-8 \xff\xfe, control \x00\x01\x1f\x7f, emoji 😀",
			Metadata: json.RawMessage("{\n  \"pretty\": true,\n  \"list\": [ 1, 2 ]\n}"),
		},
		{ID: "r4", Status: StatusOK, Output: "", Metadata: json.RawMessage(`"just a string"`)},
		{ID: "r5", Status: StatusOK, Output: "big numbers", InputTokens: 1 << 62, OutputTokens: -1},
		{
			ID: "r6", Status: StatusOK, Output: `{"title": "A", "score": 3}`, OutputJSON: json.RawMessage(`{"title": "A", "score": 3}`),
			StopReason: "tool_use", TimeToFirstTokenMs: 41, ServiceTier: "flex", Route: RouteBatchInference, ModelID: "us.anthropic.claude-sonnet-4-20250514-v1:0",
		},
	}
}

// memDest is a storage.Dir in memory whose writes can fail.
type memDest struct {
	*storagetest.Dir
	files   map[string][]byte // committed
	pending map[string]*memObject
	failAt  int // Write fails once an object holds this many bytes; 0 = never
}

func newMemDest() *memDest {
	return &memDest{Dir: storagetest.NewDir(), files: map[string][]byte{}, pending: map[string]*memObject{}}
}

type memObject struct {
	d    *memDest
	name string
	data []byte
	done bool
}

func (d *memDest) Create(ctx context.Context, name string) (storage.Object, error) {
	if _, ok := d.files[name]; ok {
		return nil, os.ErrExist
	}
	if _, ok := d.pending[name]; ok {
		return nil, os.ErrExist
	}
	o := &memObject{d: d, name: name}
	d.pending[name] = o
	return o, nil
}

type errDiskFull struct{}

func (errDiskFull) Error() string { return "disk full" }

func (o *memObject) Write(p []byte) (int, error) {
	if o.d.failAt > 0 && len(o.data)+len(p) >= o.d.failAt {
		return 0, errDiskFull{}
	}
	o.data = append(o.data, p...)
	return len(p), nil
}

func (o *memObject) Commit() error {
	o.done = true
	delete(o.d.pending, o.name)
	o.d.files[o.name] = o.data
	return nil
}

func (o *memObject) Abort() error {
	if !o.done {
		o.done = true
		delete(o.d.pending, o.name)
	}
	return nil
}

// discardDest is a storage.Dir whose objects throw their bytes away.
type discardDest struct{ *storagetest.Dir }

type discardObject struct{}

func (discardDest) Create(context.Context, string) (storage.Object, error) {
	return discardObject{}, nil
}
func (discardObject) Write(p []byte) (int, error) { return len(p), nil }
func (discardObject) Commit() error               { return nil }
func (discardObject) Abort() error                { return nil }

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// hasTemp reports whether any name is a temporary file.
func hasTemp(names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, storage.TempPrefix) })
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (run go test -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
