package run

import (
	"context"
	"time"

	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// watchSignals turns the first signal into a graceful stop (stop: no new
// records, calls in flight get grace to finish) and the second, or the end
// of the grace, into cancel. It returns when ctx ends.
func watchSignals(ctx context.Context, deps Deps, grace time.Duration, stop func(), cancel context.CancelFunc) {
	if deps.Signals == nil {
		return
	}
	select {
	case sig := <-deps.Signals:
		deps.Logger.Warn("stopping: no new records; in-flight calls may finish", "signal", sig.String(), "grace", grace)
		stop()
	case <-ctx.Done():
		return
	}
	select {
	case <-deps.Signals:
		deps.Logger.Warn("second signal: abandoning in-flight calls")
	case <-deps.Clock.After(grace):
		deps.Logger.Warn("grace period over: abandoning in-flight calls")
	case <-ctx.Done():
		return
	}
	cancel()
}

// watchSiblings lets a shard take up the quota share of sibling shards
// that have finished, until ctx ends: the shards share nothing but the
// output, where a finished shard's manifest says complete.
func watchSiblings(ctx context.Context, deps Deps, own shard.Shard, out storage.Dir, setShare func(float64)) {
	known := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-deps.Clock.After(deps.SiblingInterval):
		}
		finished, err := manifest.FinishedSiblings(ctx, out, own)
		if err != nil || finished == known {
			continue // the next look tries again; pacing at the share is safe
		}
		known = finished
		share := 1 / float64(own.Count-finished)
		setShare(share)
		deps.Logger.Info("sibling shards finished: taking up their quota share", "finished", finished, "share", share)
	}
}
