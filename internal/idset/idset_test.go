package idset

import (
	"math/rand/v2"
	"testing"
)

func TestIDSet(t *testing.T) {
	var s Set
	if s.Get(42) != 0 {
		t.Fatal("an empty set holds an id")
	}
	want := map[uint64]uint8{}
	dice := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		h := dice.Uint64()
		if dice.IntN(10) == 0 {
			h &= StateBits // hashes that differ only in the state bits, and 0
		}
		bit := uint8(1) << dice.IntN(4)
		s.Or(h, bit)
		want[key(h)] |= bit
	}
	for k, state := range want {
		if got := s.Get(k); got != state {
			t.Fatalf("get(%x) = %b, want %b", k, got, state)
		}
	}
	if s.used != len(want) {
		t.Fatalf("%d ids used, want %d", s.used, len(want))
	}
	if s.Get(dice.Uint64()) != 0 {
		t.Fatal("an id never added has a state")
	}
}

func BenchmarkIDSet(b *testing.B) {
	var s Set
	for i := 0; b.Loop(); i++ {
		h := uint64(i) * 0x9E3779B97F4A7C15
		s.Or(h, 2)
		_ = s.Get(h)
	}
}

func TestAddHas(t *testing.T) {
	var s Set
	dice := rand.New(rand.NewPCG(3, 4))
	added := make([]uint64, 50000)
	for i := range added {
		added[i] = dice.Uint64()
		s.Add(added[i])
	}
	for _, h := range added {
		if !s.Has(h) {
			t.Fatalf("Has(%x) after Add is false", h)
		}
	}
	if s.Has(dice.Uint64()) {
		t.Fatal("an id never added is a member")
	}
	if s.Len() != len(added) {
		t.Fatalf("Len %d, want %d", s.Len(), len(added))
	}
}
