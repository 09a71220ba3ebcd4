package reader

import (
	"encoding/binary"
	"errors"
	"math"
)

// errRLE is the error of RLE/bit-packed data that ends early or is malformed.
var errRLE = errors.New("malformed RLE/bit-packed data")

// rleDecoder reads the RLE/bit-packed hybrid encoding of Parquet (levels,
// dictionary indexes, RLE booleans) one value at a time from encoded bytes
// held in memory: the encoded form is small beside the page, and decoding
// lazily keeps a page of a million values from turning into a million ints.
type rleDecoder struct {
	data     []byte
	bitWidth uint
	mask     uint64
	left     int    // values left in the current run
	rle      bool   // the current run repeats value
	value    uint32 // of an RLE run
	packed   []byte // of a bit-packed run
	bit      uint   // offset in packed of the next value
	msb      bool   // packed is the deprecated BIT_PACKED encoding of levels
}

// reset starts decoding data with values of bitWidth bits (0 to 32).
func (d *rleDecoder) reset(data []byte, bitWidth uint) {
	*d = rleDecoder{data: data, bitWidth: bitWidth, mask: 1<<bitWidth - 1}
}

// resetBitPacked starts decoding the deprecated BIT_PACKED encoding of n
// levels: bitWidth bits each, from the most significant bit of each byte.
func (d *rleDecoder) resetBitPacked(data []byte, bitWidth uint, n int) {
	*d = rleDecoder{packed: data, bitWidth: bitWidth, left: n, msb: true}
}

// next returns the next value.
func (d *rleDecoder) next() (uint32, error) {
	if d.msb {
		return d.nextMSB()
	}
	for d.left == 0 {
		if err := d.nextRun(); err != nil {
			return 0, err
		}
	}
	d.left--
	if d.rle {
		return d.value, nil
	}
	var x uint64
	i := d.bit / 8
	for k := uint(0); k < 5 && int(i+k) < len(d.packed); k++ {
		x |= uint64(d.packed[i+k]) << (8 * k)
	}
	v := uint32(x >> (d.bit % 8) & d.mask)
	d.bit += d.bitWidth
	return v, nil
}

// nextRun reads the header of the next run.
func (d *rleDecoder) nextRun() error {
	h, n := binary.Uvarint(d.data)
	if n <= 0 {
		return errRLE
	}
	d.data = d.data[n:]
	count := h >> 1
	if count == 0 || count > math.MaxInt32 {
		return errRLE
	}
	if h&1 == 0 { // RLE run: the value in ceil(bitWidth/8) bytes
		w := int(d.bitWidth+7) / 8
		if len(d.data) < w {
			return errRLE
		}
		var v uint32
		for k := w - 1; k >= 0; k-- {
			v = v<<8 | uint32(d.data[k])
		}
		d.data = d.data[w:]
		d.rle, d.value, d.left = true, v, int(count)
		return nil
	}
	// Bit-packed run of count groups of 8 values. Some writers cut the last
	// run short of its padding: take the values its bytes hold.
	size := count * uint64(d.bitWidth)
	values := count * 8
	if size > uint64(len(d.data)) {
		size = uint64(len(d.data))
		if d.bitWidth > 0 {
			values = size * 8 / uint64(d.bitWidth)
		}
		if values == 0 {
			return errRLE
		}
	}
	d.packed, d.data = d.data[:size], d.data[size:]
	d.rle, d.bit, d.left = false, 0, int(values)
	return nil
}

// nextMSB returns the next value of the deprecated BIT_PACKED encoding.
func (d *rleDecoder) nextMSB() (uint32, error) {
	if d.left == 0 || (d.bit+d.bitWidth+7)/8 > uint(len(d.packed)) {
		return 0, errRLE
	}
	d.left--
	var v uint32
	for range d.bitWidth {
		v = v<<1 | uint32(d.packed[d.bit/8]>>(7-d.bit%8)&1)
		d.bit++
	}
	return v, nil
}
