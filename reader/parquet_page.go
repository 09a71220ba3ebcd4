package reader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// The start of a data page: its levels, and how its values are read.

// reloadWhole reads the current page again from the file and decompresses
// it whole, then moves past its first slot level slots and decoded values,
// where the stream was: for a page whose compressed form reaches back
// further than the streaming window.
func (c *chunkReader) reloadWhole(slot, decoded int) error {
	c.whole = grow(c.whole, int(c.hdr.CompressedPageSize))
	if _, err := c.ra.ReadAt(c.whole, c.pageAt); err != nil && err != io.EOF {
		return err
	}
	if err := c.startPage(c.whole); err != nil {
		return err
	}
	for range slot {
		if c.leaf.maxRep > 0 {
			c.reps.next()
		}
		if c.leaf.maxDef > 0 {
			c.defs.next()
		}
	}
	for range decoded {
		if _, err := c.value(); err != nil {
			return err
		}
	}
	c.slot, c.decoded = slot, decoded
	return nil
}

// startPage starts a data page: from the chunk's stream when whole is nil,
// or else from whole, the page's compressed bytes read again.
func (c *chunkReader) startPage(whole []byte) error {
	var src byteSource = &c.page
	if whole != nil {
		src = bytes.NewReader(whole)
	}
	var (
		n                int
		enc              format.Encoding
		body             io.Reader
		repLevels, defs  []byte
		repEnc, defEnc   format.Encoding
		compressedValues = true
		err              error
	)
	size := int(c.hdr.UncompressedPageSize)
	switch h := c.hdr; {
	case h.Type == format.DataPage && h.DataPageHeader.Valid:
		v1 := h.DataPageHeader.V
		n, enc, repEnc, defEnc = int(v1.NumValues), v1.Encoding, v1.RepetitionLevelEncoding, v1.DefinitionLevelEncoding
	case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid:
		v2 := h.DataPageHeaderV2.V
		n, enc, repEnc, defEnc = int(v2.NumValues), v2.Encoding, format.RLE, format.RLE
		repLen, defLen := int(v2.RepetitionLevelsByteLength), int(v2.DefinitionLevelsByteLength)
		if repLen < 0 || defLen < 0 || repLen+defLen > int(h.CompressedPageSize) || repLen+defLen > size {
			return fmt.Errorf("%w: level sizes %d and %d", errCorruptPage, repLen, defLen)
		}
		if c.levelBuf, err = readN(src, c.levelBuf[:0], repLen+defLen); err != nil {
			return err
		}
		repLevels, defs = c.levelBuf[:repLen], c.levelBuf[repLen:]
		size -= repLen + defLen
		compressedValues = !v2.IsCompressed.Valid || v2.IsCompressed.V
	default:
		return fmt.Errorf("%w: %s without its header", errCorruptPage, h.Type)
	}
	if n < 0 {
		return fmt.Errorf("%w: %d values", errCorruptPage, n)
	}
	switch {
	case !compressedValues:
		body = src
	case whole != nil:
		rest := whole[len(whole)-src.(*bytes.Reader).Len():]
		if c.wholeOut, err = c.codec.whole(c.wholeOut, rest, size); err != nil {
			return err
		}
		body = bytes.NewReader(c.wholeOut)
	default:
		if body, err = c.codec.open(src, size); err != nil {
			return err
		}
	}
	c.values.Reset(body)
	if c.hdr.Type == format.DataPage { // V1: the levels are in the body
		if repLevels, err = c.levelsV1(repEnc, c.leaf.maxRep, n, 0); err != nil {
			return fmt.Errorf("repetition levels: %w", err)
		}
		if defs, err = c.levelsV1(defEnc, c.leaf.maxDef, n, len(repLevels)); err != nil {
			return fmt.Errorf("definition levels: %w", err)
		}
	}
	resetLevels(&c.reps, repEnc, repLevels, c.leaf.maxRep, n)
	resetLevels(&c.defs, defEnc, defs, c.leaf.maxDef, n)
	c.slots, c.slot, c.decoded = n, 0, 0
	return c.startValues(enc, size)
}

