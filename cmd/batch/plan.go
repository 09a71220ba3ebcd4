package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/bedrock"

	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// inputSurvey is what reading (some of) the inputs found.
type inputSurvey struct {
	records, invalid, duplicates int64
	inputTokens                  int64 // of the valid records
	exact                        bool  // inputTokens counted by CountTokens, not estimated
	firstErrors                  []string
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
	s := &inputSurvey{}
	counting, countCtx := errgroup.WithContext(ctx)
	counting.SetLimit(max(concurrency, 1))
	var counted atomic.Int64
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
			} else {
				s.invalid++
			}
			if len(s.firstErrors) < 5 {
				s.firstErrors = append(s.firstErrors, rec.Err.Error())
			}
			continue
		}
		req := run.Request(&rec)
		if counter == nil {
			s.inputTokens += pipeline.EstimateInputTokens(req)
			continue
		}
		counting.Go(func() error {
			n, err := counter.CountTokens(countCtx, req)
			if err != nil {
				return fmt.Errorf("CountTokens for record %s: %w", rec.ID, err)
			}
			counted.Add(n)
			return nil
		})
	}
	if err := counting.Wait(); err != nil {
		return nil, err
	}
	s.inputTokens += counted.Load()
	s.exact = counter != nil
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
	output := int64(pipeline.DefaultOutputReservation)
	if cfg.MaxTokens != nil {
		output = int64(*cfg.MaxTokens)
	}
	maxOutput := sent * output
	how := "about %d (estimated at 4 bytes a token)"
	if s.exact {
		how = "%d (counted by Bedrock CountTokens)"
	}
	fmt.Fprintf(w, "input tokens "+how+"; output at most %d (%d records x max tokens %d)\n",
		s.inputTokens, maxOutput, sent, output)
	if price, ok := prices.Lookup(cfg.ModelID); ok {
		low := price.Cost(jobs.Tokens{Input: s.inputTokens})
		high := price.Cost(jobs.Tokens{Input: s.inputTokens, Output: maxOutput})
		fmt.Fprintf(w, "estimated cost: $%.4f for the input, at most $%.4f with every output at max tokens (%s)\n", low, high, cfg.ModelID)
	} else {
		fmt.Fprintf(w, "estimated cost: unknown, no price for %s (give --prices FILE)\n", cfg.ModelID)
	}
	minutes := 0.0
	if cfg.RequestsPerMinute > 0 {
		minutes = float64(sent) / float64(cfg.RequestsPerMinute)
	}
	if cfg.TokensPerMinute > 0 {
		// Settled usage is input plus real output; with output unknown,
		// count half the maximum.
		minutes = math.Max(minutes, float64(s.inputTokens+maxOutput/2)/float64(cfg.TokensPerMinute))
	}
	if minutes > 0 {
		fmt.Fprintf(w, "time at the given limits: about %s\n", (time.Duration(minutes * float64(time.Minute))).Round(time.Second))
	} else {
		fmt.Fprintln(w, "time: no --rpm/--tpm given, so it depends on the quota found while running")
	}
}

// describe prints what a run would do.
func describe(w io.Writer, cfg *jobs.Config, inputs []reader.Input, out *outputLocation, ledger *jobs.Ledger) {
	fmt.Fprintf(w, "model %s, %d input files, output %s (%s), shard %s, concurrency %d, limits rpm %d tpm %d\n",
		cfg.ModelID, len(inputs), out.String(), cfg.OutputFormat, cfg.Shard, cfg.Concurrency, cfg.RequestsPerMinute, cfg.TokensPerMinute)
	for _, in := range inputs {
		fmt.Fprintf(w, "  input %s (%s)\n", in.Path, in.Format)
	}
	if ledger.Totals.Records > 0 {
		fmt.Fprintf(w, "the output already holds %d rows of this shard (%d ok, %d error): a run resumes\n",
			ledger.Totals.Records, ledger.Totals.OK, ledger.Totals.Error)
	}
}
