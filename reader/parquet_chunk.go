package reader

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Buffer sizes of a chunkReader.
const (
	// chunkBufferSize is the read buffer over the compressed bytes of a
	// column chunk: the size of each ReadAt.
	chunkBufferSize = 128 << 10
	// valueBufferSize is the buffer over the decompressed values of a
	// page; a byte array up to this size is handed on without a copy.
	valueBufferSize = 64 << 10
	// largeValue is the size above which a value is read into a buffer of
	// its own, not kept once handed on.
	largeValue = 1 << 20
	// trustedSize is the largest value or page part allocated at once.
	trustedSize = 64 << 20
	// maxWholePage is the largest page decompressed whole.
	maxWholePage = 1 << 30
)

// errCorruptPage is a page whose contents do not match its header.
var errCorruptPage = errors.New("corrupt page")

// leafColumn is what a chunkReader needs to know of its column.
type leafColumn struct {
	index          int
	path           string // dotted, for errors
	kind           parquet.Kind
	typeLength     int // of a FIXED_LEN_BYTE_ARRAY
	maxRep, maxDef int
}

// valueMode is how the values of a data page are encoded.
type valueMode uint8

const (
	plainValues   valueMode = iota // PLAIN, or another encoding decoded to PLAIN
	dictValues                     // indexes into the dictionary
	rleBoolValues                  // booleans in the RLE encoding
	deltaValues                    // DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
)

// chunkReader reads the values of one column chunk a row at a time. It
// holds the current page only as a stream: the compressed bytes through a
// small buffer, the decompressor's window, the encoded levels, and the value
// being handed on; never the page's values. It reads the column chunk alone
// (with ReadAt), so a file's other columns are never fetched.
type chunkReader struct {
	leaf     leafColumn
	ra       io.ReaderAt
	codec    streamCodec
	sec      *io.SectionReader // the chunk
	base     int64             // file offset of sec
	src      *bufio.Reader     // over sec
	proto    thrift.CompactProtocol
	hdrBytes thrift.BytesReader // page headers, decoded from bytes in memory
	thrift   *thrift.Decoder    // over hdrBytes
	hdrBuf   []byte             // a page header larger than src's buffer
	slotLeft int64              // level slots of the chunk not yet in a page
	dict     dictionary
	pageNum  int // pages started, for errors

	// The current data page.
	hdr       format.PageHeader
	page      pageSource
	pageAt    int64 // file offset of the page's bytes, after its header
	slots     int   // level slots in the page
	slot      int   // next one
	decoded   int   // values decoded from the page
	reps      rleDecoder
	defs      rleDecoder
	levelBuf  []byte // the encoded levels
	mode      valueMode
	values    *bufio.Reader // the page's decoded value bytes
	indexes   rleDecoder    // dictValues, rleBoolValues
	encoded   []byte        // what indexes reads
	whole     []byte        // a page read whole, and its decompressed form
	wholeOut  []byte
	boolByte  byte
	boolBits  uint // bits of boolByte still unread
	valueBuf  []byte
	rowValues bool    // values of a row must outlive the next value (repeated)
	lengths   []int32 // deltaValues: of the page's values, or of their suffixes
	prefixes  []int32 // deltaValues: shared with the previous value
	next      int     // deltaValues: index of the next value
	previous  []byte  // deltaValues: the last value

	pending    parquet.Value // first value of the next row, read ahead
	hasPending bool
}

// newChunkReader returns a reader of leaf's chunks in ra.
func newChunkReader(ra io.ReaderAt, leaf leafColumn) *chunkReader {
	return &chunkReader{leaf: leaf, ra: ra, rowValues: leaf.maxRep > 0, values: bufio.NewReaderSize(nil, valueBufferSize)}
}

