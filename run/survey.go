package run

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

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/prices"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// validateSample is how many records Validate parses.
const validateSample = 1000

// Survey is what reading (some of) the inputs found, without calling the
// model: what a run would send, and what the options would meet.
type Survey struct {
	Records, Invalid, Duplicates int64
	// AlreadyDone counts records the output already settles.
	AlreadyDone int64
	// Exact says input tokens were counted by CountTokens, not estimated.
	Exact       bool
	FirstErrors []string
	// Models holds the valid records by model.
	Models map[string]*ModelSurvey
	// Problems the options would meet, and notes, from the model rules.
	Problems, Notes []string

	mu        sync.Mutex
	cfg       *config.Config
	prices    *prices.Prices
	inputs    []reader.Input
	out       storage.Dir
	ledger    tally.Totals
	quotas    *runQuotas
	limiter   *ratelimit.Models
	validated bool
}

// ModelSurvey is what the valid records of one model would send.
type ModelSurvey struct {
	Records, InputTokens, MaxOutput int64
}

// OK reports whether the survey found nothing that stops the job: no
// problem with the options, and (for Validate) no invalid record.
func (s *Survey) OK() bool {
	return len(s.Problems) == 0 && (!s.validated || s.Invalid == 0)
}

// SetupProblems reports whether the options meet problems no run gets
// past (the model rules, a retired model), as opposed to invalid records,
// which a run writes error rows for.
func (s *Survey) SetupProblems() bool { return len(s.Problems) > 0 }

// DryRun reads and checks every record and estimates input tokens (or,
// with --count-tokens, counts them with Bedrock's free CountTokens), cost
// and time, calling no model.
func (r *Run) DryRun(ctx context.Context) (*Survey, error) {
	var counter pipeline.Counter
	if c, ok := r.deps.Model.(pipeline.Counter); ok && r.cfg.CountTokens {
		counter = c
	}
	return r.survey(ctx, 0, counter)
}

// Validate checks a sample of the records (the first 1,000) and the
// options against the model rules, calling no model.
func (r *Run) Validate(ctx context.Context) (*Survey, error) {
	s, err := r.survey(ctx, validateSample, nil)
	if s != nil {
		s.validated = true
	}
	return s, err
}

