// Package lease gives one run at a time a shard of an output: a small file
// in the output, made with a conditional create (If-None-Match: * on S3),
// renewed with a conditional replace on its version (If-Match on its ETag),
// so two runs can never both hold it. A lease nobody renewed for a few
// intervals is stale: its run is gone, and the next run takes it over.
package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/clock"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Defaults of Options.
const (
	// DefaultInterval is how often a holder renews its lease.
	DefaultInterval = 10 * time.Second
	// StaleIntervals is how many intervals without a renewal make a lease
	// stale.
	StaleIntervals = 3
	// DefaultPoll is how often a run that waits looks at the lease again.
	DefaultPoll = 2 * time.Second
)

// Holder is who holds a lease, as the lease file says.
type Holder struct {
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	RenewedAt time.Time `json:"renewed_at"`
	// RenewSeconds is how often the holder renews, so others judge it
	// stale by its own interval.
	RenewSeconds float64 `json:"renew_seconds"`
	// Renewals counts renewals, so every renewal writes new bytes.
	Renewals int64 `json:"renewals"`
}

func (h Holder) String() string {
	return fmt.Sprintf("host %s, pid %d, run %s, started %s", h.Host, h.PID, h.RunID, h.StartedAt.UTC().Format(time.RFC3339))
}

// staleAfter is how long after its last renewal a holder's lease is stale.
func (h Holder) staleAfter(fallback time.Duration) time.Duration {
	if h.RenewSeconds > 0 {
		return StaleIntervals * time.Duration(h.RenewSeconds*float64(time.Second))
	}
	return fallback
}

