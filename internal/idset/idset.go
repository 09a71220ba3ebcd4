// Package idset is a compact set of record ids by their 64-bit hashes, with
// a few bits of state each: a million ids in at most 16 MB.
package idset

import "math/bits"

// Set maps 64-bit id hashes to a few state bits in one uint64 per id: the
// top 60 bits of the hash and 4 bits of state, in an open-addressing table
// kept at most three quarters full. A million ids take 16 MB at most, about
// a fifth of a Go map of the same. Two hashes that differ only in their low
// 4 bits are one id: at a million ids, a chance of about 1 in 2 million that
// any two collide. The zero value is empty and ready; it is not safe for
// concurrent use.
type Set struct {
	slots []uint64 // 0 is an empty slot
	used  int
	shift uint // 64 - log2(len(slots))
}

// StateBits are the bits of state an id can hold.
const StateBits = 0xF

// key is the hash with its low bits cleared for the state, never 0.
func key(h uint64) uint64 {
	if k := h &^ StateBits; k != 0 {
		return k
	}
	return 1 << 4
}

// home is where probing for k starts (Fibonacci hashing of the key).
func (s *Set) home(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> s.shift)
}

// find returns the slot of k, or the empty slot where it would go.
func (s *Set) find(k uint64) int {
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		if v := s.slots[i]; v == 0 || v&^StateBits == k {
			return i
		}
	}
}

// Get returns the state of the id with hash h, 0 when it is absent.
func (s *Set) Get(h uint64) uint8 {
	if s.used == 0 {
		return 0
	}
	return uint8(s.slots[s.find(key(h))] & StateBits)
}

// Or sets bits in the state of the id with hash h, adding it if need be
// (with no bits, it is added with state 0, which Get cannot tell from
// absent: use Add for membership).
func (s *Set) Or(h uint64, state uint8) {
	if (s.used+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	k := key(h)
	i := s.find(k)
	if s.slots[i] == 0 {
		s.used++
		s.slots[i] = k
	}
	s.slots[i] |= uint64(state) & StateBits
}

func (s *Set) grow() {
	size := max(1024, 2*len(s.slots))
	old := s.slots
	s.slots = make([]uint64, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, v := range old {
		if v != 0 {
			s.slots[s.find(v&^StateBits)] = v
		}
	}
}

// Member is the state bit Add sets and Has reads.
const Member = 1

// Add adds the id with hash h.
func (s *Set) Add(h uint64) { s.Or(h, Member) }

// Has reports whether the id with hash h was added.
func (s *Set) Has(h uint64) bool { return s.Get(h)&Member != 0 }

// Len is how many ids the set holds.
func (s *Set) Len() int { return s.used }
