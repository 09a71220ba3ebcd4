package ledger

import (
	"context"
	"fmt"

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

	// Counts, read after the source is exhausted. AlreadyFailed are the
	// records of AlreadyDone settled by an error row.
	OtherShards, AlreadyDone, AlreadyFailed, Duplicates int64
}

// NewFilter filters source for shard against ledger.
func NewFilter(source reader.Source, owner shard.Shard, ledger *Ledger, retryErrors bool) *Filter {
	return &Filter{source: source, shard: owner, ledger: ledger, retryErrors: retryErrors}
}

// Next returns the next record to process.
func (f *Filter) Next(ctx context.Context) (reader.Record, error) {
	for {
		rec, err := f.source.Next(ctx)
		if err != nil {
			return rec, err
		}
		if !f.shard.Owns(rec.ID) {
			f.OtherShards++
			continue
		}
		h := shard.HashID(rec.ID)
		state := f.ledger.state(h)
		if state&seenThisRun != 0 {
			if state&hasDuplicate != 0 {
				continue // its DuplicateID row is already written
			}
			f.Duplicates++
			f.ledger.mark(h, hasDuplicate)
			rec.Err = &DuplicateIDError{ID: rec.ID, Origin: rec.Origin}
			return rec, nil
		}
		f.ledger.mark(h, seenThisRun)
		if settled(state, f.retryErrors) {
			f.AlreadyDone++
			if state&hasOK == 0 {
				f.AlreadyFailed++
			}
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
