package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

// readParquet reads every record of a Parquet file through a ReaderAt.
func readParquet(t *testing.T, ra io.ReaderAt, size int64, name string) []reader.Record {
	t.Helper()
	pr, err := reader.NewParquet(ra, size, name)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var recs []reader.Record
	for {
		rec, err := pr.Next(context.Background())
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

// readLocalParquet reads a local Parquet file through an os.File.
func readLocalParquet(t *testing.T, path, name string) []reader.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return readParquet(t, f, fi.Size(), name)
}

func TestOpenAtParquetFixtures(t *testing.T) {
	e := newEnv(t, Options{})
	for _, fixture := range []string{"duckdb_zstd_dict.parquet", "duckdb_snappy_int.parquet", "duckdb_gzip_int32.parquet"} {
		for _, mode := range []string{"whole", "ranged"} {
			t.Run(fixture+"/"+mode, func(t *testing.T) {
				path := filepath.Join("../reader/testdata", fixture)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				e.put(t, fixture, data)
				s := *e.store
				if mode == "ranged" { // tiny blocks: every read is ranged
					s.wholeMax, s.blockSize, s.blocks = 0, 512, 3
				}
				ra, size, c, err := s.OpenAt(ctx(t), e.uri(fixture))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if size != int64(len(data)) {
					t.Fatalf("size %d; want %d", size, len(data))
				}
				got := readParquet(t, ra, size, fixture)
				want := readLocalParquet(t, path, fixture)
				if len(want) == 0 {
					t.Fatal("the fixture has no records")
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("records over S3 differ from the local ones:\n got %+v\nwant %+v", got[0], want[0])
				}
			})
		}
	}
}

// bigParquet returns a Parquet file of about rows*2 KiB of incompressible
// prompts in row groups of 500 rows.
func bigParquet(t *testing.T, rows int) []byte {
	t.Helper()
	type row struct {
		ID     int64  `parquet:"id"`
		Prompt string `parquet:"prompt"`
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(500))
	text := make([]byte, 2048)
	for i := range rows {
		for j := range text {
			text[j] = 'a' + byte(rng.IntN(26))
		}
		if _, err := w.Write([]row{{ID: int64(i), Prompt: string(text)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOpenAtRanged shows a large Parquet object is read with ranged GETs,
// not downloaded whole: opening reads little more than the footer, and
// reading every row fetches each byte about once.
func TestOpenAtRanged(t *testing.T) {
	e := newEnv(t, Options{})
	data := bigParquet(t, 10000) // about 20 MiB
	size := int64(len(data))
	if size <= wholeObjectMax {
		t.Fatalf("the file has %d bytes; want more than %d", size, wholeObjectMax)
	}
	e.put(t, "big.parquet", data)
	e.http.counts()

	ra, gotSize, c, err := e.store.OpenAt(ctx(t), e.uri("big.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if gotSize != size {
		t.Fatalf("size %d; want %d", gotSize, size)
	}
	pr, err := reader.NewParquet(ra, size, "big.parquet")
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	gets, ranged, fetched := e.http.counts()
	t.Logf("opening: %d GETs (%d ranged), %d bytes of %d", gets, ranged, fetched, size)
	if gets != ranged || fetched > 2*blockSize {
		t.Errorf("opening made %d GETs (%d ranged) for %d bytes; want ranged GETs of at most %d bytes", gets, ranged, fetched, 2*blockSize)
	}

	got := readParquet(t, ra, size, "big.parquet")
	gets, ranged, fetched = e.http.counts()
	t.Logf("reading: %d GETs (%d ranged), %d bytes of %d", gets, ranged, fetched, size)
	if gets != ranged {
		t.Errorf("%d of %d GETs were not ranged", gets-ranged, gets)
	}
	if fetched > size+size/4 {
		t.Errorf("fetched %d bytes to read %d: blocks are fetched again and again", fetched, size)
	}
	if max := int(size/blockSize)*2 + 8; gets > max {
		t.Errorf("%d GETs; want at most %d", gets, max)
	}
	want := readParquet(t, bytes.NewReader(data), size, "big.parquet")
	if len(got) != 10000 || !reflect.DeepEqual(got, want) {
		t.Errorf("read %d records over S3, different from the %d local ones", len(got), len(want))
	}
}

// TestReadAtConcurrent checks ranged reads at any offset and length, from
// many goroutines at once, against the bytes.
func TestReadAtConcurrent(t *testing.T) {
	e := newEnv(t, Options{})
	data := pattern(1<<20 + 12345)
	e.put(t, "blob", data)
	s := *e.store
	s.wholeMax, s.blockSize, s.blocks = 0, 16<<10, 4
	ra, size, c, err := s.OpenAt(ctx(t), e.uri("blob"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	check := func(off int64, n int) error {
		p := make([]byte, n)
		got, err := ra.ReadAt(p, off)
		wantN := max(0, min(int64(n), size-off))
		switch {
		case int64(got) != wantN:
			return fmt.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, got, err, wantN)
		case int64(n) > wantN && !errors.Is(err, io.EOF):
			return fmt.Errorf("ReadAt(%d bytes at %d) = %v; want io.EOF", n, off, err)
		case int64(n) == wantN && err != nil:
			return fmt.Errorf("ReadAt(%d bytes at %d): %v", n, off, err)
		case wantN > 0 && !bytes.Equal(p[:got], data[off:off+wantN]):
			return fmt.Errorf("ReadAt(%d bytes at %d): wrong bytes", n, off)
		}
		return nil
	}
	edges := []struct {
		off int64
		n   int
	}{
		{0, 0}, {0, 1}, {0, 16 << 10}, {16<<10 - 1, 2}, {1, 100 << 10}, {size - 1, 1}, {size - 10, 100},
		{size, 1}, {size + 100, 5}, {0, int(size)}, {0, int(size) + 10},
	}
	for _, tt := range edges {
		if err := check(tt.off, tt.n); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 60 {
				off := rng.Int64N(size + 10)
				n := rng.IntN(80 << 10)
				if err := check(off, n); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkReadAtCached measures 64 KiB reads served from cached blocks,
// the path of every Parquet page read.
func BenchmarkReadAtCached(b *testing.B) {
	endpoint, _, _ := s3test.Endpoint(b)
	client := s3test.Client(b)
	bucket := s3test.NewBucket(b, client)
	s := New(s3test.Config(b), Options{Endpoint: endpoint})
	s.wholeMax = 0
	data := pattern(4 << 20)
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("blob"), Body: bytes.NewReader(data),
	})
	if err != nil {
		b.Fatal(err)
	}
	ra, size, c, err := s.OpenAt(context.Background(), uri(bucket, "blob"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		off := int64(i*len(p)) % (size - int64(len(p)))
		if _, err := ra.ReadAt(p, off); err != nil {
			b.Fatal(err)
		}
	}
}
