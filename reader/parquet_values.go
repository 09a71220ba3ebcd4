package reader

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/plain"
	"github.com/parquet-go/parquet-go/format"
)

// dictionary is the dictionary page of a column chunk, kept in its PLAIN
// form: n values, value i of a byte array column at data[offs[i]+4:offs[i+1]].
type dictionary struct {
	n     int // -1: no dictionary
	data  []byte
	offs  []uint32
	width int // of fixed-size values
}

func (d *dictionary) reset() { d.n, d.data, d.offs = -1, d.data[:0], d.offs[:0] }

func (d *dictionary) held() int { return cap(d.data) + 4*cap(d.offs) }

// readDictionary reads the chunk's dictionary page, whole: writers bound
// its size (1 MiB in Arrow, DuckDB and parquet-mr), and every data page of
// the chunk refers to it.
func (c *chunkReader) readDictionary() error {
	h := c.hdr.DictionaryPageHeader
	if !h.Valid || h.V.NumValues < 0 {
		return fmt.Errorf("%w: dictionary page without its header", errCorruptPage)
	}
	if enc := h.V.Encoding; enc != format.Plain && enc != format.PlainDictionary {
		return fmt.Errorf("%w: dictionary in encoding %s", errCorruptPage, enc)
	}
	var err error
	if c.whole, err = readN(&c.page, c.whole[:0], int(c.hdr.CompressedPageSize)); err != nil {
		return err
	}
	data, err := c.codec.whole(c.dict.data, c.whole, int(c.hdr.UncompressedPageSize))
	if err != nil {
		return fmt.Errorf("dictionary: %w", err)
	}
	n := int(h.V.NumValues)
	d := &c.dict
	d.data, d.offs = append(d.data[:0], data...), d.offs[:0]
	switch c.leaf.kind {
	case parquet.ByteArray:
		at := 0
		for range n {
			if len(d.data)-at < 4 {
				return fmt.Errorf("%w: dictionary shorter than its %d values", errCorruptPage, n)
			}
			size := int(binary.LittleEndian.Uint32(d.data[at:]))
			if size > len(d.data)-at-4 {
				return fmt.Errorf("%w: dictionary shorter than its %d values", errCorruptPage, n)
			}
			d.offs = append(d.offs, uint32(at))
			at += 4 + size
		}
		d.offs = append(d.offs, uint32(at))
	case parquet.Boolean:
		return fmt.Errorf("%w: a dictionary of booleans", errCorruptPage)
	default:
		d.width = fixedWidth(c.leaf)
		if n > len(d.data)/max(d.width, 1) {
			return fmt.Errorf("%w: dictionary shorter than its %d values", errCorruptPage, n)
		}
	}
	d.n = n
	return nil
}

// fixedWidth is the size of a value of a fixed-size type.
func fixedWidth(leaf leafColumn) int {
	switch leaf.kind {
	case parquet.Int32, parquet.Float:
		return 4
	case parquet.Int64, parquet.Double:
		return 8
	case parquet.Int96:
		return 12
	case parquet.FixedLenByteArray:
		return leaf.typeLength
	}
	return 0
}

// value decodes the page's next non-null value. A byte array points into
// the value buffer, the read buffer or the dictionary: it is valid until
// the next row.
func (c *chunkReader) value() (parquet.Value, error) {
	var v parquet.Value
	var err error
	switch c.mode {
	case plainValues:
		v, err = c.plainValue()
	case dictValues:
		var i uint32
		if i, err = c.indexes.next(); err == nil {
			if int(i) >= c.dict.n {
				return v, fmt.Errorf("%w: dictionary index %d of %d", errCorruptPage, i, c.dict.n)
			}
			v = c.dictValue(int(i))
		}
	case rleBoolValues:
		var b uint32
		b, err = c.indexes.next()
		v = parquet.BooleanValue(b != 0)
	case deltaValues:
		v, err = c.deltaValue()
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return v, fmt.Errorf("values: %w", err)
	}
	c.decoded++
	return v, nil
}

// dictValue is value i of the dictionary.
func (c *chunkReader) dictValue(i int) parquet.Value {
	d := &c.dict
	if c.leaf.kind == parquet.ByteArray {
		return parquet.ByteArrayValue(d.data[d.offs[i]+4 : d.offs[i+1]])
	}
	return fixedValue(c.leaf.kind, d.data[i*d.width:(i+1)*d.width])
}

