package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// siblingInterval is how often a shard looks for siblings that finished.
const siblingInterval = 15 * time.Second

// siblingWatcher lets a shard take up the quota share of sibling shards
// that have finished: the shards share nothing but the output, where a
// finished shard's manifest says complete.
type siblingWatcher struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func watchSiblings(ctx context.Context, shard jobs.Shard, out *outputLocation, limiter *ratelimit.Models, logger *slog.Logger) *siblingWatcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &siblingWatcher{cancel: cancel}
	if !shard.Sharded() {
		return w
	}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		ticker := time.NewTicker(siblingInterval)
		defer ticker.Stop()
		known := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			names, err := out.List(ctx)
			if err != nil {
				continue // the next tick tries again; pacing at the share is safe
			}
			finished, err := jobs.FinishedSiblings(shard, names, func(name string) ([]byte, error) { return out.Get(ctx, name) })
			if err != nil || finished == known {
				continue
			}
			known = finished
			share := 1 / float64(shard.Count-finished)
			limiter.SetShare(share)
			logger.Info("sibling shards finished: taking up their quota share", "finished", finished, "share", share)
		}
	}()
	return w
}

func (w *siblingWatcher) stop() {
	w.cancel()
	w.done.Wait()
}
