package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/shard"
)

// Filter passes on the records this run must process: those of its shard
// that the output does not already settle. A record whose id an earlier
// record of the run already used comes out with a DuplicateIDError, so it
// gets an error row and the first record keeps the id.
type Filter struct {
	source      reader.Source
	shard       shard.Shard
	ledger      *Ledger
	retryErrors bool

	counts FilterCounts
	mu     sync.Mutex // guards counts: progress reads them while the run reads records
}

// NewFilter filters source for shard against ledger.
func NewFilter(source reader.Source, owner shard.Shard, ledger *Ledger, retryErrors bool) *Filter {
	return &Filter{source: source, shard: owner, ledger: ledger, retryErrors: retryErrors}
}

// FilterCounts are what a Filter passed over: records of other shards,
// records the output already settles (AlreadyFailed of them by an error
// row), and duplicate ids. Exhausted says the source has ended, so the
// counts are final.
type FilterCounts struct {
	OtherShards, AlreadyDone, AlreadyFailed, Duplicates int64
	Exhausted                                           bool
}

// Counts are the counts so far; safe to call while Next runs.
func (f *Filter) Counts() FilterCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts
}

func (f *Filter) count(change func(*FilterCounts)) {
	f.mu.Lock()
	change(&f.counts)
	f.mu.Unlock()
}

// Next returns the next record to process.
func (f *Filter) Next(ctx context.Context) (reader.Record, error) {
	for {
		rec, err := f.source.Next(ctx)
		if errors.Is(err, io.EOF) {
			f.count(func(c *FilterCounts) { c.Exhausted = true })
		}
		if err != nil {
			return rec, err
		}
		if !f.shard.Owns(rec.ID) {
			f.count(func(c *FilterCounts) { c.OtherShards++ })
			continue
		}
		h := shard.HashID(rec.ID)
		state := f.ledger.state(h)
		if state&seenThisRun != 0 {
			if state&hasDuplicate != 0 {
				continue // its DuplicateID row is already written
			}
			f.count(func(c *FilterCounts) { c.Duplicates++ })
			f.ledger.mark(h, hasDuplicate)
			rec.Err = &DuplicateIDError{ID: rec.ID, Origin: rec.Origin}
			return rec, nil
		}
		f.ledger.mark(h, seenThisRun)
		if settled(state, f.retryErrors) {
			f.count(func(c *FilterCounts) {
				c.AlreadyDone++
				if state&hasOK == 0 {
					c.AlreadyFailed++
				}
			})
			continue
		}
		return rec, nil
	}
}

// DuplicateIDError says a record reuses an id an earlier record of the
// same input already has.
type DuplicateIDError struct {
	ID     string
	Origin reader.Origin
}

func (e *DuplicateIDError) Error() string {
	return fmt.Sprintf("%s: id %q is already used by an earlier record; this record is not sent", e.Origin, e.ID)
}

// ErrorType is the row's error_type.
func (e *DuplicateIDError) ErrorType() string { return ErrorTypeDuplicateID }

// Settled reports whether the output already settles id (an ok row, or an
// error row unless retryErrors), without marking it seen: for a pass over
// the input that only plans, before the run's real pass.
func (l *Ledger) Settled(id string, retryErrors bool) bool {
	return settled(l.state(shard.HashID(id)), retryErrors)
}
