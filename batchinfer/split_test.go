package batchinfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

func TestTooLarge(t *testing.T) {
	for msg, want := range map[string]bool{
		// The emulator's, worded after the quota names of the user guide.
		"The input has 2060 records, more than the maximum of 1000 records per batch inference job (quota \"Records per batch inference job\").":             true,
		"The input file s3://b/k.jsonl is 2000000 bytes, more than the maximum of 1000000 bytes per input file (quota \"Batch inference input file size\").": true,
		"The job's input files are at least 6 GB, more than the maximum of 5 GB per job.":                                                                    true,
		"Number of records in the input exceeds the limit for this model.":                                                                                   true,
		"The input has 20 records, fewer than the minimum of 100 records per batch inference job.":                                                           false,
		"The role cannot read the input.": false,
		"1 validation error detected: Value 'x y' at 'jobName' failed to satisfy constraint: Member must have length less than or equal to 63": false,
	} {
		if got := TooLarge(msg); got != want {
			t.Errorf("TooLarge(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestSubmitTooLargeThenSplit: a part over the account's record quota is refused with
// ErrTooLarge; its halves are staged anew, submitted, and hold every record once.
func TestSubmitTooLargeThenSplit(t *testing.T) {
	_, control, stage := emulated(t, batchjobs.Options{MinRecords: 40, MaxRecords: 100, ValidateAfter: time.Hour}, modelA)
	ctx := testCtx(t)
	cfg := Config{RunKey: "split", RoleARN: testRole, MinRecords: 40}
	s := NewStager(stage, cfg)
	for i := range 150 {
		if err := s.Add(ctx, fmt.Sprintf("r%03d", i), modelA, input(fmt.Sprint("q ", i))); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Finish(ctx)
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v, %v", parts, err)
	}
	parts[0].Meta, parts[0].Resubmits = "meta/x.jsonl", 1
	jobs := NewJobs(control, stage, cfg)
	if err := jobs.Submit(ctx, &parts[0]); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Submit of 150 records against a quota of 100: %v, want ErrTooLarge", err)
	}
	halves, err := jobs.Split(ctx, &parts[0], "split-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(halves) != 2 || halves[0].Records != 75 || halves[1].Records != 75 || halves[0].OnDemand || halves[0].Name == parts[0].Name {
		t.Fatalf("halves %+v", halves)
	}
	seen := map[string]int{}
	for i := range halves {
		h := &halves[i]
		if h.Meta != "meta/x.jsonl" || h.Resubmits != 1 {
			t.Errorf("half %s lost its metadata file or count: %+v", h.Name, h)
		}
		if err := jobs.Submit(ctx, h); err != nil {
			t.Fatalf("submitting half %s: %v", h.Name, err)
		}
		jobs.Inputs(ctx, h, func(id string, _ json.RawMessage) error { seen[id]++; return nil })
	}
	if len(seen) != 150 {
		t.Errorf("the halves hold %d ids, want 150", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s is in %d halves", id, n)
		}
	}
}

// TestModelLimits: a model's own limits size its parts; others keep the configuration's.
func TestModelLimits(t *testing.T) {
	const nova = "amazon.nova-lite-v1:0"
	cfg := Config{RunKey: "limits", MinRecords: 2, MaxRecords: 10, ModelLimits: func(model string) Limits {
		if model == modelA {
			return Limits{MaxRecords: 4, MaxJobs: 2}
		}
		return Limits{}
	}}
	if got := cfg.Limits(modelA); got != (Limits{MinRecords: 2, MaxRecords: 4, MaxPartBytes: DefaultMaxPartBytes, MaxJobs: 2}) {
		t.Errorf("Limits(%s) = %+v", modelA, got)
	}
	if got := cfg.Limits(nova); got != (Limits{MinRecords: 2, MaxRecords: 10, MaxPartBytes: DefaultMaxPartBytes}) {
		t.Errorf("Limits(%s) = %+v", nova, got)
	}
	store := newMemStore()
	a := stage(t, store, cfg, modelA, 9)
	n := stage(t, store, cfg, nova, 9)
	if len(a) != 3 || a[0].Records != 4 || !a[2].OnDemand || len(n) != 1 || n[0].Records != 9 {
		t.Errorf("parts of %s: %+v; of %s: %+v", modelA, a, nova, n)
	}
}

// TestRefreshCounts: Refresh keeps the job's record counts, as GetModelInvocationJob gives
// them, while it runs.
func TestRefreshCounts(t *testing.T) {
	// The emulator's goroutines read the clock while the test moves it.
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	_, control, staging := emulated(t, batchjobs.Options{Clock: now, RecordsPerSecond: 10, MinRecords: 1,
		FailRecord: func(id string) (int, string, bool) { return 500, "injected", id == "rec0001" }}, modelA)
	ctx := testCtx(t)
	cfg := Config{RunKey: "counts", RoleARN: testRole, MinRecords: 1}
	parts := stage(t, staging, cfg, modelA, 50)
	jobs := NewJobs(control, staging, cfg)
	p := parts[0]
	if err := jobs.Submit(ctx, &p); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * time.Second)) // 20 of 50 records
	if err := jobs.Refresh(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusInProgress || p.Processed != 20 || p.Succeeded != 19 || p.Failed != 1 {
		t.Errorf("after 2 s: %s, processed %d, ok %d, failed %d; want InProgress, 20, 19, 1", p.Status, p.Processed, p.Succeeded, p.Failed)
	}
}
