package ledger

import (
	"testing"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

func TestIsStaleTemp(t *testing.T) {
	unsharded, third := shard.Shard{}, shard.Shard{Index: 2, Count: 4}
	tests := []struct {
		name  string
		shard shard.Shard
		stale bool
	}{
		{"_tmp-part-20261125T224633Z-ce838a-00000.jsonl", unsharded, true},
		{"_tmp-part-s0002of0004-20261125T224633Z-ce838a-00000.jsonl", third, true},
		{"_tmp-part-s0001of0004-20261125T224633Z-ce838a-00000.jsonl", third, false},
		{"_tmp-part-s0001of0004-20261125T224633Z-ce838a-00000.jsonl", unsharded, false},
		{"_tmp-put-_manifest.json-1234", unsharded, true},
		{"_tmp-put-_batch.json-99", unsharded, true},
		{"_tmp-put-_batch-s0002of0004.json-99", third, true},
		{"_tmp-put-_manifest-s0001of0004.json-5", third, false},
		{"_tmp-put-_manifest-s0001of0004.json-5", unsharded, false},
		{"part-20261125T224633Z-ce838a-00000.jsonl", unsharded, false},
	}
	for _, tt := range tests {
		if got := IsStaleTemp(tt.name, tt.shard); got != tt.stale {
			t.Errorf("IsStaleTemp(%q, %s) = %v, want %v", tt.name, tt.shard, got, tt.stale)
		}
	}
}
