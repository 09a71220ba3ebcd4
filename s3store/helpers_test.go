package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

var _ storage.Opener = (*Store)(nil)

// env is a Store on the test server with a fresh bucket, and a plain client
// to set up and check things with.
type env struct {
	store  *Store
	client *s3.Client
	bucket string
	http   *countingClient
}

// newEnv returns an env; opts.Endpoint defaults to the test server.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	endpoint, _, _ := s3test.Endpoint(t)
	client := s3test.Client(t)
	cfg := s3test.Config(t)
	counter := &countingClient{inner: awshttp.NewBuildableClient()}
	cfg.HTTPClient = counter
	if opts.Endpoint == "" {
		opts.Endpoint = endpoint
	}
	return &env{store: New(cfg, opts), client: client, bucket: s3test.NewBucket(t, client), http: counter}
}

// uri is the URI of key in the env's bucket.
func (e *env) uri(key string) string { return uri(e.bucket, key) }

// put writes an object directly.
func (e *env) put(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// get reads an object directly; ok is false when it does not exist.
func (e *env) get(t *testing.T, key string) (data []byte, ok bool) {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	data, err = io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return data, true
}

// uploads returns how many incomplete multipart uploads key has.
func (e *env) uploads(t *testing.T, key string) int {
	t.Helper()
	ups, err := s3test.IncompleteUploads(context.Background(), e.client, e.bucket, key)
	if err != nil {
		t.Fatalf("list multipart uploads of %s: %v", key, err)
	}
	return len(ups)
}

// countingClient is an HTTP client that counts the requests it sends.
type countingClient struct {
	inner aws.HTTPClient

	mu     sync.Mutex
	gets   int   // GET requests of objects
	ranged int   // of which with a Range header
	bytes  int64 // body bytes answered to GETs
}

func (c *countingClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(req)
	if req.Method == http.MethodGet && req.URL.Query().Get("list-type") == "" {
		c.mu.Lock()
		c.gets++
		if req.Header.Get("Range") != "" {
			c.ranged++
		}
		if err == nil && resp.ContentLength > 0 {
			c.bytes += resp.ContentLength
		}
		c.mu.Unlock()
	}
	return resp, err
}

// counts returns the counters and resets them.
func (c *countingClient) counts() (gets, ranged int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gets, ranged, bytes = c.gets, c.ranged, c.bytes
	c.gets, c.ranged, c.bytes = 0, 0, 0
	return gets, ranged, bytes
}

// checkErr fails the test unless err is non-nil, matches target (when
// given) and holds every substring of want.
func checkErr(t *testing.T, err, target error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want one with %q", want)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// ctx returns a context for one test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// pattern returns n bytes of a repeating, position-dependent pattern, so
// that a misplaced byte shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + i>>16)
	}
	return b
}

// notExist is os.ErrNotExist, for checkErr tables.
var notExist = os.ErrNotExist
