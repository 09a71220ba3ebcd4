package bedrocktest

import (
	"context"
	"encoding/json"
	"math/bits"
	"sync"
	"time"
)

// Job statuses, as types.ModelInvocationJobStatus spells them.
const (
	statusSubmitted          = "Submitted"
	statusValidating         = "Validating"
	statusScheduled          = "Scheduled"
	statusInProgress         = "InProgress"
	statusCompleted          = "Completed"
	statusPartiallyCompleted = "PartiallyCompleted"
	statusFailed             = "Failed"
	statusStopping           = "Stopping"
	statusStopped            = "Stopped"
	statusExpired            = "Expired"
)

// batchTick is how often the Handler's runner moves jobs along on its own, so outputs appear
// in S3 without anyone polling. Get and List move them too, at the moment they are called.
const batchTick = 20 * time.Millisecond

// batchJobs is the control plane's state: every job, by id and in creation order.
type batchJobs struct {
	h     *Handler
	opts  *BatchOptions
	store ObjectStore

	createMu sync.Mutex // one CreateModelInvocationJob at a time: idempotency and the active cap hold
	mu       sync.Mutex // guards the maps and the order, never held while a job's lock is taken
	byID     map[string]*batchJob
	order    []*batchJob
	tokens   map[string]*batchJob // clientRequestToken → job

	stats  batchCounters
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBatchJobs(h *Handler) *batchJobs {
	b := &batchJobs{h: h, opts: &h.opts.Batch, store: h.opts.BatchStore,
		byID: map[string]*batchJob{}, tokens: map[string]*batchJob{}, cancel: func() {}}
	if b.store != nil {
		ctx, cancel := context.WithCancel(context.Background())
		b.cancel = cancel
		b.wg.Add(1)
		go b.run(ctx)
	}
	return b
}

// close stops the runner and waits for it: its S3 calls end with its context.
func (b *batchJobs) close() {
	b.cancel()
	b.wg.Wait()
}

func (b *batchJobs) run(ctx context.Context) {
	defer b.wg.Done()
	t := time.NewTicker(batchTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.advanceAll(ctx)
		}
	}
}

// batchSpec is what CreateModelInvocationJob asked for, comparable so that a repeated
// clientRequestToken can be checked for the same parameters.
type batchSpec struct {
	name, modelID, roleARN, invocationType string
	inURI, inFormat, inOwner               string
	outURI, outKeyID, outOwner             string
	timeoutHours                           int32
	vpc                                    string // vpcConfig JSON as sent, echoed by Get
}

// batchJob is one job. Its schedule is fixed at creation; its status catches up with the
// clock whenever it is advanced.
type batchJob struct {
	id, arn, token string
	spec           batchSpec
	outBucket      string
	outPrefix      string // key prefix of the outputs: <output s3Uri key>/<job id>/
	files          []batchFile
	records        []batchRecord

	submitted, validateAt, scheduleAt, startAt, finishAt, expireAt time.Time
	failMsg                                                        string // why validation fails the job (FailJob, malformed lines), or ""

	mu                  sync.Mutex
	status              string
	modified            time.Time
	ended               time.Time // zero until the job is finished
	message             string
	started             bool // it was InProgress: outputs are written when it ends
	done                int  // records processed, a prefix of records
	ok, errs            int64
	inTokens, outTokens int64 // summed over the ok records, for the manifest
}

// set moves the job to status at t.
func (j *batchJob) set(status string, t time.Time) { j.status, j.modified = status, t }

// end finishes the job at t.
func (j *batchJob) end(status string, t time.Time, message string) {
	j.set(status, t)
	j.ended, j.message = t, message
}

func terminal(status string) bool {
	switch status {
	case statusCompleted, statusPartiallyCompleted, statusFailed, statusStopped, statusExpired:
		return true
	}
	return false
}

// processedBy is how many records the job has processed by t, counted from its start.
func (j *batchJob) processedBy(t time.Time) int {
	switch {
	case t.Before(j.startAt):
		return 0
	case !t.Before(j.finishAt):
		return len(j.records)
	}
	// records × elapsed / processing time, in 128 bits: exact, and no overflow for a long job.
	hi, lo := bits.Mul64(uint64(len(j.records)), uint64(t.Sub(j.startAt)))
	n, _ := bits.Div64(hi, lo, uint64(j.finishAt.Sub(j.startAt))) // elapsed < processing time, so hi < divisor
	return int(n)
}

