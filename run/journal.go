package run

import (
	"context"
	"fmt"
	"time"

	"github.com/bedrock-batch/bedrock-batch/journal"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// objectSyncInterval is the least time between two syncs when each sync
// is an object of its own (S3): four PUTs a second per shard at most.
const objectSyncInterval = 250 * time.Millisecond

// syncInterval is the least time between two syncs of the journal: the
// option's, or the output's default: continuous where a sync appends to a
// file (a local output), 250ms where it writes an object.
func (r *Run) syncInterval() time.Duration {
	if r.cfg.SyncInterval > 0 {
		return r.cfg.SyncInterval
	}
	if _, appends := r.out.(storage.Appender); appends {
		return 0
	}
	return objectSyncInterval
}

// spoolFolder is where this output shard's rows are spooled on this
// machine.
func (r *Run) spoolFolder() string {
	return journal.SpoolFolder(r.deps.SpoolDir, r.out.URI(""), r.cfg.Shard)
}

// openJournal makes the run's sink: its rows' journal, which writes them
// out as data files, and first the groups earlier runs of the shard left.
func (r *Run) openJournal() (*journal.Journal, error) {
	cfg := r.cfg
	j, err := journal.New(r.out, journal.Options{Format: writer.Format(cfg.OutputFormat), Style: cfg.OutputStyle,
		DataPrefix: cfg.Shard.DataPrefix(r.runID), PartRows: cfg.PartRows, PartBytes: cfg.PartBytes,
		RowGroupRows: cfg.ParquetRowGroupRows, RowGroupBytes: cfg.ParquetRowGroupBytes,
		Spool: journal.NewSpool(r.spoolFolder(), r.runID), Grace: cfg.OutputGrace, Clock: r.deps.Clock, Logger: r.deps.Logger})
	if err != nil {
		return nil, err
	}
	if len(r.ledger.Journal) > 0 {
		r.deps.Logger.Info("writing out the rows an earlier run left in the journal", "groups", len(r.ledger.Journal))
		j.Adopt(r.ledger.Journal)
	}
	return j, nil
}

// compactAdopted writes the adopted groups out at once and reads the
// output again, so --retry-errors finds their error rows in data files.
func (r *Run) compactAdopted(ctx context.Context, j *journal.Journal) error {
	if len(r.ledger.Journal) == 0 {
		return nil
	}
	if err := j.CompactQueued(ctx); err != nil {
		return err
	}
	l, err := ledger.Scan(ctx, r.out, r.cfg.Shard)
	if err != nil {
		return err
	}
	r.ledger = l
	return nil
}

// replaySpool commits the rows an earlier run of the shard on this
// machine spooled when its output failed, except those the output already
// holds, and then removes the spool files: they were paid for once.
func (r *Run) replaySpool(ctx context.Context, j *journal.Journal) error {
	folder := r.spoolFolder()
	names, err := journal.Spooled(folder)
	if err != nil || len(names) == 0 {
		return err
	}
	added, skipped := 0, 0
	for _, name := range names {
		err := journal.ReadSpooled(ctx, folder, name, func(line []byte, _ int) error {
			row, err := writer.DecodeJSONLRow(line)
			if err != nil {
				return err
			}
			if !r.ledger.AddRow(row, r.cfg.Shard) {
				skipped++ // the output has its row: written before the spool was emptied
				return nil
			}
			added++
			return j.Write(ctx, row)
		})
		if err != nil {
			return fmt.Errorf("reading the spool: %w", err)
		}
	}
	if err := j.Commit(ctx); err != nil {
		return fmt.Errorf("committing the spooled rows: %w", err)
	}
	for _, name := range names {
		if err := journal.RemoveSpooled(folder, name); err != nil {
			return err
		}
	}
	r.deps.Logger.Info("committed the rows an earlier run kept in its spool when the output failed", "rows", added,
		"already_in_output", skipped, "spool", folder)
	return nil
}

// logJournal says how the run's rows became durable: syncs, segments
// (each an object on S3, so a PUT) and their rate, and rows spooled.
func (r *Run) logJournal(j *journal.Journal, wall time.Duration) {
	st := j.Stats()
	perMinute := 0.0
	if wall > 0 {
		perMinute = float64(st.Segments) / wall.Minutes()
	}
	r.deps.Logger.Info("journal", "syncs", st.Syncs, "segments", st.Segments, "segments_per_minute", fmt.Sprintf("%.0f", perMinute),
		"rows_spooled", st.Spooled, "data_files", len(j.Files()))
}
