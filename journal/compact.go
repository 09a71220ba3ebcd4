package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Group is a group of journal segments on its way to one data file.
type Group struct {
	// Name is the group, the stem of its data file.
	Name string `json:"name"`
	// Segments are its segments, in order.
	Segments []string `json:"segments"`
}

// removeConcurrency bounds the removals of one group's segments at once.
const removeConcurrency = 16

// compactor is the part of a Journal that writes full groups out as data
// files: one at a time, in the order they filled up.
type compactor struct {
	j *Journal

	mu      sync.Mutex // guards the fields below
	todo    []Group
	stopped bool // the output is given up: compact nothing more
	closing bool
	running bool
	done    chan struct{} // closed when the loop ends
	files   []string
	wake    chan struct{}

	compactMu sync.Mutex // one compaction at a time

	linkFailed sync.Once // said once that links fail, and parts are copied
}

func newCompactor(j *Journal) compactor {
	return compactor{j: j, wake: make(chan struct{}, 1)}
}

// Adopt queues groups an earlier run of the shard left in the journal
// (it was killed before it wrote them out), ahead of the run's own.
func (c *compactor) Adopt(groups []Group) {
	c.mu.Lock()
	c.todo = append(slices.Clone(groups), c.todo...)
	c.mu.Unlock()
	c.nudge()
}

// queue adds a full group.
func (c *compactor) queue(g Group) {
	c.mu.Lock()
	c.todo = append(c.todo, g)
	c.mu.Unlock()
	c.nudge()
}

func (c *compactor) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stopCompacting compacts nothing more: the output is not to be written.
func (c *compactor) stopCompacting() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

// Files are the data files written so far, in order.
func (c *compactor) Files() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.files)
}

// Compacting writes full groups out as they come, until ctx ends or Close
// takes over: the run's background goroutine. A group that fails stays
// queued, to be tried with the next one or by Close; its rows are safe in
// the journal meanwhile.
func (c *compactor) Compacting(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.running, c.done = true, make(chan struct{})
	c.mu.Unlock()
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		}
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if closing {
			return nil
		}
		if err := c.CompactQueued(ctx); err != nil {
			c.j.opts.Logger.Warn("writing a data file from the journal failed; its rows stay in the journal, and it is tried again", "error", err)
		}
	}
}

// CompactQueued writes every queued group out now, in order, and stops at
// the first that fails, which stays queued.
func (c *compactor) CompactQueued(ctx context.Context) error {
	c.compactMu.Lock()
	defer c.compactMu.Unlock()
	for {
		c.mu.Lock()
		if c.stopped || len(c.todo) == 0 {
			c.mu.Unlock()
			return nil
		}
		g := c.todo[0]
		c.mu.Unlock()
		files, err := c.compact(ctx, g)
		if err != nil {
			return fmt.Errorf("writing %s from the journal: %w", c.j.dir.URI(g.Name), err)
		}
		c.mu.Lock()
		c.todo = c.todo[1:]
		c.files = append(c.files, files...)
		c.mu.Unlock()
	}
}

// finish ends the loop, waits for it, and writes out what is left.
func (c *compactor) finish(ctx context.Context) error {
	c.mu.Lock()
	c.closing = true
	running, done := c.running, c.done
	stopped := c.stopped
	c.mu.Unlock()
	c.nudge()
	if running {
		<-done
	}
	if stopped {
		return nil
	}
	return c.CompactQueued(ctx)
}

// compact writes one group's rows into its data file, commits it, and
// only then removes the group's segments. The data file's name is the
// group's, so a crash after its commit leaves segments the next run knows
// to be copies (Groups) and removes; a crash before leaves no file.
func (c *compactor) compact(ctx context.Context, g Group) ([]string, error) {
	j := c.j
	prefix, part, ok := splitGroup(g.Name)
	if !ok {
		return nil, fmt.Errorf("journal: %q is not a group name", g.Name)
	}
	if files, linked, err := c.link(ctx, g, prefix, part); linked || err != nil {
		if err != nil {
			return nil, err
		}
		c.remove(ctx, g)
		return files, nil
	}
	w, err := writer.New(j.dir, writer.Options{Format: j.opts.Format, Style: j.opts.Style, NamePrefix: prefix,
		FirstSeq: part, MaxRowsPerFile: math.MaxInt, RowGroupRows: j.opts.RowGroupRows, RowGroupBytes: j.opts.RowGroupBytes})
	if err != nil {
		return nil, err
	}
	err = c.copyRows(ctx, w, g)
	if err == nil {
		err = w.Close(ctx)
	} else {
		w.Abort()
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		// Written by a run a crash stopped before it removed the segments.
	case err != nil:
		return nil, err
	}
	files := w.Files()
	c.remove(ctx, g)
	return files, nil
}

