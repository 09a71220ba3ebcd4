package reader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
)

// streamRow has a column of every physical type in each encoding the
// reader handles; streamSchema says the encodings.
type streamRow struct {
	ID       int64    `parquet:"id"`
	Plain    *string  `parquet:"plain"`
	Dict     *string  `parquet:"dict"`
	DLBA     string   `parquet:"dlba"`
	DBA      string   `parquet:"dba"`
	I32      int32    `parquet:"i32"`
	I64      *int64   `parquet:"i64"`
	I32Split int32    `parquet:"i32_split"`
	F64Split float64  `parquet:"f64_split"`
	FixSplit [2]byte  `parquet:"fixed_split"`
	DictI64  int64    `parquet:"dict_i64"`
	F32      float32  `parquet:"f32"`
	F64      *float64 `parquet:"f64"`
	Flag     *bool    `parquet:"flag"`
	FlagRLE  bool     `parquet:"flag_rle"`
	Fixed    [4]byte  `parquet:"fixed"`
	FixedDBA [3]byte  `parquet:"fixed_dba"`
	List     []string `parquet:"list"`
	ListDict []string `parquet:"list_dict"`
	Big      *string  `parquet:"big"`
}

var streamSchema = parquet.NewSchema("stream", parquet.Group{
	"id":          parquet.Int(64),
	"plain":       parquet.Optional(parquet.Encoded(parquet.String(), &parquet.Plain)),
	"dict":        parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
	"dlba":        parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray),
	"dba":         parquet.Encoded(parquet.String(), &parquet.DeltaByteArray),
	"i32":         parquet.Encoded(parquet.Int(32), &parquet.DeltaBinaryPacked),
	"i64":         parquet.Optional(parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)),
	"i32_split":   parquet.Encoded(parquet.Int(32), &parquet.ByteStreamSplit),
	"f64_split":   parquet.Encoded(parquet.Leaf(parquet.DoubleType), &parquet.ByteStreamSplit),
	"fixed_split": parquet.Encoded(parquet.Leaf(parquet.FixedLenByteArrayType(2)), &parquet.ByteStreamSplit),
	"dict_i64":    parquet.Encoded(parquet.Int(64), &parquet.RLEDictionary),
	"f32":         parquet.Encoded(parquet.Leaf(parquet.FloatType), &parquet.ByteStreamSplit),
	"f64":         parquet.Optional(parquet.Leaf(parquet.DoubleType)),
	"flag":        parquet.Optional(parquet.Leaf(parquet.BooleanType)),
	"flag_rle":    parquet.Encoded(parquet.Leaf(parquet.BooleanType), &parquet.RLE),
	"fixed":       parquet.Leaf(parquet.FixedLenByteArrayType(4)),
	"fixed_dba":   parquet.Encoded(parquet.Leaf(parquet.FixedLenByteArrayType(3)), &parquet.DeltaByteArray),
	"list":        parquet.List(parquet.String()),
	"list_dict":   parquet.List(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
	"big":         parquet.Optional(parquet.Encoded(parquet.String(), &parquet.Plain)),
})

// streamRows makes n rows of varied values: nulls, empty lists, shared
// prefixes, repeated values, and a large value now and then.
func streamRows(n int, seed uint64) []streamRow {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{"alpha", "beta", "gamma", "delta", "épsilon", "", "zeta eta theta", "日本語"}
	word := func() string { return words[rng.IntN(len(words))] }
	rows := make([]streamRow, n)
	for i := range rows {
		r := &rows[i]
		r.ID = int64(i)*7 - 100
		if i%5 != 0 {
			r.Plain = ptr(fmt.Sprintf("plain %d %s", i, word()))
		}
		if i%7 != 3 {
			r.Dict = ptr(word())
		}
		r.DLBA = strings.Repeat(word(), rng.IntN(4))
		r.DBA = fmt.Sprintf("prefix/shared/%04d/%s", i/3, word())
		r.I32 = int32(rng.IntN(1000) - 500)
		if i%6 != 0 {
			r.I64 = ptr(rng.Int64() >> rng.IntN(64))
		}
		r.I32Split = rng.Int32()
		r.F64Split = rng.ExpFloat64()
		r.FixSplit = [2]byte{byte(i), byte(i >> 8)}
		r.DictI64 = int64(rng.IntN(5)) << 40
		r.F32 = rng.Float32()
		if i%3 != 0 {
			r.F64 = ptr(rng.NormFloat64())
		}
		if i%4 != 0 {
			r.Flag = ptr(rng.IntN(2) == 1)
		}
		r.FlagRLE = i%9 < 4
		binary.LittleEndian.PutUint32(r.Fixed[:], uint32(i))
		copy(r.FixedDBA[:], fmt.Sprintf("%03d", i%1000))
		for range rng.IntN(4) {
			r.List = append(r.List, word())
			r.ListDict = append(r.ListDict, words[rng.IntN(3)])
		}
		if i%500 == 1 {
			r.Big = ptr(strings.Repeat(fmt.Sprintf("large value %d ", i), 10_000)) // ~170 KB
		}
	}
	return rows
}

