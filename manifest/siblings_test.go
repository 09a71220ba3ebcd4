package manifest

import (
	"context"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

func TestFinishedSiblings(t *testing.T) {
	me := shard.Shard{Index: 1, Count: 4}
	files := map[string]string{
		shard.Shard{Index: 0, Count: 4}.ManifestName(): `{"complete": true}`,
		shard.Shard{Index: 1, Count: 4}.ManifestName(): `{"complete": true}`, // itself: not counted
		shard.Shard{Index: 2, Count: 4}.ManifestName(): `{"complete": false}`,
		shard.Shard{Index: 0, Count: 2}.ManifestName(): `{"complete": true}`, // another split of the output
		"part-x.jsonl": "{}",
	}
	out := storagetest.NewDir()
	for name, text := range files {
		out.Put(context.Background(), name, []byte(text))
	}
	got, err := FinishedSiblings(context.Background(), out, me)
	if err != nil || got != 1 {
		t.Fatalf("FinishedSiblings = %d, %v; want 1 (shard 0 of 4)", got, err)
	}
}
