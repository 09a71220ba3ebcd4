// Package shard splits a job between workers: which records a worker owns
// (a stable hash of the record id) and the names of its files in the
// shared output.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one part of a sharded job; Count 0 or 1 means not sharded.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Sharded reports whether the job is split between workers.
func (s Shard) Sharded() bool { return s.Count > 1 }

// Owns reports whether a record with this id belongs to the shard: a
// stable hash of the id, so every worker of a job, on any machine, splits
// the same inputs the same way without talking to the others.
func (s Shard) Owns(id string) bool {
	if !s.Sharded() {
		return true
	}
	return int(HashID(id)%uint64(s.Count)) == s.Index
}

// HashID is FNV-1a of a record id: stable across runs, machines and
// versions.
func HashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func (s Shard) String() string {
	if !s.Sharded() {
		return "unsharded"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// tag is the shard's part of file names: "s0003of0008", "" when unsharded.
func (s Shard) tag() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("s%04dof%04d", s.Index, s.Count)
}

// DataPrefix is the name prefix of the data files one run of this shard
// writes: part-<shard tag>-<run id>.
func (s Shard) DataPrefix(runID string) string {
	if tag := s.tag(); tag != "" {
		return "part-" + tag + "-" + runID
	}
	return "part-" + runID
}

// ManifestName is the shard's own manifest: _manifest.json when unsharded,
// _manifest-s0003of0008.json for a shard, so shards never overwrite each
// other's.
func (s Shard) ManifestName() string {
	if tag := s.tag(); tag != "" {
		return "_manifest-" + tag + ".json"
	}
	return "_manifest.json"
}

// RunManifestName is where one run of the shard keeps its own manifest,
// beside the shard's cumulative one: _runs/<run id>.json, or
// _runs/<run id>-s0003of0008.json for a shard.
func (s Shard) RunManifestName(runID string) string {
	if tag := s.tag(); tag != "" {
		return "_runs/" + runID + "-" + tag + ".json"
	}
	return "_runs/" + runID + ".json"
}

// LeaseName is the shard's lease, held by the one run writing the shard:
// _lease.json, or _lease-s0003of0008.json for a shard, so shards of one
// job run side by side.
func (s Shard) LeaseName() string {
	if tag := s.tag(); tag != "" {
		return "_lease-" + tag + ".json"
	}
	return "_lease.json"
}

// BatchStateName is the name of the shard's batch-inference state file:
// its parts and their jobs (_batch.json, _batch-s0003of0008.json).
func (s Shard) BatchStateName() string {
	if tag := s.tag(); tag != "" {
		return "_batch-" + tag + ".json"
	}
	return "_batch.json"
}

// Parse parses "I/N" (0 <= I < N).
func Parse(text string) (Shard, error) {
	index, count, ok := strings.Cut(text, "/")
	i, errI := strconv.Atoi(strings.TrimSpace(index))
	n, errN := strconv.Atoi(strings.TrimSpace(count))
	if !ok || errI != nil || errN != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 <= I < N, for example 0/4", text)
	}
	return Shard{Index: i, Count: n}, nil
}

// FromEnv is the shard a scheduler assigns: AWS Batch array jobs set
// AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE; Kubernetes
// Indexed Jobs set JOB_COMPLETION_INDEX, with the count from --shards
// (shards). It returns a zero Shard when neither applies.
func FromEnv(getenv func(string) string, shards int) (Shard, error) {
	if index := getenv("AWS_BATCH_JOB_ARRAY_INDEX"); index != "" {
		size := getenv("AWS_BATCH_JOB_ARRAY_SIZE")
		if size == "" && shards > 0 {
			size = strconv.Itoa(shards)
		}
		s, err := Parse(index + "/" + size)
		if err != nil {
			return Shard{}, fmt.Errorf("AWS_BATCH_JOB_ARRAY_INDEX=%s, AWS_BATCH_JOB_ARRAY_SIZE=%s: %w", index, size, err)
		}
		return s, nil
	}
	if index := getenv("JOB_COMPLETION_INDEX"); index != "" {
		if shards < 1 {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%s is set (a Kubernetes Indexed Job): give --shards N, the Job's completions", index)
		}
		s, err := Parse(index + "/" + strconv.Itoa(shards))
		if err != nil {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%s with --shards %d: %w", index, shards, err)
		}
		return s, nil
	}
	if shards > 1 {
		return Shard{}, fmt.Errorf("--shards %d needs --shard I/N, AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX to say which shard this is", shards)
	}
	return Shard{}, nil
}
