package ledger

import "math/bits"

// idSet maps 64-bit id hashes to a few state bits in one uint64 per id: the
// top 60 bits of the hash and 4 bits of state, in an open-addressing table
// kept at most three quarters full. A million ids take 16 MB at most, about
// a fifth of a Go map of the same.
type idSet struct {
	slots []uint64 // 0 is an empty slot
	used  int
	shift uint // 64 - log2(len(slots))
}

const stateBits = 0xF

// key is the hash with its low bits cleared for the state, never 0.
func key(h uint64) uint64 {
	if k := h &^ stateBits; k != 0 {
		return k
	}
	return 1 << 4
}

// home is where probing for k starts (Fibonacci hashing of the key).
func (s *idSet) home(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> s.shift)
}

// find returns the slot of k, or the empty slot where it would go.
func (s *idSet) find(k uint64) int {
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		if v := s.slots[i]; v == 0 || v&^stateBits == k {
			return i
		}
	}
}

// get returns the state of the id with hash h, 0 when it is absent.
func (s *idSet) get(h uint64) uint8 {
	if s.used == 0 {
		return 0
	}
	return uint8(s.slots[s.find(key(h))] & stateBits)
}

// or sets bits in the state of the id with hash h, adding it if need be.
func (s *idSet) or(h uint64, state uint8) {
	if (s.used+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	k := key(h)
	i := s.find(k)
	if s.slots[i] == 0 {
		s.used++
		s.slots[i] = k
	}
	s.slots[i] |= uint64(state) & stateBits
}

func (s *idSet) grow() {
	size := max(1024, 2*len(s.slots))
	old := s.slots
	s.slots = make([]uint64, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, v := range old {
		if v != 0 {
			s.slots[s.find(v&^stateBits)] = v
		}
	}
}
