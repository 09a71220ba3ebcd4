package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/lease"
	"github.com/bedrock-batch/bedrock-batch/shard"
)

// LeaseHeldError says another live run holds the output shard: this run
// sent nothing. The command exits 5 for it.
type LeaseHeldError struct {
	Output string
	Shard  shard.Shard
	Held   *lease.HeldError
}

func (e *LeaseHeldError) Error() string {
	h := e.Held.Holder
	return fmt.Sprintf("output %s (shard %s) is being written by another run: host %s, pid %d, run %s, started %s; it last renewed its lease %s ago (%s). This run sent nothing; give --wait to wait for that run to end",
		e.Output, e.Shard, h.Host, h.PID, h.RunID, h.StartedAt.UTC().Format(time.RFC3339),
		e.Held.Since.Round(time.Second), h.RenewedAt.UTC().Format(time.RFC3339))
}

func (e *LeaseHeldError) Unwrap() error { return e.Held }

// IsLeaseHeld reports whether err says another run holds the output shard.
func IsLeaseHeld(err error) bool {
	var held *LeaseHeldError
	return errors.As(err, &held)
}

// takeLease takes the output shard's lease before anything in the output
// is removed or sent: a live run holding it refuses this one (or, with
// --wait, is waited for, until a signal).
func (r *Run) takeLease(ctx context.Context) error {
	if r.deps.ReadOnly {
		return nil // a dry run or a validation only reads
	}
	ctx, cancel := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	defer watcher.Wait()
	defer cancel()
	if r.cfg.Wait && r.deps.Signals != nil {
		watcher.Add(1)
		go func() {
			defer watcher.Done()
			select {
			case <-r.deps.Signals:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	host, _ := os.Hostname()
	me := lease.Holder{Host: host, PID: os.Getpid(), RunID: r.runID, StartedAt: r.started.UTC()}
	l, err := lease.Acquire(ctx, r.out, r.cfg.Shard.LeaseName(), me, lease.Options{Clock: r.deps.Clock,
		Interval: r.deps.LeaseInterval, Wait: r.cfg.Wait, Logger: r.deps.Logger})
	var held *lease.HeldError
	switch {
	case errors.As(err, &held):
		return &LeaseHeldError{Output: r.out.URI(""), Shard: r.cfg.Shard, Held: held}
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("stopped while waiting for the run that holds %s: %w", r.out.URI(""), err)
	case err != nil:
		return setup(err)
	}
	r.lease = l
	if from := l.TookOver(); from != nil {
		r.deps.Logger.Warn("took over the output from a run that is gone", "output", r.out.URI(""), "shard", r.cfg.Shard.String(),
			"holder", from.String(), "last_renewed", from.RenewedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// keepLease renews the lease until ctx ends. A lost lease stops the run:
// no new record, no more writes to the output (the journal is fenced and
// keeps rows in the spool), and the run ends with the reason.
func (r *Run) keepLease(ctx context.Context, j fencer, stop func()) {
	if r.lease == nil {
		return
	}
	r.lease.Keep(ctx, func(err error) {
		r.deps.Logger.Error("the lease on the output shard was lost: stopping, and writing no more to the output", "output", r.out.URI(""),
			"shard", r.cfg.Shard.String(), "error", err)
		j.Fence(err)
		r.leaseMu.Lock()
		r.leaseLost = err
		r.leaseMu.Unlock()
		stop()
	})
}

// fencer is what keepLease stops writing when the lease is lost.
type fencer interface{ Fence(error) }

// lostLease is why the lease was lost, nil while it is held.
func (r *Run) lostLease() error {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return r.leaseLost
}

// releaseLease gives the output shard up, once the run has written all it
// will.
func (r *Run) releaseLease(ctx context.Context) {
	if r.lease == nil {
		return
	}
	if err := r.lease.Release(ctx); err != nil {
		r.deps.Logger.Warn("releasing the lease; the next run takes it over once it is stale", "error", err)
	}
	r.lease = nil
}
