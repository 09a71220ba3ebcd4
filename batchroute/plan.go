package batchroute

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/internal/idset"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
)

// Prepare loads the state, or when there is none plans it: every record
// of records (already filtered to this shard and to what the output does
// not settle) with a valid request is staged into a part of its model.
// Then the parts big enough for a job are submitted, as many per model as
// its job quota allows (the rest when jobs finish), each with a client
// request token of its own, so a part submitted before a crash is not
// submitted twice. Records that cannot be staged (broken records, requests
// that do not build) are left to the on-demand pass, which writes their
// error rows.
func (r *Route) Prepare(ctx context.Context, records reader.Source, builder pipeline.Builder) error {
	state, err := r.loadState(ctx)
	if err != nil {
		return err
	}
	cfg := r.opts.Batch
	if state != nil {
		cfg.RunKey = state.RunKey
		r.opts.Logger.Info("batch inference: re-attaching to the run's parts", "state", r.opts.StateName, "parts", len(state.Parts))
	} else {
		// A new plan gets a key of its own: a plan killed before its state
		// was written submitted nothing, and its staged files are left.
		cfg.RunKey = cfg.RunKey + "-" + randomHex(3)
	}
	r.jobs = batchinfer.NewJobs(r.control, r.store, cfg)
	planned := state == nil
	if planned {
		if state, err = r.plan(ctx, records, builder, cfg); err != nil {
			return err
		}
		r.state = state
		if err := r.saveState(ctx); err != nil {
			return err
		}
	}
	r.state = state
	r.planned = planned
	for i := range state.Parts {
		p := &state.Parts[i]
		if planned && !p.OnDemand {
			continue // owned: the plan left out only what it did not stage
		}
		err := r.jobs.Inputs(ctx, p, func(id string, _ json.RawMessage) error {
			h := hashID(id)
			switch {
			case p.OnDemand && r.opts.NoOnDemand:
				r.owned.Add(h) // a tail under the minimum, and nothing goes on demand
				if !r.settled(id) {
					r.unanswered++
				}
			case p.OnDemand && planned:
				r.left.Add(h) // a tail under the minimum: the on-demand pass's
			case p.OnDemand:
				r.owned.Or(h, idTail)
			default:
				r.owned.Add(h)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading the staged part %s: %w", p.Name, err)
		}
	}
	if r.unanswered > 0 {
		r.opts.Logger.Warn("batch inference: --no-on-demand: records too few for a job keep no row", "records", r.unanswered)
	}
	return r.submit(ctx)
}

// plan stages the records into parts, and their metadata beside them.
func (r *Route) plan(ctx context.Context, records reader.Source, builder pipeline.Builder, cfg batchinfer.Config) (*batchinfer.State, error) {
	stager := batchinfer.NewStager(r.store, cfg)
	meta := newMetadataWriter(r.store)
	abort := func() {
		stager.Abort()
		meta.abort()
	}
	// seen finds the repeats of an id, left for the on-demand pass to give
	// their DuplicateID rows; it is dropped when the plan ends.
	var seen idset.Set
	staged := 0
	for {
		rec, err := records.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			abort()
			return nil, err
		}
		if rec.Err != nil {
			continue
		}
		h := hashID(rec.ID)
		if seen.Has(h) {
			continue // the on-demand pass gives it its DuplicateID row
		}
		seen.Add(h)
		r.expect++
		req, err := builder.Build(ctx, &rec)
		if err != nil {
			if ctx.Err() != nil {
				abort()
				return nil, ctx.Err()
			}
			r.left.Add(h) // its error row is the on-demand pass's
			continue
		}
		input, err := request.ModelInput(req)
		if err != nil {
			r.left.Add(h)
			continue
		}
		if err := stager.Add(ctx, rec.ID, req.ModelID, input); err != nil {
			abort()
			return nil, fmt.Errorf("staging record %s: %w", rec.ID, err)
		}
		if err := meta.add(ctx, req.ModelID, stager.Current(req.ModelID), rec.ID, rec.Metadata); err != nil {
			abort()
			return nil, fmt.Errorf("staging the metadata of record %s: %w", rec.ID, err)
		}
		staged++
	}
	if err := meta.commit(); err != nil {
		abort()
		return nil, fmt.Errorf("staging metadata: %w", err)
	}
	parts, err := stager.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	jobs := 0
	for i := range parts {
		parts[i].Meta = meta.nameOf(parts[i].Name)
		if !parts[i].OnDemand {
			jobs++
		}
	}
	r.opts.Logger.Info("batch inference: staged", "records", staged, "parts", len(parts), "jobs", jobs)
	return &batchinfer.State{RunKey: cfg.RunKey, Parts: parts}, nil
}

// submit submits the parts meant for a job that have none yet, as many
// per model as its job quota leaves room for, saving the state after each
// so its ARN survives a crash. A part refused as too large for a job is
// split into halves, which wait their turn; a job quota Bedrock says is
// full waits for a job to finish. Either way nothing goes on demand. After
// the deadline stopped the jobs nothing more is submitted.
func (r *Route) submit(ctx context.Context) error {
	full := map[string]bool{} // models whose jobs fill their quota for now
	for i := 0; ; i++ {
		r.mu.Lock()
		if i >= len(r.state.Parts) || r.stopped {
			r.mu.Unlock()
			return nil
		}
		p := r.state.Parts[i]
		r.mu.Unlock()
		if p.OnDemand || p.JobARN != "" || full[p.Model] {
			continue
		}
		if most := r.opts.Batch.Limits(p.Model).MaxJobs; most > 0 && r.activeJobs(p.Model) >= most {
			full[p.Model] = true
			continue
		}
		err := r.jobs.Submit(ctx, &p)
		switch {
		case errors.Is(err, batchinfer.ErrJobQuota):
			full[p.Model] = true
			r.opts.Logger.Info("batch inference: the account's job quota is full; the part waits for a job to finish", "model", p.Model, "part", p.Name)
			continue
		case errors.Is(err, batchinfer.ErrTooLarge):
			if err := r.split(ctx, i, err.Error()); err != nil {
				return err
			}
			i-- // the halves now stand at i
			continue
		case err != nil:
			return fmt.Errorf("submitting the job of %s: %w", p.Name, err)
		}
		r.mu.Lock()
		r.state.Parts[i] = p
		r.mu.Unlock()
		r.opts.Logger.Info("batch inference: job submitted", "model", p.Model, "records", p.Records, "job", p.JobARN)
		if err := r.saveState(ctx); err != nil {
			return err
		}
	}
}

// activeJobs counts the model's parts with a job not yet finished.
func (r *Route) activeJobs(model string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.state.Parts {
		if p.Model == model && p.JobARN != "" && !batchinfer.Finished(p.Status) {
			n++
		}
	}
	return n
}

// split replaces part i, refused as too large for a job (why), by halves
// of it, staged anew, and saves the state. Halves under the minimum are
// on-demand parts, as a plan's tail.
func (r *Route) split(ctx context.Context, i int, why string) error {
	r.mu.Lock()
	p := r.state.Parts[i]
	r.mu.Unlock()
	halves, err := r.jobs.Split(ctx, &p, r.state.RunKey+"-split-"+randomHex(3))
	if err != nil {
		return err
	}
	r.opts.Logger.Warn("batch inference: a job was refused as too large; splitting it and submitting the halves",
		"model", p.Model, "part", p.Name, "records", p.Records, "halves", len(halves), "reason", why)
	var tail []reader.Record
	for h := range halves {
		if halves[h].OnDemand {
			recs, err := r.recordsOf(ctx, &halves[h], nil)
			if err != nil {
				return err
			}
			tail = append(tail, recs...)
		}
	}
	r.mu.Lock()
	parts := append(append(append([]batchinfer.Part(nil), r.state.Parts[:i]...), halves...), r.state.Parts[i+1:]...)
	r.state.Parts = parts
	delete(r.collect, p.Name)
	r.mu.Unlock()
	if err := r.sendOnDemand(ctx, &p, tail, false); err != nil {
		return err
	}
	return r.saveState(ctx)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