// resetLevels starts decoding n levels up to max from data.
func resetLevels(d *rleDecoder, enc format.Encoding, data []byte, max, n int) {
	if enc == format.BitPacked {
		d.resetBitPacked(data, levelWidth(max), n)
	} else {
		d.reset(data, levelWidth(max))
	}
}

// levelsV1 reads the levels of a data page v1 into levelBuf after its
// first at bytes, and returns them: RLE with a 4-byte length, or the
// deprecated BIT_PACKED.
func (c *chunkReader) levelsV1(enc format.Encoding, maxLevel, n, at int) ([]byte, error) {
	if maxLevel == 0 {
		return nil, nil
	}
	var size int
	switch enc {
	case format.RLE:
		var b [4]byte
		if _, err := io.ReadFull(c.values, b[:]); err != nil {
			return nil, err
		}
		size = int(binary.LittleEndian.Uint32(b[:]))
	case format.BitPacked:
		size = (n*int(levelWidth(maxLevel)) + 7) / 8
	default:
		return nil, fmt.Errorf("%w: levels in encoding %s", errCorruptPage, enc)
	}
	if size > int(c.hdr.UncompressedPageSize) {
		return nil, fmt.Errorf("%w: %d bytes of levels in a page of %d", errCorruptPage, size, c.hdr.UncompressedPageSize)
	}
	var err error
	c.levelBuf, err = readN(c.values, c.levelBuf[:at], size)
	return c.levelBuf[at:], err
}

// levelWidth is the bit width of levels up to max.
func levelWidth(max int) uint { return uint(bits.Len(uint(max))) }

// startValues prepares the decoding of the page's values.
func (c *chunkReader) startValues(enc format.Encoding, size int) error {
	c.boolBits = 0
	switch {
	case enc == format.Plain:
		c.mode = plainValues
		return nil
	case enc == format.PlainDictionary || enc == format.RLEDictionary:
		if c.dict.n < 0 {
			return fmt.Errorf("%w: dictionary-encoded values without a dictionary page", errCorruptPage)
		}
		width, err := c.values.ReadByte()
		if err == io.EOF {
			width, err = 0, nil // a page of nulls; a value read from it fails
		}
		if err != nil || width > 32 {
			return fmt.Errorf("%w: dictionary index width", errCorruptPage)
		}
		if err := c.readRest(size); err != nil {
			return err
		}
		c.mode = dictValues
		c.indexes.reset(c.encoded, uint(width))
		return nil
	case enc == format.RLE && c.leaf.kind == parquet.Boolean:
		if err := c.readRest(size); err != nil {
			return err
		}
		if len(c.encoded) < 4 || int(binary.LittleEndian.Uint32(c.encoded)) > len(c.encoded)-4 {
			return fmt.Errorf("%w: RLE booleans", errCorruptPage)
		}
		c.mode = rleBoolValues
		c.indexes.reset(c.encoded[4:4+binary.LittleEndian.Uint32(c.encoded)], 1)
		return nil
	case enc == format.DeltaLengthByteArray || enc == format.DeltaByteArray:
		c.mode = deltaValues
		return c.startDeltaLengths(enc == format.DeltaByteArray)
	}
	// DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT: numbers, decoded whole by
	// parquet-go (8 bytes a value at most) and read back as PLAIN.
	if err := c.readRest(size); err != nil {
		return err
	}
	plain, err := toPlain(enc, c.leaf, c.encoded)
	if err != nil {
		return err
	}
	c.encoded = plain
	c.mode = plainValues
	c.values.Reset(bytes.NewReader(plain))
	return nil
}

// readRest reads what is left of the page's values into encoded.
func (c *chunkReader) readRest(size int) error {
	c.encoded = c.encoded[:0]
	for {
		at := len(c.encoded)
		c.encoded = grow(c.encoded, at+min(max(at, 4<<10), 1<<20))
		n, err := io.ReadFull(c.values, c.encoded[at:])
		c.encoded = c.encoded[:at+n]
		switch {
		case len(c.encoded) > size:
			return fmt.Errorf("%w: more than its %d bytes", errCorruptPage, size)
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return err
		}
	}
}