// survey reads up to limit records (all when limit is 0) and builds each
// one's request. With a counter, input tokens are counted exactly,
// Concurrency calls at a time; without, estimated.
func (r *Run) survey(ctx context.Context, limit int64, counter pipeline.Counter) (*Survey, error) {
	files := reader.OpenFilesWith(r.deps.Storage, r.inputs).WithOptions(r.setup.reader)
	defer files.Close()
	source := ledger.NewFilter(files, r.cfg.Shard, r.ledger, r.cfg.RetryErrors)
	s := &Survey{Exact: counter != nil, Models: map[string]*ModelSurvey{},
		cfg: r.cfg, prices: r.prices, inputs: r.inputs, out: r.out, ledger: r.ledger.Totals, quotas: r.quotas,
		limiter: r.limiter}
	counting, countCtx := errgroup.WithContext(ctx)
	counting.SetLimit(max(r.cfg.Concurrency, 1))
	defer counting.Wait()
	for limit == 0 || s.Records < limit {
		rec, err := source.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		s.Records++
		if rec.Err != nil {
			var dup *ledger.DuplicateIDError
			if errors.As(rec.Err, &dup) {
				s.Duplicates++
				continue
			}
			s.invalidRecord(rec.Err)
			continue
		}
		req, err := r.setup.builder.Build(ctx, &rec)
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
	s.AlreadyDone = source.Counts().AlreadyDone
	models := []string{r.cfg.ModelID}
	for id := range s.Models {
		if id != r.cfg.ModelID {
			models = append(models, id)
		}
	}
	sort.Strings(models[1:])
	s.Problems, s.Notes = Preflight(r.cfg, models)
	if err := r.checkModels(ctx, models); err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	return s, nil
}

func (s *Survey) add(model string, input, maxOutput int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.Models[model]
	if m == nil {
		m = &ModelSurvey{}
		s.Models[model] = m
	}
	m.Records++
	m.InputTokens += input
	m.MaxOutput += maxOutput
}

func (s *Survey) invalidRecord(err error) {
	s.Invalid++
	if len(s.FirstErrors) < 5 {
		s.FirstErrors = append(s.FirstErrors, err.Error())
	}
}

// Print says what the job is, what the options meet, and then what a run
// would send, cost and take (a dry run) or what the sample held
// (Validate).
func (s *Survey) Print(w io.Writer) {
	s.describe(w)
	for _, p := range s.Problems {
		fmt.Fprintf(w, "preflight problem: %s\n", p)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "preflight note: %s\n", n)
	}
	if s.validated {
		fmt.Fprintf(w, "validated: %d records read, %d invalid, %d duplicate ids\n", s.Records, s.Invalid, s.Duplicates)
		for _, e := range s.FirstErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	s.printEstimate(w)
}

// describe prints what a run would do.
func (s *Survey) describe(w io.Writer) {
	cfg := s.cfg
	// The model's quota as the run resolves it (flags, else Service
	// Quotas), not only what the flags give: the lines below say where
	// each limit of each model comes from.
	fmt.Fprintf(w, "model %s, %d input files, output %s (%s), shard %s, concurrency %d, quota: %s\n",
		cfg.ModelID, len(s.inputs), s.out.URI(""), cfg.OutputFormat, cfg.Shard, cfg.Concurrency, s.quotas.limits(cfg.ModelID).quota)
	s.describeLimits(w)
	for _, in := range s.inputs {
		fmt.Fprintf(w, "  input %s (%s)\n", in.Path, in.Format)
	}
	if s.ledger.Records > 0 {
		fmt.Fprintf(w, "the output already holds %d rows of this shard (%d ok, %d error): a run resumes\n",
			s.ledger.Records, s.ledger.OK, s.ledger.Error)
	}
}

// printEstimate says what the run would send, cost and take.
func (s *Survey) printEstimate(w io.Writer) {
	cfg := s.cfg
	sent := s.Records - s.Invalid - s.Duplicates
	fmt.Fprintf(w, "dry run: %d records to send (%d invalid, %d duplicate ids, %d already done in the output)\n",
		sent, s.Invalid, s.Duplicates, s.AlreadyDone)
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	how := "estimated at 4 bytes a token"
	if s.Exact {
		how = "counted by Bedrock CountTokens"
	}
	ids := make([]string, 0, len(s.Models))
	for id := range s.Models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var low, high float64
	priced := true
	minutes := 0.0
	for _, id := range ids {
		m := s.Models[id]
		fmt.Fprintf(w, "%s: %d records, input tokens %d (%s); output at most %d (max tokens per record)\n",
			id, m.Records, m.InputTokens, how, m.MaxOutput)
		if fit := s.limiter.Fit(id, ratelimit.Reservation{InputTokens: m.InputTokens / m.Records, MaxTokens: m.MaxOutput / m.Records}, cfg.Concurrency).String(); fit != "" {
			fmt.Fprintf(w, "  %s\n", fit)
		}
		if price, ok := s.prices.Lookup(id); ok {
			low += price.Cost(tally.Tokens{Input: m.InputTokens})
			high += price.Cost(tally.Tokens{Input: m.InputTokens, Output: m.MaxOutput})
		} else {
			priced = false
			fmt.Fprintf(w, "  no price for %s (give --prices FILE)\n", id)
		}
		// Each model has its own quota: the run takes as long as the
		// slowest model.
		mm := 0.0
		q := s.quotas.limits(id).quota
		if q.RequestsPerMinute > 0 {
			mm = float64(m.Records) / (float64(q.RequestsPerMinute) * cfg.Share())
		}
		if q.TokensPerMinute > 0 {
			// Settled usage is input plus real output; with output unknown,
			// count half the maximum.
			mm = math.Max(mm, float64(m.InputTokens+m.MaxOutput/2)/(float64(q.TokensPerMinute)*cfg.Share()))
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
		fmt.Fprintln(w, "time: no --rpm/--tpm given and none read from Service Quotas, so it depends on the quota found while running")
	}
}
