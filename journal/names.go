package journal

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Folder holds the journal of an output: _journal/<group>/<segment>.jsonl.
// A group is the data file its rows become: group G is compacted into
// G.jsonl or G.parquet at the output's root, and G is named as the writer
// names data files (<data prefix>-<five-digit part>), so the data file's
// name alone says which segments it holds: once it is committed, they are
// superseded, whatever step a crash stopped at.
const Folder = "_journal/"

// GroupName is the group of a run's part: the stem of the data file it
// becomes.
func GroupName(dataPrefix string, part int) string {
	return fmt.Sprintf("%s-%05d", dataPrefix, part)
}

// splitGroup returns a group's data prefix and part number.
func splitGroup(group string) (prefix string, part int, ok bool) {
	i := strings.LastIndexByte(group, '-')
	if i <= 0 || len(group)-i-1 != 5 {
		return "", 0, false
	}
	part, err := strconv.Atoi(group[i+1:])
	if err != nil || part < 0 {
		return "", 0, false
	}
	return group[:i], part, true
}

// SegmentName is the seq-th segment of a group.
func SegmentName(group string, seq int) string {
	return fmt.Sprintf("%s%s/%06d.jsonl", Folder, group, seq)
}

// GroupOf returns the group of a segment's name. Other names, and the
// temporary files of a local Put inside a group's folder, are not
// segments.
func GroupOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, Folder)
	if !ok {
		return "", false
	}
	group, file, ok := strings.Cut(rest, "/")
	if !ok || group == "" || strings.Contains(file, "/") || !strings.HasSuffix(file, ".jsonl") ||
		strings.HasPrefix(file, storage.TempPrefix) {
		return "", false
	}
	if _, _, ok := splitGroup(group); !ok {
		return "", false
	}
	return group, true
}

// IsJournalTemp reports whether name is a temporary file a killed run left
// inside the journal (a local Put's): never data.
func IsJournalTemp(name string) bool {
	return strings.HasPrefix(name, Folder) && strings.HasPrefix(path.Base(name), storage.TempPrefix)
}

// DataFileNames are the names a group's data file has, in either format.
func DataFileNames(group string) []string {
	return []string{group + ".jsonl", group + ".parquet"}
}

// Groups sorts the segments among names into their groups, each list in
// order, and says which groups are superseded: their data file is among
// names too, so their segments are copies, to be removed.
func Groups(names []string) (groups map[string][]string, superseded []string) {
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	groups = make(map[string][]string)
	for _, n := range names {
		if g, ok := GroupOf(n); ok {
			groups[g] = append(groups[g], n)
		}
	}
	for g, segments := range groups {
		slices.Sort(segments)
		if slices.ContainsFunc(DataFileNames(g), func(f string) bool { return present[f] }) {
			superseded = append(superseded, g)
		}
	}
	slices.Sort(superseded)
	return groups, superseded
}
