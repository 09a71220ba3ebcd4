package jobs

import (
	"strings"
)

// tempPrefix starts the name of a data file still being written locally
// (writer.TempPrefix).
const tempPrefix = "_tmp-"

// IsStaleTemp reports whether name is a data file this shard was writing
// when an earlier run of it was killed: it was never committed, its rows
// are not in the ledger, and removing it loses nothing. Files of other
// shards, which may be running right now, are left alone.
func IsStaleTemp(name string, shard Shard) bool {
	// A small file of the shard's own (its manifest, its batch state) that
	// a killed run was replacing: writer.LocalDir.Put names its temporary
	// after it.
	for _, own := range []string{shard.ManifestName(), shard.BatchStateName()} {
		if strings.HasPrefix(name, tempPrefix+"put-"+own+"-") {
			return true
		}
	}
	rest, ok := strings.CutPrefix(name, tempPrefix+shard.DataPrefix(""))
	if !ok {
		return false
	}
	// Unsharded data files are part-<run id>: a run id starts with a digit,
	// a shard tag with "s".
	return shard.Sharded() || (rest != "" && rest[0] >= '0' && rest[0] <= '9')
}