// link makes a group's journal file its JSONL data file by giving it the
// data file's name as well (storage.Linker), when the file's lines are
// exactly the data file's: one appended file whose last line is whole.
// The rows are then written once, and a part of a million rows is not read
// back and written again at the end of the run. linked is false when the
// group is to be copied instead (Parquet, segment objects, a torn end a
// kill left). The order of a copy holds: the data file is durable before
// the segment is removed, and a name already taken is a data file a
// crashed run made from this very group (not one of this run's files, as
// for a copy).
func (c *compactor) link(ctx context.Context, g Group, prefix string, part int) (files []string, linked bool, err error) {
	j := c.j
	l, ok := j.dir.(storage.Linker)
	if !ok || j.opts.Format != writer.JSONL || len(g.Segments) != 1 {
		return nil, false, nil
	}
	whole, err := endsWithNewline(ctx, j.dir, g.Segments[0])
	if err != nil || !whole {
		return nil, false, err
	}
	name := writer.JSONLFileName(prefix, part)
	err = l.Link(ctx, g.Segments[0], name)
	switch {
	case err == nil:
		return []string{name}, true, nil
	case errors.Is(err, fs.ErrExist):
		return nil, true, nil
	case ctx.Err() != nil:
		return nil, false, err
	}
	// A file system without hard links (some network and FUSE mounts), or
	// a failure the copy may not share: the copy works where links do
	// not, and reports a failure of its own itself.
	c.linkFailed.Do(func() {
		j.opts.Logger.Info("a journal file could not be linked as its data file; copying it, and any other that cannot be linked", "output", j.dir.URI(""), "error", err)
	})
	return nil, false, nil
}

// endsWithNewline reports whether a file has bytes and its last is a
// newline: no torn line at its end.
func endsWithNewline(ctx context.Context, dir storage.Dir, name string) (bool, error) {
	r, size, closer, err := dir.OpenAt(ctx, name)
	if err != nil {
		return false, err
	}
	defer closer.Close()
	if size == 0 {
		return false, nil
	}
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, size-1); err != nil {
		return false, fmt.Errorf("reading %s: %w", dir.URI(name), err)
	}
	return last[0] == '\n', nil
}

// copyRows writes every row of a group's segments: JSONL lines as they
// are, Parquet rows decoded from them.
func (c *compactor) copyRows(ctx context.Context, w *writer.Writer, g Group) error {
	for _, name := range g.Segments {
		err := ReadLines(ctx, c.j.dir, name, func(line []byte, _ int) error {
			if c.j.opts.Format == writer.JSONL {
				return w.WriteLine(ctx, line)
			}
			row, err := writer.DecodeJSONLRow(line)
			if err != nil {
				return err
			}
			return w.Write(ctx, row)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// remove deletes a written group's segments. One left behind is harmless:
// its group's data file supersedes it, and the next run removes it.
func (c *compactor) remove(ctx context.Context, g Group) {
	var group errgroup.Group
	group.SetLimit(removeConcurrency)
	for _, name := range g.Segments {
		group.Go(func() error { return c.j.dir.Remove(ctx, name) })
	}
	if err := group.Wait(); err != nil {
		c.j.opts.Logger.Warn("removing journal segments already in a data file; the next run removes them", "group", g.Name, "error", err)
		return
	}
	if f, ok := c.j.dir.(storage.FolderRemover); ok {
		f.RemoveEmptyFolder(ctx, strings.TrimSuffix(Folder, "/")+"/"+g.Name)
		f.RemoveEmptyFolder(ctx, strings.TrimSuffix(Folder, "/"))
	}
}
