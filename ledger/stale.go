package ledger

import (
	"strings"

	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// IsStaleTemp reports whether name is a data file this shard was writing
// when an earlier run of it was killed: it was never committed, its rows
// are not in the ledger, and removing it loses nothing. Files of other
// shards, which may be running right now, are left alone.
func IsStaleTemp(name string, owner shard.Shard) bool {
	// A small file of the shard's own (its manifest, its batch state) that
	// a killed run was replacing: storage.LocalDir.Put names its temporary
	// after it.
	for _, own := range []string{owner.ManifestName(), owner.BatchStateName()} {
		if strings.HasPrefix(name, storage.TempPrefix+"put-"+own+"-") {
			return true
		}
	}
	rest, ok := strings.CutPrefix(name, storage.TempPrefix+owner.DataPrefix(""))
	if !ok {
		return false
	}
	// Unsharded data files are part-<run id>: a run id starts with a digit,
	// a shard tag with "s".
	return owner.Sharded() || (rest != "" && rest[0] >= '0' && rest[0] <= '9')
}
