package reader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/bitpacked"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/pierrec/lz4/v4"
)

// TestRLEDecoder decodes what parquet-go's encoders wrote: RLE/bit-packed
// hybrid values of every width, with runs and without, and the deprecated
// BIT_PACKED levels.
func TestRLEDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for width := uint(0); width <= 32; width++ {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			values := make([]int32, 0, 5000)
			for len(values) < 4993 {
				v := int32(rng.Uint64() & (1<<width - 1))
				n := 1
				if rng.IntN(3) == 0 {
					n = rng.IntN(200) // a run
				}
				for range n {
					values = append(values, v)
				}
			}
			enc := rle.Encoding{BitWidth: int(width)}
			data, err := enc.EncodeInt32(nil, values)
			if err != nil {
				t.Fatal(err)
			}
			var d rleDecoder
			d.reset(data, width)
			for i, want := range values {
				got, err := d.next()
				if err != nil || got != uint32(want) {
					t.Fatalf("value %d: %d, %v; want %d", i, got, err, want)
				}
			}
			if width > 0 && width <= 8 {
				levels := make([]uint8, len(values))
				for i, v := range values {
					levels[i] = uint8(v)
				}
				packed, err := (&bitpacked.Encoding{BitWidth: int(width)}).EncodeLevels(nil, levels)
				if err != nil {
					t.Fatal(err)
				}
				d.resetBitPacked(packed, width, len(levels))
				for i, want := range levels {
					got, err := d.next()
					if err != nil || got != uint32(want) {
						t.Fatalf("BIT_PACKED level %d: %d, %v; want %d", i, got, err, want)
					}
				}
				if _, err := d.next(); err == nil {
					t.Error("no error after the last BIT_PACKED level")
				}
			}
		})
	}
}

// compressible makes n bytes of text that repeats phrases from up to
// reach bytes back.
func compressible(rng *rand.Rand, n, reach int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		if len(out) > 64 && rng.IntN(2) == 0 {
			back := 1 + rng.IntN(min(len(out), reach)-1)
			k := min(4+rng.IntN(300), n-len(out))
			for i := range k { // may overlap: a run
				out = append(out, out[len(out)-back+i%back])
			}
			continue
		}
		for range min(1+rng.IntN(100), n-len(out)) {
			out = append(out, 'a'+byte(rng.IntN(26)))
		}
	}
	return out
}

// nearSnappy encodes src as snappy with matches found at the given
// distances, in all three copy forms, and literals up to 100 KB long: a
// block whose references stay within the largest distance.
func nearSnappy(src []byte, distances []int) []byte {
	dst := binary.AppendUvarint(nil, uint64(len(src)))
	lit := 0
	flush := func(end int) {
		for lit < end {
			n := min(end-lit, 100_000)
			switch {
			case n <= 60:
				dst = append(dst, byte(n-1)<<2)
			case n <= 256:
				dst = append(dst, 60<<2, byte(n-1))
			default:
				dst = append(dst, 62<<2, byte(n-1), byte((n-1)>>8), byte((n-1)>>16))
			}
			dst = append(dst, src[lit:lit+n]...)
			lit += n
		}
	}
	for i := 0; i < len(src); {
		best, dist := 0, 0
		for _, d := range distances {
			n := 0
			for i >= d && i+n < len(src) && n < 64 && src[i+n] == src[i+n-d] {
				n++
			}
			if n > best {
				best, dist = n, d
			}
		}
		if best < 4 {
			i++
			continue
		}
		flush(i)
		switch {
		case best <= 11 && dist < 2048:
			dst = append(dst, byte(dist>>8)<<5|byte(best-4)<<2|1, byte(dist))
		case dist < 1<<16:
			dst = append(dst, byte(best-1)<<2|2, byte(dist), byte(dist>>8))
		default:
			dst = append(dst, byte(best-1)<<2|3, byte(dist), byte(dist>>8), byte(dist>>16), byte(dist>>24))
		}
		i += best
		lit = i
	}
	flush(len(src))
	return dst
}

// readWindowed decompresses a block with a windowReader, reading in
// uneven pieces.
func readWindowed(block []byte, format blockFormat, window, size int) ([]byte, error) {
	var d windowReader
	d.reset(bytes.NewReader(block), format, window, size)
	var out []byte
	buf := make([]byte, 70_000)
	for i := 0; ; i++ {
		n, err := d.Read(buf[:1+i*7919%len(buf)])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestWindowReader decompresses snappy and LZ4 blocks of several MB as
// streams: the output matches the input, and a reference beyond the window
// is errWindow, never wrong bytes.
func TestWindowReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	data := compressible(rng, 5<<20, 1<<20)
	t.Run("snappy within the window", func(t *testing.T) {
		block := nearSnappy(data, []int{1, 3, 100, 2000, 40_000, 70_000, snappyWindow})
		if ref, err := parquet.Snappy.Decode(nil, block); err != nil || !bytes.Equal(ref, data) {
			t.Fatalf("the test encoder is wrong: %v", err)
		}
		got, err := readWindowed(block, snappyBlock, snappyWindow, len(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("got %d bytes, %v; want the %d bytes encoded", len(got), err, len(data))
		}
	})
	t.Run("snappy beyond the window", func(t *testing.T) {
		block := nearSnappy(data, []int{5, snappyWindow + 1})
		got, err := readWindowed(block, snappyBlock, snappyWindow, len(data))
		if !errors.Is(err, errWindow) || !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("error %v after %d bytes (correct: %t); want errWindow", err, len(got), bytes.Equal(got, data[:len(got)]))
		}
	})
	t.Run("snappy as parquet-go writes it", func(t *testing.T) {
		block, err := parquet.Snappy.Encode(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readWindowed(block, snappyBlock, snappyWindow, len(data))
		if !errors.Is(err, errWindow) && (err != nil || !bytes.Equal(got, data)) {
			t.Fatalf("got %d bytes, %v", len(got), err)
		}
		t.Logf("%d bytes, then %v", len(got), err)
	})
	t.Run("lz4", func(t *testing.T) {
		for _, d := range [][]byte{data, make([]byte, 3<<20), []byte("x"), nil} {
			block := make([]byte, lz4.CompressBlockBound(len(d)))
			n, err := lz4.CompressBlock(d, block, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 { // incompressible: LZ4_RAW stores one literal run
				block = append(lz4Literals(len(d)), d...)
				n = len(block)
			}
			got, err := readWindowed(block[:n], lz4Block, lz4Window, len(d))
			if err != nil || !bytes.Equal(got, d) {
				t.Fatalf("%d bytes: got %d, %v", len(d), len(got), err)
			}
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		block := nearSnappy(data[:100_000], []int{1, 50})
		for _, cut := range []int{3, len(block) / 2, len(block) - 1} {
			if _, err := readWindowed(block[:cut], snappyBlock, snappyWindow, 100_000); !errors.Is(err, errCorruptBlock) {
				t.Errorf("cut at %d: %v, want errCorruptBlock", cut, err)
			}
		}
		if _, err := readWindowed([]byte{0x10, 0x02, 0x00, 0x10}, snappyBlock, snappyWindow, 16); !errors.Is(err, errCorruptBlock) {
			t.Errorf("a copy from before the start: %v, want errCorruptBlock", err)
		}
	})
}

// lz4Literals is the token and length bytes of an LZ4 sequence of n
// literals and no match.
func lz4Literals(n int) []byte {
	if n < 15 {
		return []byte{byte(n) << 4}
	}
	out := []byte{0xf0}
	for n -= 15; n >= 255; n -= 255 {
		out = append(out, 255)
	}
	return append(out, byte(n))
}
