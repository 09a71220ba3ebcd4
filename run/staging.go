package run

import (
	"context"
	"fmt"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// checkStaging tells, before any paid call, whether the batch-inference
// route can write its job inputs to --staging, as the output is checked: a
// locked-down staging bucket that refuses the run's writes (no SSE-KMS, no
// expected owner) is a setup error found at start, not after the first
// part is staged.
func (r *Run) checkStaging(ctx context.Context) error {
	if r.cfg.Route == "" || r.cfg.Route == config.RouteOnDemand || r.cfg.Staging == "" {
		return nil
	}
	staging, err := r.deps.Storage.Dir(ctx, r.cfg.Staging)
	if err != nil {
		return fmt.Errorf("--staging: %w", err)
	}
	return storage.CheckWritable(ctx, staging)
}