// Options configure a lease.
type Options struct {
	Clock clock.Clock
	// Interval is how often the lease is renewed; it is stale after
	// StaleIntervals of them.
	Interval time.Duration
	// Wait makes Acquire wait for a held lease instead of returning a
	// HeldError, looking again every Poll.
	Wait bool
	Poll time.Duration
	// Alive says whether a holder's process still runs; by default, for a
	// holder on this host, whether its pid does. A holder on another host
	// is alive until its lease is stale.
	Alive  func(Holder) bool
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Alive == nil {
		o.Alive = ProcessAlive
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// HeldError says another run holds the lease.
type HeldError struct {
	// URI is the lease file's.
	URI    string
	Holder Holder
	// Since is how long ago the holder last renewed it.
	Since time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another run holds %s: %s; it last renewed it %s ago (%s)", e.URI, e.Holder,
		e.Since.Round(time.Second), e.Holder.RenewedAt.UTC().Format(time.RFC3339))
}

// ErrLost says the lease can no longer be relied on: another run took it
// over, or it could not be renewed before others may take it over.
var ErrLost = errors.New("the lease on the output was lost")

// Lease is a lease held.
type Lease struct {
	dir  storage.Dir
	name string
	opts Options

	mu        sync.Mutex // guards the fields below
	holder    Holder
	version   storage.Version
	renewedAt time.Time // by our clock, when the last renewal succeeded
	tookOver  *Holder
}

// Acquire takes the lease in dir called name for me: it creates the file,
// or takes over a stale one. A lease another live run holds is a
// *HeldError, or, with Options.Wait, waited for until ctx ends.
func Acquire(ctx context.Context, dir storage.Dir, name string, me Holder, opts Options) (*Lease, error) {
	opts = opts.withDefaults()
	l := &Lease{dir: dir, name: name, opts: opts}
	waiting := false
	for {
		held, err := l.try(ctx, me)
		if err != nil || held == nil {
			return l, err
		}
		if !opts.Wait {
			return nil, held
		}
		if !waiting {
			waiting = true
			opts.Logger.Warn("waiting for the run that holds the output to finish", "lease", held.URI, "holder", held.Holder.String(),
				"renewed", held.Holder.RenewedAt.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lease: %w", ctx.Err())
		case <-opts.Clock.After(opts.Poll):
		}
	}
}

// try takes the lease if it is free or stale; it returns a HeldError when
// a live run holds it.
func (l *Lease) try(ctx context.Context, me Holder) (*HeldError, error) {
	now := l.opts.Clock.Now()
	me.RenewedAt, me.RenewSeconds = now, l.opts.Interval.Seconds()
	data, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	err = l.dir.PutIfAbsent(ctx, l.name, data)
	if err == nil {
		got, v, err := l.dir.GetVersion(ctx, l.name)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(got, data) {
			l.took(me, v, now, nil)
			return nil, nil
		}
		// Taken over between the two requests: held by the one who did.
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("taking the lease %s: %w", l.dir.URI(l.name), err)
	}
	current, v, err := l.dir.GetVersion(ctx, l.name)
	if errors.Is(err, fs.ErrNotExist) {
		return l.try(ctx, me) // released meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("reading the lease %s: %w", l.dir.URI(l.name), err)
	}
	var other Holder
	if err := json.Unmarshal(current, &other); err != nil {
		other = Holder{} // unreadable: nobody can renew it, so it is stale
	}
	since := now.Sub(other.RenewedAt)
	if since < other.staleAfter(StaleIntervals*l.opts.Interval) && other.RenewedAt.After(time.Time{}) && l.opts.Alive(other) {
		return &HeldError{URI: l.dir.URI(l.name), Holder: other, Since: since}, nil
	}
	nv, err := l.dir.ReplaceIf(ctx, l.name, data, v)
	if errors.Is(err, storage.ErrChanged) {
		return l.try(ctx, me) // renewed, released or taken meanwhile: look again
	}
	if err != nil {
		return nil, fmt.Errorf("taking over the lease %s: %w", l.dir.URI(l.name), err)
	}
	l.took(me, nv, now, &other)
	l.opts.Logger.Warn("took over the lease of a run that is gone", "lease", l.dir.URI(l.name), "holder", other.String(),
		"last_renewed", other.RenewedAt.UTC().Format(time.RFC3339), "renewed_ago", since.Round(time.Second))
	return nil, nil
}

func (l *Lease) took(me Holder, v storage.Version, now time.Time, from *Holder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder, l.version, l.renewedAt, l.tookOver = me, v, now, from
}

// TookOver is the holder of the stale lease this one replaced, if any.
func (l *Lease) TookOver() *Holder {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tookOver
}

// Renew writes a new renewal time, if the lease is still this one's. An
// error wrapping ErrLost says another run took it over.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	next := l.holder
	next.RenewedAt = now
	next.Renewals++
	data, err := json.Marshal(next)
	if err != nil {
		return err
	}
	v, err := l.dir.ReplaceIf(ctx, l.name, data, l.version)
	if errors.Is(err, storage.ErrChanged) {
		return fmt.Errorf("%w: %s was changed by another run (it took it over, or removed it): %w", ErrLost, l.dir.URI(l.name), err)
	}
	if err != nil {
		return fmt.Errorf("renewing the lease %s: %w", l.dir.URI(l.name), err)
	}
	l.holder, l.version, l.renewedAt = next, v, now
	return nil
}

// Keep renews the lease every interval until ctx ends. When it is lost (a
// renewal finds it taken over, or renewals fail until another run could
// think it stale) it calls lost once and returns.
func (l *Lease) Keep(ctx context.Context, lost func(error)) {
	staleAfter := StaleIntervals * l.opts.Interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.opts.Clock.After(l.opts.Interval):
		}
		err := l.Renew(ctx)
		if err == nil || ctx.Err() != nil {
			continue
		}
		l.mu.Lock()
		since := l.opts.Clock.Now().Sub(l.renewedAt)
		l.mu.Unlock()
		if !errors.Is(err, ErrLost) && since < staleAfter-l.opts.Interval {
			l.opts.Logger.Warn("renewing the lease failed; trying again", "lease", l.dir.URI(l.name), "error", err)
			continue
		}
		if !errors.Is(err, ErrLost) {
			err = fmt.Errorf("%w: not renewed for %s, and another run may take it over after %s: %w", ErrLost,
				since.Round(time.Second), staleAfter, err)
		}
		lost(err)
		return
	}
}

// Release removes the lease file, if it is still this one's.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, v, err := l.dir.GetVersion(ctx, l.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("releasing the lease %s: %w", l.dir.URI(l.name), err)
	case v != l.version:
		return nil // another run took it over: it is theirs to release
	}
	if err := l.dir.Remove(ctx, l.name); err != nil {
		return fmt.Errorf("releasing the lease %s: %w", l.dir.URI(l.name), err)
	}
	return nil
}
