package reader

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// The delta encodings of byte arrays put every length of a page before its
// bytes: DELTA_LENGTH_BYTE_ARRAY (lengths, then the bytes; parquet-go's
// default for strings) and DELTA_BYTE_ARRAY (lengths of the prefix shared
// with the previous value, lengths of the suffixes, then the suffixes). A
// chunkReader decodes the lengths of a page (4 bytes a value) and streams
// the bytes.

// startDeltaLengths reads the lengths of a DELTA_LENGTH_BYTE_ARRAY or
// DELTA_BYTE_ARRAY page.
func (c *chunkReader) startDeltaLengths(prefixed bool) error {
	if c.leaf.kind != parquet.ByteArray && (!prefixed || c.leaf.kind != parquet.FixedLenByteArray) {
		return fmt.Errorf("%w: a delta byte array encoding in a %s column", errCorruptPage, c.leaf.kind)
	}
	var err error
	c.prefixes = c.prefixes[:0]
	if prefixed {
		if c.prefixes, err = readDeltaInts(c.values, c.prefixes, c.slots, &c.encoded); err != nil {
			return fmt.Errorf("prefix lengths: %w", err)
		}
	}
	if c.lengths, err = readDeltaInts(c.values, c.lengths[:0], c.slots, &c.encoded); err != nil {
		return fmt.Errorf("lengths: %w", err)
	}
	if prefixed && len(c.prefixes) != len(c.lengths) {
		return fmt.Errorf("%w: %d prefix lengths for %d suffixes", errCorruptPage, len(c.prefixes), len(c.lengths))
	}
	c.next, c.previous = 0, c.previous[:0]
	return nil
}

// deltaValue reads the next value of a delta byte array page.
func (c *chunkReader) deltaValue() (parquet.Value, error) {
	if c.next >= len(c.lengths) {
		return parquet.Value{}, fmt.Errorf("%w: more values than lengths", errCorruptPage)
	}
	size := int(c.lengths[c.next])
	if size < 0 || size > int(c.hdr.UncompressedPageSize) {
		return parquet.Value{}, fmt.Errorf("%w: a value of %d bytes in a page of %d", errCorruptPage, size, c.hdr.UncompressedPageSize)
	}
	var b []byte
	var err error
	if len(c.prefixes) == 0 { // DELTA_LENGTH_BYTE_ARRAY
		b, err = c.bytes(size)
	} else {
		prefix := int(c.prefixes[c.next])
		if prefix < 0 || prefix > len(c.previous) {
			return parquet.Value{}, fmt.Errorf("%w: a prefix of %d bytes of a value of %d", errCorruptPage, prefix, len(c.previous))
		}
		c.previous, err = readN(c.values, c.previous[:prefix], size)
		b = c.previous
		if c.rowValues { // the next value is built in previous
			at := len(c.valueBuf)
			c.valueBuf = append(c.valueBuf, b...)
			b = c.valueBuf[at:len(c.valueBuf):len(c.valueBuf)]
		}
	}
	c.next++
	if err != nil {
		return parquet.Value{}, err
	}
	if c.leaf.kind == parquet.FixedLenByteArray {
		if len(b) != c.leaf.typeLength {
			return parquet.Value{}, fmt.Errorf("%w: a value of %d bytes in a column of %d", errCorruptPage, len(b), c.leaf.typeLength)
		}
		return parquet.FixedLenByteArrayValue(b), nil
	}
	return parquet.ByteArrayValue(b), nil
}

// readDeltaInts decodes one DELTA_BINARY_PACKED sequence of at most limit
// values from r, appending them to dst; buf is scratch for the miniblocks.
func readDeltaInts(r *bufio.Reader, dst []int32, limit int, buf *[]byte) ([]int32, error) {
	blockSize, err1 := binary.ReadUvarint(r)
	miniBlocks, err2 := binary.ReadUvarint(r)
	total, err3 := binary.ReadUvarint(r)
	first, err4 := binary.ReadVarint(r)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return dst, unexpected(err)
		}
	}
	if blockSize == 0 || blockSize%128 != 0 || blockSize > 1<<20 || miniBlocks == 0 ||
		blockSize%miniBlocks != 0 || (blockSize/miniBlocks)%32 != 0 || total > uint64(limit) {
		return dst, fmt.Errorf("%w: delta header (block %d, miniblocks %d, values %d)", errCorruptPage, blockSize, miniBlocks, total)
	}
	if total == 0 {
		return dst, nil
	}
	count := uint64(1)
	v := first
	dst = append(dst, int32(v))
	perMini := int(blockSize / miniBlocks)
	widths := make([]byte, miniBlocks)
	for count < total {
		minDelta, err := binary.ReadVarint(r)
		if err != nil {
			return dst, unexpected(err)
		}
		if _, err := io.ReadFull(r, widths); err != nil {
			return dst, unexpected(err)
		}
		for _, w := range widths {
			if count >= total {
				break
			}
			if w > 64 {
				return dst, fmt.Errorf("%w: delta bit width %d", errCorruptPage, w)
			}
			*buf = grow(*buf, perMini*int(w)/8)
			if _, err := io.ReadFull(r, *buf); err != nil {
				return dst, unexpected(err)
			}
			for j := 0; j < perMini && count < total; j++ {
				v += minDelta + int64(bitsAt(*buf, uint(j)*uint(w), uint(w)))
				dst = append(dst, int32(v))
				count++
			}
		}
	}
	return dst, nil
}

// bitsAt is the w-bit value at bit offset bit of b, least significant bit
// first.
func bitsAt(b []byte, bit, w uint) uint64 {
	if w == 0 {
		return 0
	}
	i, shift := bit/8, bit%8
	var lo uint64
	for k := uint(0); k < 8 && int(i+k) < len(b); k++ {
		lo |= uint64(b[i+k]) << (8 * k)
	}
	v := lo >> shift
	if shift+w > 64 && int(i+8) < len(b) {
		v |= uint64(b[i+8]) << (64 - shift)
	}
	if w < 64 {
		v &= 1<<w - 1
	}
	return v
}

// unexpected turns the io.EOF of data that ends early into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
