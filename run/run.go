// Package run owns one run of a job from start to end: Open checks what it
// can before any paid call and reads what the output already holds; Run,
// DryRun or Validate does the work; Close writes the manifest. Every
// goroutine of a run (the pipeline, the batch-inference route, the
// sibling-shard watcher, progress and the signal handler) is started and
// waited for here, on an injected clock.
package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bedrock-batch/bedrock-batch/accountquota"
	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/clock"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/lease"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/prices"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Deps are the parts a run talks to. The caller makes them: cmd/batch from
// the AWS configuration, tests from emulators.
type Deps struct {
	// Model is Bedrock Runtime.
	Model pipeline.Model
	// Control is the Bedrock control plane, for the batch-inference route.
	Control batchinfer.Control
	// Storage opens the inputs, the output, the staging prefix and media.
	Storage *storage.Router
	// Region and Credentials are what the AWS configuration resolved;
	// Open checks both before any paid call. A nil Credentials is not
	// checked (tests).
	Region      string
	Credentials aws.CredentialsProvider
	// Catalog is the Bedrock control plane's list of models, to check the
	// run's models are not past their end of life and to name the models
	// the account's quotas speak of; nil checks nothing and reads only the
	// shipped names.
	Catalog Catalog
	// Logger gets what the run has to say; nil discards it.
	Logger *slog.Logger
	// Progress gets a live progress line when Terminal is set; otherwise
	// progress is logged.
	Progress io.Writer
	Terminal bool
	// Signals stop the run: the first makes it take no new records and
	// let calls in flight finish within Config.Grace; the second, or the
	// end of the grace, abandons them. Nil: only ctx stops it.
	Signals <-chan os.Signal
	// Clock is the clock of every interval a run keeps; nil is the real
	// clock.
	Clock clock.Clock
	// ProgressInterval is how often progress is shown (default 10 s, or
	// 250 ms on a terminal); SiblingInterval how often a shard looks for
	// siblings that finished (default 15 s).
	ProgressInterval, SiblingInterval time.Duration
	// Quotas reads the account's quotas from Service Quotas when the run
	// opens (Catalog names the models they use); without it none are read.
	Quotas accountquota.Lister
	// ReadOnly opens the output for a dry run or a validation: no lease is
	// taken and nothing is removed. LeaseInterval is how often the lease
	// is renewed (default 10 s). SpoolDir is where rows the output could
	// not take are kept on this machine (default: the user's cache
	// directory).
	ReadOnly      bool
	LeaseInterval time.Duration
	SpoolDir      string
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Progress == nil {
		d.Progress = io.Discard
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.ProgressInterval <= 0 {
		d.ProgressInterval = 10 * time.Second
		if d.Terminal {
			d.ProgressInterval = 250 * time.Millisecond
		}
	}
	if d.SiblingInterval <= 0 {
		d.SiblingInterval = 15 * time.Second
	}
	if d.Storage == nil {
		d.Storage = storage.NewRouter(nil)
	}
	if d.SpoolDir == "" {
		d.SpoolDir = defaultSpoolDir()
	}
	return d
}

// Run is one run of a job, opened.
type Run struct {
	cfg     *config.Config
	deps    Deps
	started time.Time

	prices  *prices.Prices
	inputs  []reader.Input
	out     storage.Dir
	ledger  *ledger.Ledger
	setup   *requestSetup
	limiter *ratelimit.Models
	quotas  *runQuotas // the account's, read at Open

	// options is the record of the answer options to write, nil when the
	// output already holds it.
	options *optionsRecord
	// checkedModels are the models whose lifecycle was looked up.
	checkedModels     map[string]bool
	catalogUnreadable bool

	// Set by Run, for Close.
	ran      bool
	manifest *manifest.Manifest

	// The run's id, and its lease on the output shard (nil when read only).
	runID     string
	lease     *lease.Lease
	leaseMu   sync.Mutex
	leaseLost error
}

// Open checks the job against everything that can be checked before a
// paid call (prices, inputs, the output writable, the request options)
// and reads what the output already holds, removing what a killed run of
// the same shard left half written.
func Open(ctx context.Context, cfg *config.Config, deps Deps) (*Run, error) {
	deps = deps.withDefaults()
	r := &Run{cfg: cfg, deps: deps, started: deps.Clock.Now(), checkedModels: map[string]bool{}}
	if err := r.checkAWS(ctx); err != nil {
		return nil, err
	}
	var err error
	if r.prices, err = prices.LoadPrices(cfg.PricesFile); err != nil {
		return nil, setup(err)
	}
	if r.inputs, err = r.expandInputs(ctx); err != nil {
		return nil, setup(err)
	}
	if r.out, err = deps.Storage.Dir(ctx, cfg.Output); err != nil {
		return nil, setup(err)
	}
	if err := storage.CheckWritable(ctx, r.out); err != nil {
		return nil, setup(err)
	}
	if err := r.checkStaging(ctx); err != nil {
		return nil, setup(err)
	}
	r.runID = manifest.NewRunID(r.started)
	if err := r.takeLease(ctx); err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			r.releaseLease(context.WithoutCancel(ctx))
		}
	}()
	if r.options, err = r.checkOptions(ctx); err != nil {
		return nil, err
	}
	if r.ledger, err = openLedger(ctx, r.out, cfg, r.lease != nil); err != nil {
		return nil, err
	}
	if r.setup, err = setUpRequests(cfg, deps.Storage); err != nil {
		return nil, setup(err)
	}
	r.quotas = readQuotas(ctx, cfg, deps)
	if r.limiter, err = newLimiter(cfg, r.quotas); err != nil {
		return nil, setup(err)
	}
	if err := r.checkModels(ctx, append([]string{cfg.ModelID}, cfg.QuotaModels()...)); err != nil {
		return nil, err
	}
	opened = true
	return r, nil
}

