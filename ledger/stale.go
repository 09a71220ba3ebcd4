package ledger

import (
	"strings"

	"github.com/bedrock-batch/bedrock-batch/journal"
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
	temp, ok := strings.CutPrefix(name, storage.TempPrefix)
	return ok && OwnsName(temp, owner)
}

// OwnsName reports whether a data file or journal group name is one the
// shard's runs write (part-<shard tag>-<run id>-...), so that only the
// shard holding the lease touches it.
func OwnsName(name string, owner shard.Shard) bool {
	rest, ok := strings.CutPrefix(name, owner.DataPrefix(""))
	if !ok {
		return false
	}
	// Unsharded data files are part-<run id>: a run id starts with a digit,
	// a shard tag with "s".
	return owner.Sharded() || (rest != "" && rest[0] >= '0' && rest[0] <= '9')
}

// Stale returns what a killed or crashed earlier run of the shard left
// among names that a run holding the shard's lease removes before it
// starts: its unfinished temporary files, data files whose compacted copy
// is committed, and journal segments already in a data file.
func Stale(names []string, owner shard.Shard) []string {
	stale := Superseded(names)
	for _, name := range names {
		if IsStaleTemp(name, owner) {
			stale = append(stale, name)
		}
		if journal.IsJournalTemp(name) && OwnsName(strings.TrimPrefix(name, journal.Folder), owner) {
			stale = append(stale, name)
		}
	}
	groups, superseded := journal.Groups(names)
	for _, g := range superseded {
		if OwnsName(g, owner) {
			stale = append(stale, groups[g]...)
		}
	}
	return stale
}