// advance brings the job's status up to now, processing its records and writing its
// outputs on the way. The caller holds j.mu. A failed output write (other than a canceled
// ctx, which leaves the job to be advanced again) fails the job, as Bedrock fails a job that
// cannot write to its output location.
func (b *batchJobs) advance(ctx context.Context, j *batchJob, now time.Time) {
	for {
		switch j.status {
		case statusSubmitted:
			if now.Before(j.validateAt) {
				return
			}
			j.set(statusValidating, j.validateAt)
		case statusValidating:
			if now.Before(j.scheduleAt) {
				return
			}
			if j.failMsg != "" {
				j.end(statusFailed, j.scheduleAt, j.failMsg)
				continue
			}
			j.set(statusScheduled, j.scheduleAt)
		case statusScheduled:
			if !j.startAt.Before(j.expireAt) { // it would start after its timeout
				if now.Before(j.expireAt) {
					return
				}
				j.end(statusExpired, j.expireAt, "The job timed out before it started. Submit a new job request.")
				continue
			}
			if now.Before(j.startAt) {
				return
			}
			j.set(statusInProgress, j.startAt)
			j.started = true
		case statusInProgress:
			until := now
			if j.expireAt.Before(until) {
				until = j.expireAt
			}
			b.process(j, j.processedBy(until))
			var status, message string
			var at time.Time
			switch {
			case j.done == len(j.records):
				status, at = statusCompleted, j.finishAt
				if j.errs > 0 {
					status = statusPartiallyCompleted
				}
			case !now.Before(j.expireAt):
				status, at = statusPartiallyCompleted, j.expireAt
				message = "The job timed out before every record was processed."
			default:
				return
			}
			if !b.finish(ctx, j, status, at, message) {
				return
			}
		case statusStopping:
			if !b.finish(ctx, j, statusStopped, now, "") {
				return
			}
		default:
			return
		}
	}
}

// finish writes the outputs of a job that ran, then ends it with status. It reports false
// when ctx ended first: the job is left as it was, to be finished by a later advance.
func (b *batchJobs) finish(ctx context.Context, j *batchJob, status string, at time.Time, message string) bool {
	if j.started {
		if err := b.writeOutputs(ctx, j); err != nil {
			if ctx.Err() != nil {
				return false
			}
			status, message = statusFailed, "Amazon Bedrock could not write the job's output: "+err.Error()
		}
	}
	j.end(status, at, message)
	return true
}

// advanceAll advances every job to the clock's now.
func (b *batchJobs) advanceAll(ctx context.Context) {
	for _, j := range b.all() {
		j.mu.Lock()
		b.advance(ctx, j, b.opts.now())
		j.mu.Unlock()
	}
}

// all returns the jobs in creation order.
func (b *batchJobs) all() []*batchJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*batchJob(nil), b.order...)
}

func (b *batchJobs) lookup(id string) *batchJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byID[id]
}

// add registers a new job.
func (b *batchJobs) add(j *batchJob) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.byID[j.id] = j
	b.order = append(b.order, j)
	if j.token != "" {
		b.tokens[j.token] = j
	}
}

func (b *batchJobs) byToken(token string) *batchJob {
	if token == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[token]
}

// active counts the jobs not finished, as of now.
func (b *batchJobs) active(ctx context.Context) int {
	n := 0
	for _, j := range b.all() {
		j.mu.Lock()
		b.advance(ctx, j, b.opts.now())
		if !terminal(j.status) {
			n++
		}
		j.mu.Unlock()
	}
	return n
}

// stop asks a job to stop: a finished job is a conflict; a stopping one is left alone.
// Records already processed keep their output lines, written when the job is Stopped.
func (b *batchJobs) stop(ctx context.Context, j *batchJob) (conflict string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := b.opts.now()
	b.advance(ctx, j, now)
	switch {
	case terminal(j.status):
		return "The job " + j.arn + " is " + j.status + " and can no longer be stopped."
	case j.status != statusStopping:
		j.set(statusStopping, now)
	}
	return ""
}

// vpcJSON keeps a vpcConfig as sent, so Get can echo it.
func vpcJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}
