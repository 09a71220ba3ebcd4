package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// FinishedSiblings counts the other shards of own's job whose manifest in
// out says complete: their records all have rows, so their share of the
// job's quota is free.
func FinishedSiblings(ctx context.Context, out storage.Dir, own shard.Shard) (int, error) {
	names, err := out.List(ctx, "_manifest")
	if err != nil {
		return 0, err
	}
	finished := 0
	for i := range own.Count {
		other := shard.Shard{Index: i, Count: own.Count}
		if i == own.Index || !slices.Contains(names, other.ManifestName()) {
			continue
		}
		data, err := out.Get(ctx, other.ManifestName())
		if err != nil {
			return 0, err
		}
		var m struct {
			Complete bool `json:"complete"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return 0, fmt.Errorf("%s: %w", other.ManifestName(), err)
		}
		if m.Complete {
			finished++
		}
	}
	return finished, nil
}
