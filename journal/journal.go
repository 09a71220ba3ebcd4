// Package journal makes finished rows durable within a sync interval and
// compacts them into few large data files. Rows are appended to the
// journal (a file synced per batch in a local output, a small object per
// batch on S3) and group-committed: one sync covers every row handed over
// since the last. Once a group of rows reaches a part's size it is written
// out as one data file, and only then are its journal segments removed.
package journal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/clock"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Defaults of Options.
const (
	// DefaultPartRows and DefaultPartBytes size a data file: a group ends
	// at whichever comes first (bytes as the journal's lines count them).
	DefaultPartRows  = 1_000_000
	DefaultPartBytes = 256 << 20
	// DefaultGrace is how long a failing output is tried again.
	DefaultGrace = 2 * time.Minute
)

// Options configure a Journal.
type Options struct {
	// Format and Style are those of the data files; the journal keeps
	// rows as JSONL lines of Style either way.
	Format writer.Format
	Style  string
	// DataPrefix starts the names of the run's data files (and groups):
	// part-<shard>-<run id>.
	DataPrefix string
	// PartRows and PartBytes end a group, and so size a data file.
	PartRows, PartBytes int64
	// RowGroupRows and RowGroupBytes bound a Parquet data file's row
	// groups (writer.Options; 0 = the writer's defaults).
	RowGroupRows, RowGroupBytes int64
	// Spool, when set, keeps the rows the output could not take.
	Spool *Spool
	// Grace is how long, after the first failed write, the output is
	// tried again; after it rows go to the spool only.
	Grace  time.Duration
	Clock  clock.Clock
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PartRows <= 0 {
		o.PartRows = DefaultPartRows
	}
	if o.PartBytes <= 0 {
		o.PartBytes = DefaultPartBytes
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Style == "" {
		o.Style = writer.StyleRows
	}
	return o
}

// segmentTimeout bounds the write of one segment object: one that hangs
// fails, and is tried again.
const segmentTimeout = 30 * time.Second

// ErrGaveUp says the output failed for longer than the grace: the rows
// not in it are in the spool only.
var ErrGaveUp = errors.New("the output failed for longer than --output-grace")

// chunk is a run of lines of one group, handed over and not yet durable.
type chunk struct {
	group   int
	data    []byte
	rows    int64
	spooled bool // also in the spool
}

// segments is where one group's rows went: the committer's own.
type segments struct {
	names []string
	file  storage.AppendFile // the open file of a local group
	size  int64              // bytes of file that are durable
	seq   int                // number of the next segment
}

// Journal is the rows of one run on their way to data files: a
// pipeline.Sink. Write is called by one goroutine at a time, Commit by one
// at a time, and the two may run together.
type Journal struct {
	dir  storage.Dir
	fast storage.Dir      // dir, each write tried once: Commit's caller tries again
	app  storage.Appender // nil: a segment object per commit
	opts Options
	enc  *writer.LineEncoder
	line []byte // Write's scratch

	mu         sync.Mutex // guards what Write hands over
	pending    []chunk
	group      int // the group rows go to now
	groupRows  int64
	groupBytes int64

	commitMu sync.Mutex // one Commit at a time; guards the committer's state
	segs     map[int]*segments
	failedAt time.Time // when the output first failed; zero while it takes rows
	failure  error     // the first failure

	onFailure func() // called at each failed write, before anything else

	gaveUpMu sync.Mutex // guards gaveUp, which Fence sets while a Commit may wait on storage
	gaveUp   error      // non-nil: write to the spool only (the grace ran out, the lease was lost, a file is damaged)

	compactor
	stats Stats
}

// Stats counts what a Journal did.
type Stats struct {
	Syncs    int64 // group commits that reached the output
	Segments int64 // segment files or objects made
	Spooled  int64 // rows written to the spool
}

// New returns the journal of a run's rows in dir: appended files when dir
// is a storage.Appender (a local directory), segment objects otherwise.
func New(dir storage.Dir, opts Options) (*Journal, error) {
	opts = opts.withDefaults()
	if opts.DataPrefix == "" {
		return nil, errors.New("journal: no DataPrefix")
	}
	if opts.Style == writer.StyleBedrockBatch && opts.Format != writer.JSONL {
		return nil, errors.New("journal: the bedrock-batch style is JSONL only")
	}
	j := &Journal{dir: dir, opts: opts, enc: writer.NewLineEncoder(opts.Style), segs: map[int]*segments{}}
	j.app, _ = dir.(storage.Appender)
	j.fast = storage.FailFast(dir)
	j.compactor = newCompactor(j)
	return j, nil
}

// Write hands a finished row over; it is durable after the next Commit.
// It never waits for storage. It does not keep row.
func (j *Journal) Write(ctx context.Context, row *writer.Row) error {
	line, err := j.enc.Append(j.line[:0], row)
	if err != nil {
		return fmt.Errorf("journal: row %s: %w", row.ID, err)
	}
	j.line = line
	j.add(line, 1)
	return nil
}

// add hands lines over, starting the next group when this one is full.
func (j *Journal) add(lines []byte, rows int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.groupRows > 0 && (j.groupRows+rows > j.opts.PartRows || j.groupBytes+int64(len(lines)) > j.opts.PartBytes) {
		j.group++
		j.groupRows, j.groupBytes = 0, 0
	}
	j.groupRows += rows
	j.groupBytes += int64(len(lines))
	if n := len(j.pending); n > 0 && j.pending[n-1].group == j.group && !j.pending[n-1].spooled {
		last := &j.pending[n-1]
		last.data = append(last.data, lines...)
		last.rows += rows
		return
	}
	j.pending = append(j.pending, chunk{group: j.group, data: append([]byte(nil), lines...), rows: rows})
}

// Commit makes every row handed over so far durable: in the journal, with
// one sync or one object per group written to; or, while the output
// fails, in the spool. A failed write is tried again by the next Commit
// until the grace runs out; the error says the output is failing, and
// rows are safe in the spool meanwhile (unless the spool failed too, which
// the error says). Groups complete in the output are queued to compact.
func (j *Journal) Commit(ctx context.Context) error {
	j.commitMu.Lock()
	defer j.commitMu.Unlock()
	j.mu.Lock()
	batch, current := j.pending, j.group
	j.pending = nil
	j.mu.Unlock()

	if j.givenUp() != nil {
		return j.spoolOnly(ctx, batch)
	}
	if !j.failedAt.IsZero() {
		if err := j.spoolAll(ctx, batch); err != nil {
			j.requeue(batch)
			return errors.Join(j.failure, err)
		}
	}
	batch = coalesce(batch)
	for i := range batch {
		if err := j.writeChunk(ctx, &batch[i]); err != nil {
			return j.failed(ctx, batch[i:], err)
		}
	}
	if !j.failedAt.IsZero() {
		j.opts.Logger.Warn("the output takes rows again; the spooled rows are in it", "output", j.dir.URI(""),
			"failed_for", j.opts.Clock.Now().Sub(j.failedAt).Round(time.Millisecond))
		j.failedAt = time.Time{}
		if err := j.opts.Spool.reset(); err != nil {
			j.opts.Logger.Warn("emptying the spool", "spool", j.opts.Spool.Path(), "error", err)
		}
	}
	j.sealBefore(current)
	return nil
}

// coalesce joins adjacent chunks of one group, so one write carries them.
func coalesce(batch []chunk) []chunk {
	out := batch[:0]
	for _, c := range batch {
		if n := len(out); n > 0 && out[n-1].group == c.group && out[n-1].spooled == c.spooled {
			out[n-1].data = append(out[n-1].data, c.data...)
			out[n-1].rows += c.rows
			continue
		}
		out = append(out, c)
	}
	return out
}

// writeChunk makes a chunk durable in its group's segment.
func (j *Journal) writeChunk(ctx context.Context, c *chunk) error {
	s := j.segs[c.group]
	if s == nil {
		s = &segments{}
		j.segs[c.group] = s
	}
	group := GroupName(j.opts.DataPrefix, c.group)
	if j.app == nil {
		name := SegmentName(group, s.seq)
		// A failed Put is tried again under the same name, with these rows
		// and any that came since: an object that did land is replaced by
		// one holding it whole.
		ctx, cancel := context.WithTimeout(ctx, segmentTimeout)
		defer cancel()
		if err := j.fast.Put(ctx, name, c.data); err != nil {
			return err
		}
		s.seq++
		s.names = append(s.names, name)
		j.stats.Segments++
		j.stats.Syncs++
		return nil
	}
	if s.file == nil {
		name := SegmentName(group, s.seq)
		f, err := j.app.CreateAppend(ctx, name)
		if err != nil {
			return err
		}
		s.seq++
		s.file, s.size, s.names = f, 0, append(s.names, name)
		j.stats.Segments++
	}
	_, err := s.file.Write(c.data)
	if err == nil {
		err = s.file.Sync()
	}
	if err != nil {
		// Undo what got through, so the next try writes the rows once.
		if terr := s.file.Truncate(s.size); terr != nil {
			j.giveUp(fmt.Errorf("the journal file %s could not be cut back after a failed write (%v): it may hold part of the rows, so no more are written to it", s.names[len(s.names)-1], terr))
		}
		return err
	}
	s.size += int64(len(c.data))
	j.stats.Syncs++
	return nil
}

// failed handles a write the output refused: the rows not written go to
// the spool and wait for the next Commit, until the grace runs out.
func (j *Journal) failed(ctx context.Context, rest []chunk, err error) error {
	if j.onFailure != nil {
		j.onFailure() // first: spooling takes a sync, and calls must stop now
	}
	now := j.opts.Clock.Now()
	if j.failedAt.IsZero() {
		j.failedAt, j.failure = now, err
		j.opts.Logger.Error("the output does not take rows: keeping them in the spool and trying again", "output", j.dir.URI(""),
			"spool", j.spoolPath(), "grace", j.opts.Grace, "error", err)
	}
	if now.Sub(j.failedAt) >= j.opts.Grace {
		j.giveUp(fmt.Errorf("%w (%s): %w", ErrGaveUp, j.opts.Grace, j.failure))
	}
	if j.givenUp() != nil {
		return j.spoolOnly(ctx, rest)
	}
	if serr := j.spoolAll(ctx, rest); serr != nil {
		err = errors.Join(err, serr)
	}
	j.requeue(rest)
	return err
}

// giveUp stops writing to the output: rows go to the spool only.
func (j *Journal) giveUp(err error) {
	j.gaveUpMu.Lock()
	defer j.gaveUpMu.Unlock()
	if j.gaveUp == nil {
		j.gaveUp = err
		j.stopCompacting()
	}
}

// givenUp is why the output is no longer written, nil while it is.
func (j *Journal) givenUp() error {
	j.gaveUpMu.Lock()
	defer j.gaveUpMu.Unlock()
	return j.gaveUp
}

// spoolAll spools the chunks not yet spooled.
func (j *Journal) spoolAll(ctx context.Context, batch []chunk) error {
	for i := range batch {
		if batch[i].spooled {
			continue
		}
		if j.opts.Spool == nil {
			return errors.New("no spool: the rows are kept in memory only")
		}
		if err := j.opts.Spool.append(ctx, batch[i].data); err != nil {
			return err
		}
		batch[i].spooled = true
		j.stats.Spooled += batch[i].rows
	}
	return nil
}

// spoolOnly spools a batch once the output is given up. Its error is
// final: no later Commit writes to the output.
func (j *Journal) spoolOnly(ctx context.Context, batch []chunk) error {
	if err := j.spoolAll(ctx, batch); err != nil {
		j.requeue(batch)
		return finalError{errors.Join(j.givenUp(), err)}
	}
	return finalError{fmt.Errorf("%w; the rows are in the spool %s for the next run on this machine", j.givenUp(), j.spoolPath())}
}

// finalError is a Commit's error once the journal has given the output up
// (the grace ran out, the lease was lost): trying again cannot help.
type finalError struct{ error }

// Final says the output is given up for good.
func (finalError) Final() bool { return true }

func (e finalError) Unwrap() error { return e.error }

// requeue puts chunks not yet in the output back before newer ones.
func (j *Journal) requeue(batch []chunk) {
	if len(batch) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pending = append(append([]chunk(nil), batch...), j.pending...)
}

// spoolPath names the spool in messages.
func (j *Journal) spoolPath() string {
	if j.opts.Spool == nil {
		return "(none)"
	}
	return j.opts.Spool.Path()
}

// sealBefore queues for compaction every group before current: Write
// hands them no more rows and all of theirs are in the output.
func (j *Journal) sealBefore(current int) {
	for g, s := range j.segs {
		if g >= current {
			continue
		}
		if s.file != nil {
			if err := s.file.Close(); err != nil {
				j.opts.Logger.Warn("closing a journal file", "file", s.names[len(s.names)-1], "error", err)
			}
		}
		delete(j.segs, g)
		j.queue(Group{Name: GroupName(j.opts.DataPrefix, g), Segments: s.names})
	}
}

// Fence stops the journal writing to the output for good, because err
// says another run may be writing it (the lease was lost): rows handed
// over from now on go to the spool only, and nothing is compacted.
func (j *Journal) Fence(err error) {
	j.giveUp(err)
}

// NotifyFailure has fn called the moment a write to the output fails,
// before the rows are spooled: the pipeline holds new calls back from
// then on. Call it before the first Commit.
func (j *Journal) NotifyFailure(fn func()) { j.onFailure = fn }

// Stats returns the counts so far.
func (j *Journal) Stats() Stats {
	j.commitMu.Lock()
	defer j.commitMu.Unlock()
	return j.stats
}

// Close makes every row handed over durable, ends the current group and
// compacts every group left, the groups of earlier runs it adopted
// included, each into its data file. A run that is stopped or finishes
// calls it, so its tail is written out; an error leaves the rows in the
// journal (or the spool), for the next run to write out.
func (j *Journal) Close(ctx context.Context) error {
	commitErr := j.Commit(ctx)
	// Closing first: the last group is written out by finish below, not
	// also by the background loop its queueing would wake (a failure
	// would then be tried twice, and reported as the second try's).
	j.compactor.mu.Lock()
	j.compactor.closing = true
	j.compactor.mu.Unlock()
	j.commitMu.Lock()
	j.mu.Lock()
	j.group++
	current := j.group
	j.mu.Unlock()
	if j.givenUp() == nil && commitErr == nil {
		j.sealBefore(current)
	} else {
		for _, s := range j.segs {
			if s.file != nil {
				s.file.Close()
				s.file = nil
			}
		}
	}
	j.commitMu.Unlock()
	compactErr := j.finish(ctx)
	var spoolErr error
	if j.opts.Spool != nil {
		spoolErr = j.opts.Spool.Close()
	}
	return errors.Join(commitErr, compactErr, spoolErr)
}