// writeStreamFile writes rows with streamSchema and opts.
func writeStreamFile(t testing.TB, rows []streamRow, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[streamRow](&buf, append([]parquet.WriterOption{streamSchema}, opts...)...)
	for i := range rows { // one row per Write: see writeParquet
		if _, err := w.Write(rows[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// streamAllColumns reads every column of a file with chunkReaders and
// returns the rows, cloned.
func streamAllColumns(t *testing.T, data []byte) []parquet.Row {
	t.Helper()
	ra := bytes.NewReader(data)
	f, err := parquet.OpenFile(ra, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var readers []*chunkReader
	for i, path := range f.Schema().Columns() {
		leaf, _ := f.Schema().Lookup(path...)
		readers = append(readers, newChunkReader(ra, leafColumn{
			index: i, path: strings.Join(path, "."), kind: leaf.Node.Type().Kind(),
			typeLength: leaf.Node.Type().Length(), maxRep: leaf.MaxRepetitionLevel, maxDef: leaf.MaxDefinitionLevel,
		}))
	}
	var rows []parquet.Row
	for g, rg := range f.Metadata().RowGroups {
		for _, c := range readers {
			if err := c.open(&rg.Columns[c.leaf.index], int64(len(data))); err != nil {
				t.Fatalf("row group %d column %s: %v", g, c.leaf.path, err)
			}
		}
		for range rg.NumRows {
			var row parquet.Row
			for _, c := range readers {
				if row, err = c.appendRow(row); err != nil {
					t.Fatalf("row %d, column %s: %v", len(rows)+1, c.leaf.path, err)
				}
			}
			rows = append(rows, row.Clone())
		}
		for _, c := range readers {
			if _, err := c.nextSlot(); err != io.EOF {
				t.Fatalf("row group %d column %s: values after the last row (%v)", g, c.leaf.path, err)
			}
		}
	}
	return rows
}

// parquetGoRows reads every row of a file with parquet-go.
func parquetGoRows(t *testing.T, data []byte) []parquet.Row {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var rows []parquet.Row
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, r := range buf[:n] {
				rows = append(rows, r.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rr.Close()
	}
	return rows
}

// checkSameRows compares rows value by value, with their levels and
// columns.
func checkSameRows(t *testing.T, got, want []parquet.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	bad := 0
	for i := range got {
		for j := 0; j < max(len(got[i]), len(want[i])); j++ {
			if j >= len(got[i]) || j >= len(want[i]) {
				t.Errorf("row %d: %d values, want %d", i, len(got[i]), len(want[i]))
				break
			}
			if g, w := got[i][j], want[i][j]; !parquet.DeepEqual(g, w) {
				t.Errorf("row %d, value %d (column %d):\n got %.80s (r %d d %d c %d)\nwant %.80s (r %d d %d c %d)", i, j, w.Column(),
					g, g.RepetitionLevel(), g.DefinitionLevel(), g.Column(), w, w.RepetitionLevel(), w.DefinitionLevel(), w.Column())
				bad++
				break
			}
		}
		if bad > 3 {
			t.FailNow()
		}
	}
}

// writtenRows are rows as streamSchema turns them into values: what a
// reader must read back.
func writtenRows(rows []streamRow) []parquet.Row {
	out := make([]parquet.Row, len(rows))
	for i := range rows {
		out[i] = streamSchema.Deconstruct(nil, &rows[i])
	}
	return out
}

// TestChunkReaderReadsWhatWasWritten reads files of every codec, data page
// version and page size, and compares every value with the rows written.
// (parquet-go's own reader is no reference here: it misreads some of its
// LZ4_RAW files.)
func TestChunkReaderReadsWhatWasWritten(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 1000 // 24 files
	}
	rows := streamRows(n, 1)
	want := writtenRows(rows)
	codecs := []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Brotli, &parquet.Zstd, &parquet.Lz4Raw}
	for _, codec := range codecs {
		for _, version := range []int{1, 2} {
			for _, pages := range []struct {
				name string
				size int
			}{{"small pages", 4 << 10}, {"default pages", 0}} {
				name := fmt.Sprintf("%s/v%d/%s", codec, version, pages.name)
				t.Run(name, func(t *testing.T) {
					opts := []parquet.WriterOption{parquet.Compression(codec), parquet.DataPageVersion(version), parquet.MaxRowsPerRowGroup(int64(n/3 + 100))}
					if pages.size > 0 {
						opts = append(opts, parquet.PageBufferSize(pages.size))
					}
					data := writeStreamFile(t, rows, opts...)
					checkSameRows(t, streamAllColumns(t, data), want)
				})
			}
		}
	}
}

// farSnappy is the SNAPPY codec with an encoder that copies from exactly
// distance bytes back whenever it can, as no window would allow: it makes
// pages the reader must decompress whole.
type farSnappy struct {
	distance int
}

func (c *farSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }
func (c *farSnappy) String() string                            { return "SNAPPY (far)" }
func (c *farSnappy) Decode(dst, src []byte) ([]byte, error)    { return parquet.Snappy.Decode(dst, src) }

func (c *farSnappy) Encode(dst, src []byte) ([]byte, error) {
	dst = binary.AppendUvarint(dst[:0], uint64(len(src)))
	lit := 0 // start of the pending literal
	flush := func(end int) {
		for lit < end {
			n := min(end-lit, 1<<16)
			dst = append(dst, 61<<2, byte(n-1), byte((n-1)>>8)) // 2-byte length
			dst = append(dst, src[lit:lit+n]...)
			lit += n
		}
	}
	for i := 0; i < len(src); {
		n := 0
		for i >= c.distance && i+n < len(src) && n < 64 && src[i+n] == src[i+n-c.distance] {
			n++
		}
		if n < 8 {
			i++
			continue
		}
		flush(i)
		d := uint32(c.distance)
		dst = append(dst, byte(n-1)<<2|3, byte(d), byte(d>>8), byte(d>>16), byte(d>>24))
		i += n
		lit = i
	}
	flush(len(src))
	return dst, nil
}

// wideZstd is the ZSTD codec with frames that declare a 64 MiB window, more
// than the streaming decoder accepts: pages the reader must decompress
// whole.
type wideZstd struct{}

func (wideZstd) CompressionCodec() format.CompressionCodec { return format.Zstd }
func (wideZstd) String() string                            { return "ZSTD (64 MiB window)" }
func (wideZstd) Decode(dst, src []byte) ([]byte, error)    { return parquet.Zstd.Decode(dst, src) }

func (wideZstd) Encode(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst[:0])
	w, err := zstd.NewWriter(buf, zstd.WithWindowSize(64<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	w.Write(src)
	err = w.Close()
	return buf.Bytes(), err
}

// TestChunkReaderWholePageFallback reads pages whose snappy form reaches
// back beyond the streaming window, in the middle of a page, and pages
// whose zstd window is too wide to stream: the reader reads the page again,
// whole, and goes on from the same value.
func TestChunkReaderWholePageFallback(t *testing.T) {
	type row struct {
		ID     int64   `parquet:"id"`
		Prompt *string `parquet:"prompt,optional,plain"`
	}
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, snappyWindow+1000)
	for i := range big {
		big[i] = 'a' + byte(rng.IntN(26))
	}
	rows := []row{{1, ptr("short")}, {2, ptr(string(big))}, {3, nil}, {4, ptr(string(big))}, {5, ptr("after")}}
	for _, tt := range []struct {
		codec   compress.Codec
		version int
	}{{&farSnappy{distance: len(big) + 4}, 1}, {&farSnappy{distance: len(big) + 4}, 2}, {wideZstd{}, 1}, {wideZstd{}, 2}} {
		t.Run(fmt.Sprintf("%s v%d", tt.codec, tt.version), func(t *testing.T) {
			var buf bytes.Buffer
			w := parquet.NewGenericWriter[row](&buf, parquet.Compression(tt.codec),
				parquet.DataPageVersion(tt.version), parquet.PageBufferSize(8<<20))
			if _, err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			checkSameRows(t, streamAllColumns(t, data), parquetGoRows(t, data))
			recs := readAll(t, mustParquet(t, data))
			if len(recs) != 5 || recs[3].Messages[0].Content[0].Text != string(big) || recs[4].ID != "5" {
				t.Fatalf("records after the fallback: %d, %+v", len(recs), recs[4])
			}
		})
	}
}

// mustParquet opens data as a ParquetReader.
func mustParquet(t *testing.T, data []byte) *ParquetReader {
	t.Helper()
	r, err := NewParquet(bytes.NewReader(data), int64(len(data)), "f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestParquetCorruptEncodings damages files of every encoding the reader
// streams, in many places: every damage gives an error naming the file, an
// invalid record, or goes unnoticed; never a panic or a hang.
func TestParquetCorruptEncodings(t *testing.T) {
	rows := streamRows(100, 2)
	for i := range rows {
		rows[i].Big = nil
	}
	for _, opts := range [][]parquet.WriterOption{
		{parquet.Compression(&parquet.Snappy), parquet.DataPageVersion(1), parquet.PageBufferSize(2 << 10)},
		{parquet.Compression(&parquet.Zstd), parquet.DataPageVersion(2), parquet.PageBufferSize(2 << 10)},
		{parquet.Compression(&parquet.Lz4Raw), parquet.DataPageVersion(1)},
	} {
		checkDamage(t, writeStreamFile(t, rows, opts...), 13, len(rows),
			Options{KeepFields: true, DocumentFields: []string{"list"}, ImageFields: []string{"list_dict"}, PromptField: "plain", PromptOptional: true})
	}
}

// farthestSnappy is the SNAPPY codec with an encoder that copies from the
// earliest place a run of 8 bytes or more occurred before.
type farthestSnappy struct{}

func (farthestSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }
func (farthestSnappy) String() string                            { return "SNAPPY (farthest)" }
func (farthestSnappy) Decode(dst, src []byte) ([]byte, error)    { return parquet.Snappy.Decode(dst, src) }

func (farthestSnappy) Encode(dst, src []byte) ([]byte, error) {
	var distances []int
	for i := 8; i+8 <= len(src); i++ {
		if j := bytes.Index(src[:i+7], src[i:i+8]); j >= 0 && j < i {
			distances = append(distances, i-j)
		}
	}
	slices.Sort(distances)
	distances = slices.Compact(distances)
	slices.Reverse(distances) // of equal matches, nearSnappy takes the first: the farthest
	return nearSnappy(src, distances), nil
}

// TestChunkReaderFallbackAnywhere reads every column of files whose snappy
// pages reach back as far as they can, with a streaming window of 8 bytes:
// pages fall back to whole decompression in their levels, dictionary
// indexes, delta lengths and values, and every value still comes back.
func TestChunkReaderFallbackAnywhere(t *testing.T) {
	defer func(w int) { snappyStreamWindow = w }(snappyStreamWindow)
	snappyStreamWindow = 8
	rows := streamRows(200, 3)
	for i := range rows {
		rows[i].Big = nil
	}
	want := writtenRows(rows)
	for _, version := range []int{1, 2} {
		data := writeStreamFile(t, rows, parquet.Compression(farthestSnappy{}), parquet.DataPageVersion(version), parquet.PageBufferSize(2<<10))
		checkSameRows(t, streamAllColumns(t, data), want)
	}
}
