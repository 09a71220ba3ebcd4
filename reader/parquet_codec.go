package reader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// Windows of the streaming decompressors. A page is decompressed a window
// at a time, so a page of 100 MB (DuckDB writes them) costs a window, not
// 100 MB. A page whose compressed form reaches further back than the
// window is decompressed whole instead (errWindow).
const (
	// snappyWindow: Google's snappy (DuckDB, Arrow, Spark) and golang/snappy
	// never reach back more than 64 KiB; klauspost's s2 in snappy mode
	// (parquet-go) may, in pages larger than this.
	snappyWindow = 1 << 20
	// lz4Window: LZ4 offsets are 16 bits.
	lz4Window = 64 << 10
	// zstdMaxWindow: zstd level 3 (DuckDB, pyarrow, parquet-go) uses 2 to 8
	// MiB; only the strongest levels use more.
	zstdMaxWindow = 32 << 20
	// windowRoom is how much a windowed decoder produces between moves of
	// its window.
	windowRoom = 256 << 10
)

// snappyStreamWindow is snappyWindow; tests make it small.
var snappyStreamWindow = snappyWindow

// errWindow says that a page cannot be decompressed as a stream within the
// window: it must be decompressed whole.
var errWindow = errors.New("back-reference beyond the streaming window")

// errCorruptBlock is a snappy or LZ4 block that does not decode.
var errCorruptBlock = errors.New("corrupt compressed block")

// pageSource is the compressed bytes of one page, read from the column
// chunk's buffered reader.
type pageSource struct {
	br   *bufio.Reader
	left int64
}

// Read reads the page's bytes; a page cut short is io.ErrUnexpectedEOF.
func (s *pageSource) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.br.Read(p)
	s.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// ReadByte reads one byte of the page.
func (s *pageSource) ReadByte() (byte, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	b, err := s.br.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		s.left--
	}
	return b, err
}

// skip moves past what is left of the page.
func (s *pageSource) skip() error {
	n, err := s.br.Discard(int(s.left))
	s.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// byteSource is what the decompressors read: a pageSource, or a
// bytes.Reader over a page read again whole.
type byteSource interface {
	io.Reader
	io.ByteReader
}

// streamCodec decompresses the pages of one column chunk as streams, with
// decoders kept from page to page.
type streamCodec struct {
	codec  format.CompressionCodec
	zstd   *zstd.Decoder
	gzip   *gzip.Reader
	brotli *brotli.Reader
	window windowReader
	size   int // uncompressed size of the current page
}

// supportedCodec tells whether the reader can decompress codec: the codecs
// of parquet-go, whose whole-page decoders are the fallback.
func supportedCodec(codec format.CompressionCodec) bool {
	switch codec {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Brotli, format.Zstd, format.Lz4Raw:
		return true
	}
	return false
}

// open returns the decompressed stream of src, a page of size bytes once
// decompressed.
func (c *streamCodec) open(src byteSource, size int) (io.Reader, error) {
	c.size = size
	switch c.codec {
	case format.Uncompressed:
		return src, nil
	case format.Snappy:
		c.window.reset(src, snappyBlock, snappyStreamWindow, size)
		return &c.window, nil
	case format.Lz4Raw:
		c.window.reset(src, lz4Block, lz4Window, size)
		return &c.window, nil
	case format.Zstd:
		if c.zstd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(zstdMaxWindow))
			if err != nil {
				return nil, err
			}
			c.zstd = d
		}
		return zstdStream{c.zstd}, zstdError(c.zstd.Reset(src))
	case format.Gzip:
		if c.gzip == nil {
			z, err := gzip.NewReader(src)
			c.gzip = z
			return z, err
		}
		return c.gzip, c.gzip.Reset(src)
	case format.Brotli:
		if c.brotli == nil {
			c.brotli = brotli.NewReader(src)
			return c.brotli, nil
		}
		return c.brotli, c.brotli.Reset(src)
	}
	return nil, fmt.Errorf("compression %s is not supported", c.codec)
}

// zstdStream turns the zstd decoder's window error into errWindow.
type zstdStream struct{ d *zstd.Decoder }

func (z zstdStream) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	return n, zstdError(err)
}

// zstdError marks the zstd decoder's window error as errWindow.
func zstdError(err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return fmt.Errorf("%w: %w", errWindow, err)
	}
	return err
}

// held approximates the memory the decoders hold.
func (c *streamCodec) held() int {
	switch c.codec {
	case format.Snappy, format.Lz4Raw:
		return cap(c.window.buf)
	case format.Zstd:
		return min(c.size, 8<<20) + 128<<10 // history of a level-3 window, and a block
	case format.Gzip:
		return 64 << 10
	case format.Brotli:
		return min(c.size, 4<<20)
	}
	return 0
}

// close releases the decoders.
func (c *streamCodec) close() {
	if c.zstd != nil {
		c.zstd.Close()
		c.zstd = nil
	}
	c.window.buf = nil
}

// whole decompresses a whole page held in src, size bytes once
// decompressed: a dictionary page, or a page that cannot be streamed. It
// allocates no more than size says, so that a corrupt page cannot make it
// allocate more (parquet-go's own LZ4 decoder doubles its buffer for ever
// on corrupt data).
func (c *streamCodec) whole(dst, src []byte, size int) ([]byte, error) {
	if size > maxWholePage {
		return nil, fmt.Errorf("%w: a page of %d bytes", errCorruptPage, size)
	}
	switch c.codec {
	case format.Uncompressed:
		return src, nil
	case format.Snappy, format.Lz4Raw:
		var w windowReader // the page is the window
		if c.codec == format.Snappy {
			n, k := binary.Uvarint(src)
			if k <= 0 || n > uint64(size) {
				return nil, errCorruptBlock
			}
			size = int(n)
			w.reset(bytes.NewReader(src), snappyBlock, size, size)
		} else {
			w.reset(bytes.NewReader(src), lz4Block, size, size)
		}
		return w.all()
	case format.Zstd:
		// The output is the history: a wide window costs nothing more, and
		// the output cannot grow past the capacity given.
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true),
			zstd.WithDecoderMaxMemory(zstd.MaxWindowSize), zstd.WithDecoderMaxWindow(zstd.MaxWindowSize))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.DecodeAll(src, slices.Grow(dst[:0], size))
	}
	var r io.Reader // gzip and brotli streams never need more than their window
	if c.codec == format.Gzip {
		z, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, err
		}
		r = z
	} else {
		r = brotli.NewReader(bytes.NewReader(src))
	}
	out, err := readN(r, dst[:0], size)
	if err == nil {
		if n, _ := r.Read(make([]byte, 1)); n > 0 {
			err = fmt.Errorf("%w: more than its %d bytes", errCorruptPage, size)
		}
	}
	return out, err
}
