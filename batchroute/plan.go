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
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Prepare loads the state, or when there is none plans it: every record
// of records (already filtered to this shard and to what the output does
// not settle) with a valid request is staged into a part of its model.
// Then every part big enough for a job is submitted, with a client request
// token of its own, so a part submitted before a crash is not submitted
// twice. Records that cannot be staged (broken records, requests that do
// not build) are left to the on-demand pass, which writes their error rows.
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
	if state == nil {
		if state, err = r.plan(ctx, records, builder, cfg); err != nil {
			return err
		}
		r.state = state
		if err := r.saveState(ctx); err != nil {
			return err
		}
	}
	r.state = state
	for i := range state.Parts {
		p := &state.Parts[i]
		if p.OnDemand {
			continue
		}
		err := r.jobs.Inputs(ctx, p, func(id string, _ json.RawMessage) error {
			r.owned[hashID(id)] = struct{}{}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading the staged part %s: %w", p.Name, err)
		}
	}
	return r.submit(ctx)
}

// plan stages the records into parts.
func (r *Route) plan(ctx context.Context, records reader.Source, builder pipeline.Builder, cfg batchinfer.Config) (*batchinfer.State, error) {
	stager := batchinfer.NewStager(r.store, cfg)
	meta := &metadataWriter{store: r.store, runKey: cfg.RunKey, files: make(map[string]storage.Object)}
	seen := make(map[uint64]struct{})
	staged := 0
	for {
		rec, err := records.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			stager.Abort()
			meta.abort()
			return nil, err
		}
		if rec.Err != nil {
			continue
		}
		h := hashID(rec.ID)
		if _, dup := seen[h]; dup {
			continue // the on-demand pass gives it its DuplicateID row
		}
		seen[h] = struct{}{}
		req, err := builder.Build(ctx, &rec)
		if err != nil {
			if ctx.Err() != nil {
				stager.Abort()
				meta.abort()
				return nil, ctx.Err()
			}
			continue
		}
		input, err := request.ModelInput(req)
		if err != nil {
			continue
		}
		if err := stager.Add(ctx, rec.ID, req.ModelID, input); err != nil {
			stager.Abort()
			meta.abort()
			return nil, fmt.Errorf("staging record %s: %w", rec.ID, err)
		}
		if err := meta.add(ctx, req.ModelID, rec.ID, rec.Metadata); err != nil {
			stager.Abort()
			meta.abort()
			return nil, fmt.Errorf("staging the metadata of record %s: %w", rec.ID, err)
		}
		staged++
	}
	if err := meta.commit(); err != nil {
		stager.Abort()
		meta.abort()
		return nil, fmt.Errorf("staging metadata: %w", err)
	}
	parts, err := stager.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	jobs := 0
	for _, p := range parts {
		if !p.OnDemand {
			jobs++
		}
	}
	r.opts.Logger.Info("batch inference: staged", "records", staged, "parts", len(parts), "jobs", jobs)
	return &batchinfer.State{RunKey: cfg.RunKey, Parts: parts}, nil
}

// submit submits every part that is meant for a job and has none yet,
// saving the state after each, so its ARN survives a crash.
func (r *Route) submit(ctx context.Context) error {
	for i := range r.state.Parts {
		r.mu.Lock()
		p := r.state.Parts[i]
		r.mu.Unlock()
		if p.OnDemand || p.JobARN != "" {
			continue
		}
		if err := r.jobs.Submit(ctx, &p); err != nil {
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
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
