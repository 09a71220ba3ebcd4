package reader

import (
	"encoding/binary"
	"io"
)

// blockFormat is a compression format of literals and back-references
// within one block.
type blockFormat uint8

const (
	snappyBlock blockFormat = iota + 1 // Parquet SNAPPY: one raw snappy block
	lz4Block                           // Parquet LZ4_RAW: one LZ4 block
)

// windowReader decompresses one snappy or LZ4 block as a stream, keeping
// only the last window bytes of output for the back-references to copy
// from. A back-reference further back is errWindow: the page must then be
// decompressed whole. Neither format has a streaming form in Parquet, but
// the encoders that write them reach back a bounded distance.
type windowReader struct {
	src    byteSource
	format blockFormat
	window int
	buf    []byte
	r, w   int   // unread output is buf[r:w]; buf[:w] is the history
	out    int64 // bytes produced so far
	size   int64 // bytes the block decompresses to
	err    error // sticky

	literal  int  // literal bytes still to copy from src
	offset   int  // of the match being copied
	match    int  // match bytes still to copy
	lz4Match int  // the match length nibble of the LZ4 token just read
	inLZ4Seq bool // an LZ4 sequence's literals are done, its match is next
}

// reset starts a block read from src that decompresses to size bytes,
// with a window of up to window bytes: a smaller block needs no more than
// itself.
func (d *windowReader) reset(src byteSource, format blockFormat, window, size int) {
	window = min(window, size)
	need := window + min(windowRoom, size+1)
	if cap(d.buf) < need {
		d.buf = make([]byte, need)
	}
	*d = windowReader{src: src, format: format, window: window, buf: d.buf[:need], size: int64(size)}
	if format == snappyBlock {
		n, err := binary.ReadUvarint(src)
		switch {
		case err != nil:
			d.err = errCorruptBlock
		case n != uint64(size):
			d.size = int64(min(n, 1<<40))
		}
	}
}

// Read reads decompressed bytes.
func (d *windowReader) Read(p []byte) (int, error) {
	for d.r == d.w {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
	}
	n := copy(p, d.buf[d.r:d.w])
	d.r += n
	return n, nil
}

// all decompresses the whole block into the buffer and returns it: for a
// block read whole, whose window is its size.
func (d *windowReader) all() ([]byte, error) {
	for d.err == nil {
		d.fill() // never moves the window: it holds the whole block
	}
	if d.err != io.EOF {
		return nil, d.err
	}
	return d.buf[:d.w], nil
}

// fill produces output until the buffer is full or the block ends; it is
// called when all output so far was read.
func (d *windowReader) fill() {
	if d.w > d.window { // keep the last window bytes as history
		copy(d.buf, d.buf[d.w-d.window:d.w])
		d.w = d.window
		d.r = d.w
	}
	for d.w < len(d.buf) && d.err == nil {
		switch {
		case d.literal > 0:
			n := min(d.literal, len(d.buf)-d.w)
			if _, err := io.ReadFull(d.src, d.buf[d.w:d.w+n]); err != nil {
				d.err = errCorruptBlock
				return
			}
			d.produce(n)
			d.literal -= n
		case d.match > 0:
			n := min(d.match, len(d.buf)-d.w)
			from, end := d.w-d.offset, d.w+n
			for w := d.w; w < end; { // a match longer than its offset repeats: each copy doubles
				w += copy(d.buf[w:end], d.buf[from:w])
			}
			d.produce(n)
			d.match -= n
		case d.out == d.size && d.format == snappyBlock:
			d.err = io.EOF
		case d.format == snappyBlock:
			d.snappyElement()
		default:
			d.lz4Step()
		}
	}
}

// produce counts n bytes written at w.
func (d *windowReader) produce(n int) {
	d.w += n
	d.out += int64(n)
	if d.out > d.size {
		d.err = errCorruptBlock
	}
}

// startMatch checks a back-reference and starts copying it.
func (d *windowReader) startMatch(offset, length int) {
	switch {
	case offset <= 0 || int64(offset) > d.out:
		d.err = errCorruptBlock
	case offset > d.window:
		d.err = errWindow
	default:
		d.offset, d.match = offset, length
	}
}

// snappyElement reads the tag of the next snappy literal or copy.
func (d *windowReader) snappyElement() {
	tag, err := d.src.ReadByte()
	if err != nil {
		d.err = errCorruptBlock
		return
	}
	var b [4]byte
	switch tag & 3 {
	case 0: // literal
		n := int(tag >> 2)
		if n >= 60 {
			k := n - 59
			if _, err := io.ReadFull(d.src, b[:k]); err != nil {
				d.err = errCorruptBlock
				return
			}
			n = int(binary.LittleEndian.Uint32(b[:]))
		}
		d.literal = n + 1
	case 1: // copy, 1-byte offset
		o, err := d.src.ReadByte()
		if err != nil {
			d.err = errCorruptBlock
			return
		}
		d.startMatch(int(tag>>5)<<8|int(o), 4+int(tag>>2&7))
	case 2: // copy, 2-byte offset
		if _, err := io.ReadFull(d.src, b[:2]); err != nil {
			d.err = errCorruptBlock
			return
		}
		d.startMatch(int(binary.LittleEndian.Uint16(b[:2])), 1+int(tag>>2))
	case 3: // copy, 4-byte offset
		if _, err := io.ReadFull(d.src, b[:4]); err != nil {
			d.err = errCorruptBlock
			return
		}
		d.startMatch(int(binary.LittleEndian.Uint32(b[:])), 1+int(tag>>2))
	}
}

// lz4Step reads the next LZ4 token and its literal length, or, once the
// literals are copied, the match of the sequence. The last sequence has no
// match: the block ends after its literals.
func (d *windowReader) lz4Step() {
	if !d.inLZ4Seq {
		token, err := d.src.ReadByte()
		if err == io.EOF && d.out == d.size && d.out > 0 {
			d.err = io.EOF
			return
		}
		if err != nil {
			d.err = errCorruptBlock
			return
		}
		n, ok := d.lz4Length(int(token >> 4))
		if !ok {
			return
		}
		d.literal, d.lz4Match, d.inLZ4Seq = n, int(token&15), true
		return
	}
	d.inLZ4Seq = false
	var b [2]byte
	if _, err := io.ReadFull(d.src, b[:1]); err == io.EOF {
		if d.out == d.size {
			d.err = io.EOF
		} else {
			d.err = errCorruptBlock
		}
		return
	}
	if _, err := io.ReadFull(d.src, b[1:]); err != nil {
		d.err = errCorruptBlock
		return
	}
	n, ok := d.lz4Length(d.lz4Match)
	if ok {
		d.startMatch(int(binary.LittleEndian.Uint16(b[:])), n+4)
	}
}

// lz4Length reads the extra bytes of an LZ4 length whose nibble is 15.
func (d *windowReader) lz4Length(n int) (int, bool) {
	if n < 15 {
		return n, true
	}
	for {
		b, err := d.src.ReadByte()
		if err != nil || n > 1<<31 {
			d.err = errCorruptBlock
			return 0, false
		}
		n += int(b)
		if b != 255 {
			return n, true
		}
	}
}
