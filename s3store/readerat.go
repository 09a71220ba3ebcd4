package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// fetchTries is how many times a ranged GET whose body broke is made.
const fetchTries = 3

// OpenAt opens the object at uri for random access (Parquet) and returns
// its size. An object of up to 8 MiB is fetched whole into memory; a larger
// one is read with ranged GETs (bytes=a-b) of 1 MiB blocks, of which the
// last 16 used are kept, and a read of 2 blocks or more is one GET of its
// own. Every GET asks for the version HeadObject saw (If-Match), so a file
// replaced while it is read is an error, not a mix of two files. The
// ReaderAt is safe for concurrent use; its reads are bounded by ctx. A
// missing object or bucket is an error wrapping os.ErrNotExist naming the
// URI.
func (s *Store) OpenAt(ctx context.Context, uri string) (io.ReaderAt, int64, io.Closer, error) {
	bucket, key, err := ParseURI(uri)
	if err != nil {
		return nil, 0, nil, err
	}
	head, err := s.head(ctx, bucket, key)
	if err != nil {
		return nil, 0, nil, err
	}
	size := aws.ToInt64(head.ContentLength)
	ra := &rangeReader{
		s: s, ctx: ctx, bucket: bucket, key: key,
		etag: aws.ToString(head.ETag), size: size,
		cache: make(map[int64]*block),
	}
	if size <= s.wholeMax {
		data, err := ra.fetch(0, size)
		if err != nil {
			return nil, 0, nil, err
		}
		return bytes.NewReader(data), size, nopCloser{}, nil
	}
	return ra, size, ra, nil
}

// rangeReader is an io.ReaderAt over ranged GETs with a small block cache.
type rangeReader struct {
	s           *Store
	ctx         context.Context
	bucket, key string
	etag        string
	size        int64

	mu    sync.Mutex
	cache map[int64]*block // by block index
	tick  int64            // use counter, for least recently used
}

// block is one cached block; ready is closed once data or err is set.
type block struct {
	ready chan struct{}
	data  []byte
	err   error
	used  int64
}

// ReadAt reads len(p) bytes at off. It returns io.EOF when the read reaches
// the end of the object.
func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("s3store: %s: negative offset %d", uri(r.bucket, r.key), off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if rest := r.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	bs := r.s.blockSize
	if int64(len(want)) >= 2*bs {
		data, err := r.fetch(off, int64(len(want)))
		if err != nil {
			return 0, err
		}
		copy(want, data)
	} else {
		for done := 0; done < len(want); {
			pos := off + int64(done)
			b, err := r.block(pos / bs)
			if err != nil {
				return done, err
			}
			done += copy(want[done:], b[pos%bs:])
		}
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(p), nil
}

// block returns the bytes of block i, from the cache or fetched. Readers of
// the same block wait for one fetch.
func (r *rangeReader) block(i int64) ([]byte, error) {
	r.mu.Lock()
	r.tick++
	b := r.cache[i]
	if b == nil {
		b = &block{ready: make(chan struct{}), used: r.tick}
		r.cache[i] = b
		r.evict()
		r.mu.Unlock()
		start := i * r.s.blockSize
		b.data, b.err = r.fetch(start, min(r.s.blockSize, r.size-start))
		close(b.ready)
		if b.err != nil {
			r.mu.Lock()
			if r.cache[i] == b {
				delete(r.cache, i) // let a later read try again
			}
			r.mu.Unlock()
		}
	} else {
		b.used = r.tick
		r.mu.Unlock()
		<-b.ready
	}
	return b.data, b.err
}

// evict drops the least recently used blocks beyond the cache's size.
func (r *rangeReader) evict() {
	for len(r.cache) > r.s.blocks {
		var oldest int64 = -1
		for i, b := range r.cache {
			if oldest < 0 || b.used < r.cache[oldest].used {
				oldest = i
			}
		}
		delete(r.cache, oldest)
	}
}

// fetch gets n bytes at off with a ranged GET, again when the body breaks.
func (r *rangeReader) fetch(off, n int64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	var lastErr error
	for try := 0; try < fetchTries; try++ {
		out, err := r.s.client.GetObject(r.ctx, in)
		if err != nil {
			if code, _ := errorCode(err); code == "PreconditionFailed" {
				return nil, &opError{op: "GetObject", uri: uri(r.bucket, r.key), err: err,
					reason: "the object changed while it was read"}
			}
			return nil, r.s.wrapErr("GetObject", r.bucket, r.key, err)
		}
		data := make([]byte, n)
		_, err = io.ReadFull(out.Body, data)
		out.Body.Close()
		if err == nil {
			return data, nil
		}
		lastErr = fmt.Errorf("reading bytes %d-%d: %w", off, off+n-1, err)
		if r.ctx.Err() != nil {
			break
		}
	}
	return nil, r.s.wrapErr("GetObject", r.bucket, r.key, lastErr)
}

// Close drops the cached blocks.
func (r *rangeReader) Close() error {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
	return nil
}

// nopCloser is the Closer of an object held in memory.
type nopCloser struct{}

func (nopCloser) Close() error { return nil }