// plainValue reads a PLAIN value from the page's values.
func (c *chunkReader) plainValue() (parquet.Value, error) {
	switch c.leaf.kind {
	case parquet.Boolean:
		if c.boolBits == 0 {
			b, err := c.values.ReadByte()
			if err != nil {
				return parquet.Value{}, err
			}
			c.boolByte, c.boolBits = b, 8
		}
		v := c.boolByte&1 != 0
		c.boolByte >>= 1
		c.boolBits--
		return parquet.BooleanValue(v), nil
	case parquet.ByteArray:
		head, err := c.values.Peek(4)
		if err != nil {
			return parquet.Value{}, err
		}
		size := int(binary.LittleEndian.Uint32(head))
		if size > int(c.hdr.UncompressedPageSize) {
			return parquet.Value{}, fmt.Errorf("%w: a value of %d bytes in a page of %d", errCorruptPage, size, c.hdr.UncompressedPageSize)
		}
		if !c.rowValues && 4+size <= valueBufferSize { // the common case: length and bytes in the buffer
			b, err := c.values.Peek(4 + size)
			if err == nil {
				c.values.Discard(4 + size)
			}
			return parquet.ByteArrayValue(b[4:]), err
		}
		c.values.Discard(4)
		b, err := c.bytes(size)
		return parquet.ByteArrayValue(b), err
	}
	b, err := c.bytes(fixedWidth(c.leaf))
	if err != nil {
		return parquet.Value{}, err
	}
	return fixedValue(c.leaf.kind, b), nil
}

// bytes reads the next n bytes of the values: in the read buffer when they
// fit and nothing must outlive the next read, in valueBuf otherwise. A
// large value gets a buffer of its own that the reader lets go of at once:
// the record keeps its copy, and the reader must not keep another.
func (c *chunkReader) bytes(n int) ([]byte, error) {
	if !c.rowValues {
		if n <= valueBufferSize {
			b, err := c.values.Peek(n)
			if err == nil {
				c.values.Discard(n)
			}
			return b, err
		}
		if n > largeValue {
			return readN(c.values, nil, n)
		}
	}
	at := 0
	if c.rowValues {
		at = len(c.valueBuf) // the row's other values stay
	}
	buf, err := readN(c.values, c.valueBuf[:at], n)
	c.valueBuf = buf
	return buf[at:len(buf):len(buf)], err
}

// fixedValue is the value of a fixed-size type in its PLAIN bytes.
func fixedValue(kind parquet.Kind, b []byte) parquet.Value {
	switch kind {
	case parquet.Int32:
		return parquet.Int32Value(int32(binary.LittleEndian.Uint32(b)))
	case parquet.Int64:
		return parquet.Int64Value(int64(binary.LittleEndian.Uint64(b)))
	case parquet.Float:
		return parquet.FloatValue(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case parquet.Double:
		return parquet.DoubleValue(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case parquet.Int96:
		return parquet.Int96Value(deprecated.Int96{
			binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])})
	}
	return parquet.FixedLenByteArrayValue(b)
}

// toPlain decodes values in another encoding than PLAIN or a dictionary
// with parquet-go, and encodes them as PLAIN.
func toPlain(enc format.Encoding, leaf leafColumn, src []byte) ([]byte, error) {
	e := parquet.LookupEncoding(enc)
	var p plain.Encoding
	var out []byte
	var err error
	switch leaf.kind {
	case parquet.Boolean:
		out, err = e.DecodeBoolean(nil, src)
	case parquet.Int32:
		var v []int32
		if v, err = e.DecodeInt32(nil, src); err == nil {
			out, err = p.EncodeInt32(nil, v)
		}
	case parquet.Int64:
		var v []int64
		if v, err = e.DecodeInt64(nil, src); err == nil {
			out, err = p.EncodeInt64(nil, v)
		}
	case parquet.Int96:
		var v []deprecated.Int96
		if v, err = e.DecodeInt96(nil, src); err == nil {
			out, err = p.EncodeInt96(nil, v)
		}
	case parquet.Float:
		var v []float32
		if v, err = e.DecodeFloat(nil, src); err == nil {
			out, err = p.EncodeFloat(nil, v)
		}
	case parquet.Double:
		var v []float64
		if v, err = e.DecodeDouble(nil, src); err == nil {
			out, err = p.EncodeDouble(nil, v)
		}
	case parquet.ByteArray:
		var data []byte
		var offsets []uint32
		if data, offsets, err = e.DecodeByteArray(nil, src, make([]uint32, 0, 64)); err == nil {
			out, err = p.EncodeByteArray(nil, data, offsets)
		}
	case parquet.FixedLenByteArray:
		out, err = e.DecodeFixedLenByteArray(nil, src, leaf.typeLength)
	}
	if err != nil {
		return nil, fmt.Errorf("values in encoding %s: %w", enc, err)
	}
	return out, nil
}
