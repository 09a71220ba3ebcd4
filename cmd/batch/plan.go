package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// inputSurvey is what reading (some of) the inputs found.
type inputSurvey struct {
	records, invalid, duplicates int64
	exact                        bool // input tokens counted by CountTokens, not estimated
	firstErrors                  []string

	mu     sync.Mutex
	models map[string]*modelSurvey // the valid records, by model
}

// modelSurvey is what the valid records of one model would send.
type modelSurvey struct {
	records, inputTokens, maxOutput int64
}

func (s *inputSurvey) add(model string, input, maxOutput int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models == nil {
		s.models = make(map[string]*modelSurvey)
	}
	m := s.models[model]
	if m == nil {
		m = &modelSurvey{}
		s.models[model] = m
	}
	m.records++
	m.inputTokens += input
	m.maxOutput += maxOutput
}

func (s *inputSurvey) invalidRecord(err error) {
	s.invalid++
	if len(s.firstErrors) < 5 {
		s.firstErrors = append(s.firstErrors, err.Error())
	}
}

// tokenCounter counts a request's input tokens exactly (Bedrock's
// CountTokens).
type tokenCounter interface {
	CountTokens(ctx context.Context, req *bedrock.Request) (int64, error)
}

// survey reads up to limit records (all when limit is 0) from source and
// builds each one's request with run, calling no model. With a counter,
// input tokens are counted exactly, concurrency calls at a time; without,
// estimated.
func survey(ctx context.Context, source pipeline.Source, run *pipeline.Run, limit int64, counter tokenCounter, concurrency int) (*inputSurvey, error) {
	s := &inputSurvey{exact: counter != nil}
	counting, countCtx := errgroup.WithContext(ctx)
	counting.SetLimit(max(concurrency, 1))
	defer counting.Wait()
	for limit == 0 || s.records < limit {
		rec, err := source.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		s.records++
		if rec.Err != nil {
			var dup *jobs.DuplicateIDError
			if errors.As(rec.Err, &dup) {
				s.duplicates++
				continue
			}
			s.invalidRecord(rec.Err)
			continue
		}
		req, err := run.Request(ctx, &rec)
		if err != nil {
			s.invalidRecord(err)
			continue
		}
		maxOutput := ratelimit.DefaultMaxOutput(req.ModelID)
		if req.Inference.MaxTokens != nil {
			maxOutput = int64(*req.Inference.MaxTokens)
		}
		if counter == nil {
			s.add(req.ModelID, pipeline.EstimateInputTokens(req), maxOutput)
			continue
		}
		counting.Go(func() error {
			n, err := counter.CountTokens(countCtx, req)
			if err != nil {
				return fmt.Errorf("CountTokens for record %s: %w", rec.ID, err)
			}
			s.add(req.ModelID, n, maxOutput)
			return nil
		})
	}
	if err := counting.Wait(); err != nil {
		return nil, err
	}
	return s, nil
}

// printDryRun says what the run would send, cost and take, without calling
// the model.
func printDryRun(w io.Writer, cfg *jobs.Config, s *inputSurvey, alreadyDone int64, prices *jobs.Prices) {
	sent := s.records - s.invalid - s.duplicates
	fmt.Fprintf(w, "dry run: %d records to send (%d invalid, %d duplicate ids, %d already done in the output)\n",
		sent, s.invalid, s.duplicates, alreadyDone)
	for _, e := range s.firstErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	how := "estimated at 4 bytes a token"
	if s.exact {
		how = "counted by Bedrock CountTokens"
	}
	ids := make([]string, 0, len(s.models))
	for id := range s.models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var low, high float64
	priced := true
	minutes := 0.0
	for _, id := range ids {
		m := s.models[id]
		fmt.Fprintf(w, "%s: %d records, input tokens %d (%s); output at most %d (max tokens per record)\n",
			id, m.records, m.inputTokens, how, m.maxOutput)
		if price, ok := prices.Lookup(id); ok {
			low += price.Cost(jobs.Tokens{Input: m.inputTokens})
			high += price.Cost(jobs.Tokens{Input: m.inputTokens, Output: m.maxOutput})
		} else {
			priced = false
			fmt.Fprintf(w, "  no price for %s (give --prices FILE)\n", id)
		}
		// Each model has its own quota: the run takes as long as the
		// slowest model.
		mm := 0.0
		if cfg.RequestsPerMinute > 0 {
			mm = float64(m.records) / float64(cfg.RequestsPerMinute)
		}
		if cfg.TokensPerMinute > 0 {
			// Settled usage is input plus real output; with output unknown,
			// count half the maximum.
			mm = math.Max(mm, float64(m.inputTokens+m.maxOutput/2)/float64(cfg.TokensPerMinute))
		}
		minutes = math.Max(minutes, mm)
	}
	switch {
	case len(ids) == 0:
	case priced:
		fmt.Fprintf(w, "estimated cost: $%.4f for the input, at most $%.4f with every output at max tokens\n", low, high)
	default:
		fmt.Fprintf(w, "estimated cost: at least $%.4f for the input, at most $%.4f with every output at max tokens, for the priced models only\n", low, high)
	}
	if minutes > 0 {
		fmt.Fprintf(w, "time at the given limits: about %s\n", (time.Duration(minutes * float64(time.Minute))).Round(time.Second))
	} else {
		fmt.Fprintln(w, "time: no --rpm/--tpm given, so it depends on the quota found while running")
	}
}

// describe prints what a run would do.
func describe(w io.Writer, cfg *jobs.Config, inputs []reader.Input, out *outputLocation, ledger *jobs.Ledger) {
	fmt.Fprintf(w, "model %s, %d input files, output %s (%s), shard %s, concurrency %d, quota per model: %s\n",
		cfg.ModelID, len(inputs), out.String(), cfg.OutputFormat, cfg.Shard, cfg.Concurrency, quotaOf(cfg.QuotaFor("")))
	for _, id := range cfg.QuotaModels() {
		fmt.Fprintf(w, "  quota of %s: %s\n", id, quotaOf(cfg.QuotaFor(id)))
	}
	for _, in := range inputs {
		fmt.Fprintf(w, "  input %s (%s)\n", in.Path, in.Format)
	}
	if ledger.Totals.Records > 0 {
		fmt.Fprintf(w, "the output already holds %d rows of this shard (%d ok, %d error): a run resumes\n",
			ledger.Totals.Records, ledger.Totals.OK, ledger.Totals.Error)
	}
}

// preflight prints what the rules table says about the job's options for
// each model the records use, and returns how many problems it found.
func preflight(w io.Writer, cfg *jobs.Config, s *inputSurvey) int {
	models := []string{cfg.ModelID}
	for id := range s.models {
		if id != cfg.ModelID {
			models = append(models, id)
		}
	}
	sort.Strings(models[1:])
	problems, notes := jobs.Preflight(cfg, models)
	for _, p := range problems {
		fmt.Fprintf(w, "preflight problem: %s\n", p)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "preflight note: %s\n", n)
	}
	return len(problems)
}
