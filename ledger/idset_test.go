package ledger

import (
	"math/rand/v2"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

func TestIDSet(t *testing.T) {
	var s idSet
	if s.get(42) != 0 {
		t.Fatal("an empty set holds an id")
	}
	want := map[uint64]uint8{}
	dice := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		h := dice.Uint64()
		if dice.IntN(10) == 0 {
			h &= stateBits // hashes that differ only in the state bits, and 0
		}
		bit := uint8(1) << dice.IntN(4)
		s.or(h, bit)
		want[key(h)] |= bit
	}
	for k, state := range want {
		if got := s.get(k); got != state {
			t.Fatalf("get(%x) = %b, want %b", k, got, state)
		}
	}
	if s.used != len(want) {
		t.Fatalf("%d ids used, want %d", s.used, len(want))
	}
	if s.get(dice.Uint64()) != 0 {
		t.Fatal("an id never added has a state")
	}
}

func BenchmarkIDSet(b *testing.B) {
	var s idSet
	for i := 0; b.Loop(); i++ {
		h := shard.HashID(string(rune(i)))
		s.or(h, seenThisRun)
		_ = s.get(h)
	}
}
