package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultOutputGrace is how long a run goes on trying to commit after the
// output first failed.
const DefaultOutputGrace = 2 * time.Minute

// Backoff between commits that failed.
const (
	commitBackoff    = 250 * time.Millisecond
	commitMaxBackoff = 5 * time.Second
)

// OutputError says the output stopped taking rows for longer than the
// grace: from the first failed commit on no call started, and at the end
// of the grace the run stopped taking records.
type OutputError struct {
	// First is the first failed commit's error; Last the last one's.
	First, Last error
	// For is how long the output had been failing.
	For time.Duration
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("the output stopped taking rows %s ago, so no call started since and the run stopped: %v", e.For.Round(time.Second), e.Last)
}

func (e *OutputError) Unwrap() []error { return []error{e.First, e.Last} }

// commit makes handed-over rows durable, one commit at a time: each covers
// every row handed over while the one before ran, and starts as soon as it
// ended (SyncInterval 0) or an interval after it started. A failed commit
// holds every new call back at once; commits are tried again with backoff,
// rows still arriving meanwhile, and the first that works lets calls go
// again. When the output has failed for the grace, the run stops taking
// records, and ends with an OutputError once every row is handed over.
func (r *Run) commit(ctx context.Context, nudge <-chan struct{}, received <-chan struct{}, halt func()) error {
	var (
		lastStart      time.Time
		first, last    error
		failedAt       time.Time
		backoff        = commitBackoff
		done, retrying bool
	)
	wait := func(d time.Duration) {
		if done {
			time.Sleep(d)
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-received:
			done = true
		}
	}
	for {
		if !done && !retrying {
			select {
			case <-nudge:
			case <-received:
				done = true
			}
		}
		if interval := r.opts.SyncInterval; !done && !retrying && interval > 0 {
			if d := time.Until(lastStart.Add(interval)); d > 0 {
				wait(d)
			}
		}
		lastStart = time.Now()
		if last = r.commitOnce(ctx); last == nil {
			if first != nil {
				first = nil
				r.output.recover()
			}
			if done {
				return nil
			}
			retrying, backoff = false, commitBackoff
			continue
		}
		if first == nil {
			first, failedAt = last, time.Now()
			r.output.fail()
		}
		failing := time.Since(failedAt)
		final := isFinal(last)
		if final || failing >= r.opts.OutputGrace {
			halt()
			if done {
				return &OutputError{First: first, Last: last, For: failing}
			}
		}
		if final {
			// The sink keeps what comes (in a spool) and will not write to
			// the output again: commit the rest as it arrives, no backoff.
			retrying = false
			continue
		}
		retrying = true
		pause := backoff
		if left := r.opts.OutputGrace - failing; left > 0 {
			pause = min(pause, left)
		}
		wait(pause)
		backoff = min(2*backoff, commitMaxBackoff)
	}
}

// finalError is a Commit error that says the sink will never write to its
// output again (it gave the output up, or was fenced off it), so the run
// stops at once rather than after the grace.
type finalError interface{ Final() bool }

// isFinal reports whether err says so.
func isFinal(err error) bool {
	var f finalError
	return errors.As(err, &f) && f.Final()
}

// commitOnce commits, holding new calls back while the commit takes
// longer than StallAfter.
func (r *Run) commitOnce(ctx context.Context) error {
	epoch := r.output.begin()
	stall := time.AfterFunc(r.opts.StallAfter, func() { r.output.stall(epoch) })
	err := r.sink.Commit(ctx)
	stall.Stop()
	r.output.end(epoch)
	return err
}

// gate holds new calls back while a commit stalls or the output fails.
type gate struct {
	mu      sync.Mutex
	epoch   int           // the commit running now
	ended   int           // the last commit that ended
	stalled bool          // the running commit takes too long
	failing bool          // the last commit failed
	resumed chan struct{} // non-nil while calls are held; closed when they may go
}

// begin numbers a commit.
func (g *gate) begin() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	return g.epoch
}

// stall holds calls back, unless the commit has already ended.
func (g *gate) stall(epoch int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if epoch > g.ended {
		g.stalled = true
		g.update()
	}
}

// end ends a commit's stall.
func (g *gate) end(epoch int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended, g.stalled = epoch, false
	g.update()
}

// fail holds calls back until recover.
func (g *gate) fail() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing = true
	g.update()
}

// recover lets calls go again once the output takes rows.
func (g *gate) recover() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing = false
	g.update()
}

// update opens or closes the gate, under mu.
func (g *gate) update() {
	held := g.stalled || g.failing
	switch {
	case held && g.resumed == nil:
		g.resumed = make(chan struct{})
	case !held && g.resumed != nil:
		close(g.resumed)
		g.resumed = nil
	}
}

// wait returns once calls may start; false if the run stops first.
func (g *gate) wait(ctx context.Context, stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		resumed := g.resumed
		g.mu.Unlock()
		if resumed == nil {
			return !isClosed(stop) && ctx.Err() == nil
		}
		select {
		case <-resumed:
		case <-stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