// open starts reading a column chunk of a file of size bytes.
func (c *chunkReader) open(cc *format.ColumnChunk, size int64) error {
	md := &cc.MetaData
	if cc.FilePath != "" {
		return fmt.Errorf("the column chunk is in another file (%s)", cc.FilePath)
	}
	if cc.CryptoMetadata.Value != nil || cc.EncryptedColumnMetadata != nil {
		return errors.New("encrypted columns are not supported")
	}
	if !supportedCodec(md.Codec) {
		return fmt.Errorf("compression %s is not supported", md.Codec)
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	length := md.TotalCompressedSize
	if start < 0 || length < 0 || start > size || length > size-start || md.NumValues < 0 {
		return fmt.Errorf("column chunk at %d of %d bytes lies outside the file of %d bytes", start, length, size)
	}
	if c.codec.codec != md.Codec {
		c.codec.close()
		c.codec = streamCodec{codec: md.Codec}
	}
	c.sec = io.NewSectionReader(c.ra, start, length)
	c.base = start
	// Reads of chunkBufferSize, or of the whole chunk when it is smaller.
	if size := int(min(length, chunkBufferSize)); c.src == nil || c.src.Size() < size {
		c.src = bufio.NewReaderSize(c.sec, max(size, 16))
	} else {
		c.src.Reset(c.sec)
	}
	if c.thrift == nil {
		c.hdrBytes = c.proto.NewReaderFromBytes(nil)
		c.thrift = thrift.NewDecoder(c.hdrBytes)
	}
	c.slotLeft = md.NumValues
	c.dict.reset()
	c.slot, c.slots, c.pageNum = 0, 0, 0
	c.page = pageSource{br: c.src}
	c.hasPending = false
	return nil
}

// close releases the decoders and buffers.
func (c *chunkReader) close() {
	c.codec.close()
	c.valueBuf, c.whole, c.wholeOut, c.encoded, c.previous, c.hdrBuf = nil, nil, nil, nil, nil, nil
}

// held approximates the bytes the reader holds.
func (c *chunkReader) held() int64 {
	src := 0
	if c.src != nil {
		src = c.src.Size()
	}
	return int64(src + valueBufferSize + c.codec.held() + c.dict.held() +
		cap(c.levelBuf) + cap(c.encoded) + cap(c.whole) + cap(c.wholeOut) + cap(c.valueBuf) + cap(c.hdrBuf) +
		4*cap(c.lengths) + 4*cap(c.prefixes) + cap(c.previous))
}

// appendRow appends the values of the column's next row to row: one value,
// null or not, or for a repeated column all those up to the next row.
func (c *chunkReader) appendRow(row parquet.Row) (parquet.Row, error) {
	if c.leaf.maxRep == 0 {
		v, err := c.nextSlot()
		return append(row, v), err
	}
	first := c.pending
	if cap(c.valueBuf) > 4*valueBufferSize {
		c.valueBuf = nil // a large row was read before: let it go
	}
	c.valueBuf = c.valueBuf[:0]
	if c.hasPending {
		c.hasPending = false
		if k := first.Kind(); k == parquet.ByteArray || k == parquet.FixedLenByteArray {
			// It points into buf, where this row's values start again.
			c.valueBuf = append(c.valueBuf, first.ByteArray()...)
			first = c.rebase(first, c.valueBuf)
		}
	} else {
		var err error
		if first, err = c.nextSlot(); err != nil {
			return row, err
		}
	}
	if first.RepetitionLevel() != 0 {
		return row, fmt.Errorf("%w: a row starts at repetition level %d", errCorruptPage, first.RepetitionLevel())
	}
	row = append(row, first)
	for {
		v, err := c.nextSlot()
		switch {
		case err == io.EOF:
			return row, nil
		case err != nil:
			return row, err
		case v.RepetitionLevel() == 0:
			c.pending, c.hasPending = v, true
			return row, nil
		}
		row = append(row, v)
	}
}

// rebase points a byte array value at b instead.
func (c *chunkReader) rebase(v parquet.Value, b []byte) parquet.Value {
	switch v.Kind() {
	case parquet.ByteArray:
		return parquet.ByteArrayValue(b).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
	case parquet.FixedLenByteArray:
		return parquet.FixedLenByteArrayValue(b).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
	}
	return v
}

// nextSlot returns the value of the next level slot, null or not; io.EOF
// at the end of the chunk.
func (c *chunkReader) nextSlot() (parquet.Value, error) {
	for c.slot >= c.slots {
		if err := c.nextPage(); err != nil {
			return parquet.Value{}, err
		}
	}
	rep, def := 0, c.leaf.maxDef
	if c.leaf.maxRep > 0 {
		r, err := c.reps.next()
		if err != nil {
			return parquet.Value{}, fmt.Errorf("repetition levels: %w", err)
		}
		rep = int(r)
	}
	if c.leaf.maxDef > 0 {
		d, err := c.defs.next()
		if err != nil {
			return parquet.Value{}, fmt.Errorf("definition levels: %w", err)
		}
		def = int(d)
	}
	if rep > c.leaf.maxRep || def > c.leaf.maxDef {
		return parquet.Value{}, fmt.Errorf("%w: level above the column's maximum", errCorruptPage)
	}
	c.slot++
	if def < c.leaf.maxDef {
		return parquet.NullValue().Level(rep, def, c.leaf.index), nil
	}
	v, err := c.value()
	if errors.Is(err, errWindow) {
		if err = c.reloadWhole(c.slot, c.decoded); err == nil {
			v, err = c.value()
		}
	}
	return v.Level(rep, def, c.leaf.index), err
}

// nextPage moves to the next data page, reading the dictionary page on
// the way; io.EOF after the chunk's last value.
func (c *chunkReader) nextPage() error {
	if err := c.page.skip(); err != nil { // what the last page left unread
		return err
	}
	for {
		if c.slotLeft <= 0 {
			return io.EOF
		}
		if err := c.readHeader(); err != nil {
			return fmt.Errorf("page header %d: %w", c.pageNum, unexpected(err))
		}
		c.pageAt = c.pos()
		left := c.base + c.sec.Size() - c.pageAt
		if c.hdr.CompressedPageSize < 0 || int64(c.hdr.CompressedPageSize) > left || c.hdr.UncompressedPageSize < 0 {
			return fmt.Errorf("%w %d: sizes %d and %d do not fit the column chunk", errCorruptPage, c.pageNum, c.hdr.CompressedPageSize, c.hdr.UncompressedPageSize)
		}
		c.page = pageSource{br: c.src, left: int64(c.hdr.CompressedPageSize)}
		c.pageNum++
		var err error
		switch c.hdr.Type {
		case format.DictionaryPage:
			err = c.readDictionary()
		case format.DataPage, format.DataPageV2:
			err = c.startPage(nil)
			if errors.Is(err, errWindow) {
				err = c.reloadWhole(0, 0)
			}
			if err == nil && int64(c.slots) > c.slotLeft {
				err = fmt.Errorf("%w: %d values, more than the column chunk has left (%d)", errCorruptPage, c.slots, c.slotLeft)
			}
			if err == nil {
				c.slotLeft -= int64(c.slots)
				return nil
			}
		default: // index pages, and kinds of a later format
			err = c.page.skip()
		}
		if err != nil {
			return fmt.Errorf("page %d: %w", c.pageNum-1, err)
		}
	}
}

// pos is the file offset of the next byte of src.
func (c *chunkReader) pos() int64 {
	at, _ := c.sec.Seek(0, io.SeekCurrent)
	return c.base + at - int64(c.src.Buffered())
}

// readHeader decodes the next page header from bytes in memory, src's
// buffer or, for a header larger than that (long statistics), more of the
// chunk: a byte string of the header is a slice of those bytes, so that a
// corrupt length cannot make the decoder allocate it.
func (c *chunkReader) readHeader() error {
	at := c.pos()
	left := c.base + c.sec.Size() - at
	if left <= 0 {
		return io.ErrUnexpectedEOF
	}
	buf, err := c.src.Peek(int(min(int64(c.src.Size()), left)))
	if len(buf) == 0 {
		return err
	}
	for {
		c.hdr = format.PageHeader{}
		c.hdrBytes.ResetBytes(buf)
		err := c.thrift.Decode(&c.hdr)
		if err == nil {
			_, err = c.src.Discard(c.hdrBytes.(interface{ BytesRead() int }).BytesRead())
			return err
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(buf)) >= left {
			return err
		}
		c.hdrBuf = grow(c.hdrBuf, int(min(2*int64(len(buf)), left)))
		if _, err := c.ra.ReadAt(c.hdrBuf, at); err != nil && err != io.EOF {
			return err
		}
		buf = c.hdrBuf
	}
}

// readN appends n bytes of r to dst. Up to trustedSize it allocates what
// it needs at once (the page's header vouches for that size: parquet-go
// would allocate the whole page); beyond, it grows as the bytes arrive, so
// that a corrupt size cannot make it allocate much more than the data.
func readN(r io.Reader, dst []byte, n int) ([]byte, error) {
	if n <= trustedSize {
		dst = slices.Grow(dst, n)
	}
	for n > 0 {
		k := min(n, max(1<<20, cap(dst)-len(dst)))
		at := len(dst)
		dst = grow(dst, at+k)
		if _, err := io.ReadFull(r, dst[at:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst[:at], err
		}
		n -= k
	}
	return dst, nil
}

// grow returns b resized to n bytes, keeping its contents.
func grow(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}