// expandInputs turns the configured inputs (files, globs, S3 keys,
// prefixes and globs) into the files to read, each with its format.
func (r *Run) expandInputs(ctx context.Context) ([]reader.Input, error) {
	paths, err := r.deps.Storage.Expand(ctx, r.cfg.Inputs)
	if err != nil {
		return nil, err
	}
	inputs := make([]reader.Input, len(paths))
	for i, p := range paths {
		inputs[i] = reader.Input{Path: p, Format: reader.Format(r.cfg.InputFormat)}
		if inputs[i].Format == "" {
			format, err := reader.FormatOf(p)
			if err != nil {
				return nil, fmt.Errorf("%w (use --input-format)", err)
			}
			inputs[i].Format = format
		}
	}
	return inputs, nil
}

// openLedger removes what a killed earlier run of this shard left half
// written (only while holding the lease: no live run of the shard writes
// then) and reads what the output already holds.
func openLedger(ctx context.Context, out storage.Dir, cfg *config.Config, leased bool) (*ledger.Ledger, error) {
	if leased {
		names, err := out.List(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, name := range ledger.Stale(names, cfg.Shard) {
			if err := out.Remove(ctx, name); err != nil {
				return nil, err
			}
		}
	}
	return ledger.Scan(ctx, out, cfg.Shard)
}

// Close writes the manifest of a run that ran, and returns it; after
// DryRun or Validate there is none.
func (r *Run) Close(ctx context.Context) (*manifest.Manifest, error) {
	ctx = context.WithoutCancel(ctx)
	defer r.releaseLease(ctx)
	if !r.ran {
		return nil, nil
	}
	if err := manifest.Write(ctx, r.out, r.manifest); err != nil {
		return r.manifest, err
	}
	return r.manifest, nil
}

// defaultSpoolDir is the user's cache directory's, or the temporary
// directory's when there is none.
func defaultSpoolDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "bedrock-batch", "spool")
	}
	return filepath.Join(os.TempDir(), "bedrock-batch-spool")
}

// Output is the output's location, for messages.
func (r *Run) Output() storage.Dir { return r.out }
