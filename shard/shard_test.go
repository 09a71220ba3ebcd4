package shard

import (
	"strings"
	"testing"
)

func TestOwnsSplitsEveryIDOnce(t *testing.T) {
	const count = 7
	owners := make([]int, count)
	for i := range 10_000 {
		id := "rec-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune(i))
		n := 0
		for s := range count {
			if (Shard{Index: s, Count: count}).Owns(id) {
				owners[s]++
				n++
			}
		}
		if n != 1 {
			t.Fatalf("id %q has %d owners", id, n)
		}
	}
	for s, n := range owners {
		if n < 10_000/count/2 {
			t.Errorf("shard %d owns %d of 10,000 ids: the hash does not spread them", s, n)
		}
	}
	if !(Shard{}).Owns("anything") || !(Shard{Index: 0, Count: 1}).Owns("anything") {
		t.Error("an unsharded job does not own every id")
	}
}

// TestHashIDIsStable pins the hash: shards of one job on different
// machines, and runs before and after an upgrade, must split ids alike.
func TestHashIDIsStable(t *testing.T) {
	for id, want := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c} {
		if got := HashID(id); got != want {
			t.Errorf("HashID(%q) = %#x, want FNV-1a %#x", id, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	one, third := Shard{}, Shard{Index: 2, Count: 8}
	for _, tt := range []struct{ got, want string }{
		{one.ManifestName(), "_manifest.json"},
		{third.ManifestName(), "_manifest-s0002of0008.json"},
		{one.BatchStateName(), "_batch.json"},
		{third.BatchStateName(), "_batch-s0002of0008.json"},
		{one.LeaseName(), "_lease.json"},
		{third.LeaseName(), "_lease-s0002of0008.json"},
		{one.DataPrefix("RUN"), "part-RUN"},
		{third.DataPrefix("RUN"), "part-s0002of0008-RUN"},
		{one.RunManifestName("R"), "_runs/R.json"},
		{third.RunManifestName("R"), "_runs/R-s0002of0008.json"},
		{one.String(), "unsharded"},
		{third.String(), "2/8"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		shards int
		want   Shard
		err    string
	}{
		{"nothing", nil, 0, Shard{}, ""},
		{"AWS Batch array job", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "3", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, 0, Shard{Index: 3, Count: 10}, ""},
		{"AWS Batch without a size uses --shards", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "3"}, 4, Shard{Index: 3, Count: 4}, ""},
		{"Kubernetes Indexed Job", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 4, Shard{Index: 1, Count: 4}, ""},
		{"Kubernetes without --shards", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, Shard{}, "give --shards N"},
		{"index out of range", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "10", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, 0, Shard{}, "0 <= I < N"},
		{"--shards without an index", nil, 4, Shard{}, "needs --shard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tt.env[k] }, tt.shards)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one holding %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FromEnv = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
