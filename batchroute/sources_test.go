package batchroute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

type sliceSource []reader.Record

func (s *sliceSource) Next(ctx context.Context) (reader.Record, error) {
	if len(*s) == 0 {
		return reader.Record{}, io.EOF
	}
	rec := (*s)[0]
	*s = (*s)[1:]
	return rec, nil
}

// TestOnDemandSource: the input without the records jobs own (a broken
// record keeps its place: its error row is written on demand), then the
// records jobs left, until the route is done.
func TestOnDemandSource(t *testing.T) {
	r := New(nil, nil, nil, func(string) bool { return false }, Options{})
	r.state = &batchinfer.State{}
	r.owned.Add(hashID("owned"))
	input := sliceSource{{ID: "free"}, {ID: "owned"}, {ID: "owned", Err: errors.New("duplicate id")}, {ID: "also-free"}}
	src := r.OnDemand(&input, make(chan struct{}))
	ctx := context.Background()
	var got []string
	for range 3 {
		rec, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.ID)
	}
	if got[0] != "free" || got[1] != "owned" || got[2] != "also-free" {
		t.Fatalf("input records %v", got)
	}
	next := make(chan reader.Record)
	go func() {
		rec, _ := src.Next(ctx)
		next <- rec
	}()
	time.Sleep(10 * time.Millisecond) // it waits for the jobs
	r.mu.Lock()
	r.fallback = append(r.fallback, reader.Record{ID: "left-by-a-job"})
	r.notify()
	r.mu.Unlock()
	if rec := <-next; rec.ID != "left-by-a-job" {
		t.Fatalf("got %q", rec.ID)
	}
	r.finish()
	if _, err := src.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the route is done: %v, want io.EOF", err)
	}
}

// TestOnDemandSourceStops: a stopping run does not wait for the jobs.
func TestOnDemandSourceStops(t *testing.T) {
	r := New(nil, nil, nil, func(string) bool { return false }, Options{})
	r.state = &batchinfer.State{}
	stop := make(chan struct{})
	src := r.OnDemand(&sliceSource{}, stop)
	close(stop)
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("got %v, want io.EOF", err)
	}
}

// TestStopAt: the jobs are stopped early enough for what they have not yet
// processed (and parts waiting for a job) to be finished on demand before
// the deadline, less the margin.
func TestStopAt(t *testing.T) {
	deadline := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	r := New(nil, nil, nil, nil, Options{Deadline: deadline, Margin: 5 * time.Minute,
		OnDemandTime: func(p *batchinfer.Part, records int) (time.Duration, string) {
			return time.Duration(records) * time.Second, "1 s a record"
		}})
	r.state = &batchinfer.State{Parts: []batchinfer.Part{
		{Name: "a", Records: 600, Processed: 200, Status: batchinfer.StatusInProgress},
		{Name: "b", Records: 300, Status: batchinfer.StatusScheduled},
		{Name: "c", Records: 100}, // waiting for a job slot
		{Name: "d", Records: 900, Processed: 900, Status: batchinfer.StatusCompleted},
		{Name: "e", Records: 50, OnDemand: true},
	}}
	got, estimate, basis := r.stopAt()
	if want := deadline.Add(-5*time.Minute - 800*time.Second); !got.Equal(want) || estimate != 800*time.Second || basis != "1 s a record" {
		t.Errorf("stopAt %s (estimate %s, basis %q), want %s (deadline less margin less 400+300+100 s on demand)", got, estimate, basis, want)
	}
}

// TestOnDemandSourceChecksThePlansInput: after a plan of this run, the on-demand pass skips
// every record but those the plan left, and stops with an error when it read other records
// than the plan did (an input changed between them), rather than skip a record no job holds.
func TestOnDemandSourceChecksThePlansInput(t *testing.T) {
	for _, tt := range []struct {
		input   sliceSource
		wantIDs []string
		wantErr bool
	}{
		{sliceSource{{ID: "a"}, {ID: "left"}, {ID: "b"}, {ID: "bad", Err: errors.New("not JSON")}}, []string{"left", "bad"}, false},
		{sliceSource{{ID: "a"}, {ID: "left"}, {ID: "b"}, {ID: "new"}}, []string{"left"}, true},
	} {
		r := New(nil, nil, nil, func(string) bool { return false }, Options{})
		r.state = &batchinfer.State{}
		r.planned, r.expect = true, 3
		r.left.Add(hashID("left"))
		r.done = true
		input := tt.input
		src := r.OnDemand(&input, make(chan struct{}))
		var ids []string
		var err error
		for {
			var rec reader.Record
			if rec, err = src.Next(context.Background()); err != nil {
				break
			}
			ids = append(ids, rec.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) || (err != io.EOF) == !tt.wantErr {
			t.Errorf("records %v, end %v; want %v, an error %v", ids, err, tt.wantIDs, tt.wantErr)
		}
	}
}
