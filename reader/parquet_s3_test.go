package reader_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/s3store"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

// countingProxy is a reverse proxy in front of the S3 server that counts
// the bytes of the response bodies it passes on: what a reader fetched.
type countingProxy struct {
	*httptest.Server
	body atomic.Int64
}

func newCountingProxy(t *testing.T, endpoint string) *countingProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(target) // keeps the Host header the request was signed for
	rp.ModifyResponse = func(r *http.Response) error {
		r.Body = &countingBody{r.Body, &p.body}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestParquetS3FetchesOnlyItsColumns reads a 200,000-row object from the
// S3 server whose prompt column is a small part of it: the reader fetches
// the footer and the columns that make records, not the object.
func TestParquetS3FetchesOnlyItsColumns(t *testing.T) {
	endpoint, _, _ := s3test.Endpoint(t)
	client := s3test.Client(t)
	bucket := s3test.NewBucket(t, client)

	const n = 200_000
	type row struct {
		ID      int64  `parquet:"id"`
		Prompt  string `parquet:"prompt"`
		Payload []byte `parquet:"payload"` // not a record's column: never fetched
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(n))
	rows := make([]row, 1000)
	for i := 0; i < n; i += len(rows) {
		for j := range rows {
			payload := make([]byte, 200)
			for k := range payload {
				payload[k] = byte(rng.Uint32())
			}
			rows[j] = row{int64(i + j), "Summarise document " + strconv.Itoa(i+j), payload}
		}
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size := int64(buf.Len())
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("prompts.parquet"), Body: bytes.NewReader(buf.Bytes()),
	}); err != nil {
		t.Fatal(err)
	}

	proxy := newCountingProxy(t, endpoint)
	cfg := s3test.Config(t)
	cfg.BaseEndpoint = aws.String(proxy.URL)
	store := s3store.New(cfg, s3store.Options{Endpoint: proxy.URL})
	files := reader.OpenFilesWith(store, []reader.Input{{Path: fmt.Sprintf("s3://%s/prompts.parquet", bucket)}})
	defer files.Close()
	for i := 0; ; i++ {
		rec, err := files.Next(t.Context())
		if err == io.EOF {
			if i != n {
				t.Fatalf("read %d records, want %d", i, n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != nil || rec.ID != strconv.Itoa(i) {
			t.Fatalf("record %d: %q, %v", i, rec.ID, rec.Err)
		}
	}
	fetched := proxy.body.Load()
	t.Logf("object of %d bytes; %d bytes fetched (%.1f%%)", size, fetched, 100*float64(fetched)/float64(size))
	if fetched == 0 || fetched > size/5 {
		t.Errorf("fetched %d bytes of a %d-byte object whose prompt column is a small part of it", fetched, size)
	}
}
