package batchroute

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bedrock-batch/bedrock-batch/internal/idset"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// OnDemand is the run's on-demand source: the input (filtered to this
// shard and what the output does not settle) without the records a job
// owns, then the records jobs left, until every job is collected.
func (r *Route) OnDemand(input reader.Source, stop <-chan struct{}) reader.Source {
	return &onDemand{route: r, input: input, stop: stop}
}

type onDemand struct {
	route     *Route
	input     reader.Source
	inputDone bool
	read      int64 // records read without error
	stop      <-chan struct{}
}

func (o *onDemand) Next(ctx context.Context) (reader.Record, error) {
	for !o.inputDone {
		rec, err := o.input.Next(ctx)
		if errors.Is(err, io.EOF) {
			o.inputDone = true
			if err := o.route.inputRead(o.read); err != nil {
				return reader.Record{}, err
			}
			break
		}
		if err != nil {
			return rec, err
		}
		if rec.Err == nil {
			o.read++
			if o.route.Owns(rec.ID) {
				continue // a job's, not ours
			}
		}
		return rec, nil
	}
	r := o.route
	for {
		r.mu.Lock()
		if len(r.fallback) > 0 {
			rec := r.fallback[0]
			r.fallback[0] = reader.Record{}
			r.fallback = r.fallback[1:]
			r.mu.Unlock()
			return rec, nil
		}
		if r.done {
			r.mu.Unlock()
			return reader.Record{}, io.EOF
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-o.stop:
			return reader.Record{}, io.EOF
		case <-ctx.Done():
			return reader.Record{}, ctx.Err()
		}
	}
}

// inputRead drops the sets of which records jobs own once the on-demand
// pass has read the input, the only reader of them (16 MB at a million
// records when re-attached). A plan of this run checks the pass read what
// it read: a record added to the inputs between the two would be skipped
// as a job's, and so the run stops instead (run again: a re-attached route
// checks every record against the staged parts).
func (r *Route) inputRead(read int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	planned, expect := r.planned, r.expect
	r.owned, r.left, r.planned = idset.Set{}, idset.Set{}, false
	if planned && read != expect {
		return fmt.Errorf("batch inference: the inputs changed while the run read them: the plan read %d records, the on-demand pass %d; run the same command again to finish", expect, read)
	}
	return nil
}

// Answered reads the rows Run sends, for the pipeline to write.
func Answered(rows <-chan *writer.Row) *AnsweredRows { return &AnsweredRows{rows: rows} }

// AnsweredRows is a pipeline.RowSource over the rows of collected jobs.
type AnsweredRows struct{ rows <-chan *writer.Row }

// NextRow returns the next answered row, io.EOF when Run is over.
func (a *AnsweredRows) NextRow(ctx context.Context) (*writer.Row, error) {
	select {
	case row, ok := <-a.rows:
		if !ok {
			return nil, io.EOF
		}
		return row, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
