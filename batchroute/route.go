// Package batchroute is the batch-inference route (--route batch-inference
// or auto): it decides which records go to Bedrock batch-inference jobs, at
// about half the on-demand price, and which on demand (too few to make a
// job, failed by a job with a retryable error or never finished, or, with a
// deadline, not finished in time), and watches the jobs until every record
// has its row. Its rows go through the run's own pipeline and writer, and
// its state (parts and job ARNs) lives in an "_"-file of the output, so a
// killed run re-attaches to its jobs instead of submitting new ones.
package batchroute

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/clock"
	"github.com/bedrock-batch/bedrock-batch/internal/idset"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Settled reports whether the output already settles a record.
type Settled func(id string) bool

// Options configure a Route.
type Options struct {
	// Deadline, when set, is when every record must have its row: jobs
	// that could not be finished on demand in time after it are stopped.
	Deadline time.Time
	// Margin is kept free before the Deadline (default 5 minutes).
	Margin time.Duration
	// OnDemandTime estimates how long records of a part's model take on
	// demand (records of the part, its input bytes in proportion), and
	// says on what the estimate rests, for the log.
	OnDemandTime func(p *batchinfer.Part, records int) (time.Duration, string)
	// NoOnDemand sends nothing on demand: records no job answers keep no
	// row, and Run ends with an error counting them.
	NoOnDemand bool
	// StateName is the state file's name in the output.
	StateName string
	// RetryErrors sends records a job failed with any error on demand,
	// not only retryable ones.
	RetryErrors bool
	// Resubmit gives the records of a job that ended Failed or Expired (or
	// Stopped, not by the deadline) to one new job instead of on-demand,
	// when there are enough of them for a job.
	Resubmit bool
	Batch    batchinfer.Config
	Logger   *slog.Logger
	// Clock tells the time and wakes the drive loop (nil: the real
	// clock).
	Clock clock.Clock
}

// Route is the batch-inference route of one run: it plans parts, submits
// and watches their jobs, and feeds the pipeline the rows jobs answered
// and the records left for on-demand.
type Route struct {
	opts    Options
	control batchinfer.Control
	store   storage.Dir      // the staging prefix
	jobs    *batchinfer.Jobs // made once the run key is known
	states  storage.Dir      // the output, which keeps the state file
	settled Settled

	mu    sync.Mutex
	state *batchinfer.State
	// Which records a job owns, for the on-demand pass to skip. A route
	// that planned this run knows the few it did not stage (left: records
	// whose request did not build, and tails under the minimum unless
	// NoOnDemand keeps those too), and expects the on-demand pass to read
	// exactly the records the plan read (expect). A route that re-attached
	// to an earlier plan holds every id its parts stage (owned: 8 bytes an
	// id), tails marked idTail.
	planned  bool
	left     idset.Set
	expect   int64
	owned    idset.Set
	rows     []*writer.Row
	fallback []reader.Record
	done     bool          // every job finished and collected
	changed  chan struct{} // closed and replaced when rows, fallback or done change
	collect  map[string]bool
	stopped  bool // the deadline stopped the jobs
	// wholeJobs are the parts all of whose records went on demand.
	wholeJobs []WholeJob
	// unanswered counts the records NoOnDemand left without a row.
	unanswered int
	// estimate is the last deadline plan logged, to log it again only
	// when it changes.
	estimate string
}

// WholeJob is a part none of whose records a job answered, all sent on
// demand: its job failed, expired or was stopped, or it was never
// submitted before the deadline.
type WholeJob struct {
	Model, Part, JobARN, Status, Message string
	Records                              int
	// Deadline is true when the deadline, not the job, sent them.
	Deadline bool
}

// New returns a Route; nothing happens until Prepare.
func New(control batchinfer.Control, store, states storage.Dir, settled Settled, opts Options) *Route {
	if opts.Margin == 0 {
		opts.Margin = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Route{
		opts:    opts,
		control: control,
		store:   store,
		states:  states,
		settled: settled,
		changed: make(chan struct{}),
		collect: make(map[string]bool),
	}
}

// Parts returns a copy of the parts, for progress and the manifest.
func (r *Route) Parts() []batchinfer.Part {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		return nil
	}
	return append([]batchinfer.Part(nil), r.state.Parts...)
}

// loadState reads the state file; nil when there is none.
func (r *Route) loadState(ctx context.Context) (*batchinfer.State, error) {
	data, err := r.states.Get(ctx, r.opts.StateName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", r.opts.StateName, err)
	}
	return batchinfer.UnmarshalState(data)
}

// saveState writes the state file; the caller holds no lock.
func (r *Route) saveState(ctx context.Context) error {
	r.mu.Lock()
	data, err := r.state.Marshal()
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if err := r.states.Put(ctx, r.opts.StateName, data); err != nil {
		return fmt.Errorf("writing %s: %w", r.opts.StateName, err)
	}
	return nil
}

// notify wakes whoever waits for rows, records or the end.
func (r *Route) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// idTail marks an id of Route.owned in a tail under the minimum, sent on
// demand.
const idTail = 1 << 1

// Owns reports whether a job owns a record the on-demand pass reads
// without error: that pass skips it. Once the pass has read the whole
// input, the sets are dropped.
func (r *Route) Owns(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := hashID(id)
	if r.planned {
		return !r.left.Has(h)
	}
	st := r.owned.Get(h)
	return st&idset.Member != 0 && st&idTail == 0
}

// WholeJobsOnDemand lists the parts all of whose records went on demand.
func (r *Route) WholeJobsOnDemand() []WholeJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]WholeJob(nil), r.wholeJobs...)
}

// Unanswered counts the records NoOnDemand left without a row.
func (r *Route) Unanswered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unanswered
}
