package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxResumes is how many times in a row a broken object stream is picked
// up again where it broke.
const maxResumes = 5

// Open opens the object at uri for reading from start to end. It streams
// the body of a GetObject (nothing is downloaded ahead) and, when the
// connection breaks (the reader may be slow and S3 drops idle streams), goes
// on with a ranged GET from where it stopped, as long as the object has not
// changed. A missing object or bucket is an error wrapping os.ErrNotExist
// naming the URI. ctx bounds the whole reading, not only the call.
func (s *Store) Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	bucket, key, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s.wrapErr("GetObject", bucket, key, err)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	return &stream{
		s: s, ctx: ctx, bucket: bucket, key: key,
		etag: aws.ToString(out.ETag),
		size: size,
		body: out.Body,
	}, nil
}

// stream is the body of an object that resumes after a broken connection.
type stream struct {
	s           *Store
	ctx         context.Context
	bucket, key string
	etag        string
	size        int64 // -1 when unknown
	off         int64 // bytes returned so far
	body        io.ReadCloser
	failures    int   // breaks in a row
	err         error // sticky
}

func (r *stream) Read(p []byte) (int, error) {
	for r.err == nil {
		if r.body == nil {
			if err := r.resume(); err != nil {
				r.err = err
				break
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.failures = 0
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.size < 0 || r.off >= r.size):
			r.err = io.EOF
			return n, nil
		}
		// The connection broke (or the body ended early): try again from off.
		r.body.Close()
		r.body = nil
		r.failures++
		if r.ctx.Err() != nil || r.failures > maxResumes {
			r.err = r.s.wrapErr("GetObject", r.bucket, r.key, fmt.Errorf("reading at byte %d: %w", r.off, err))
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, r.err
}

// resume opens the rest of the object from r.off, after a pause that grows
// with the failures in a row.
func (r *stream) resume() error {
	if r.size >= 0 && r.off >= r.size {
		return io.EOF
	}
	t := time.NewTimer(time.Duration(1<<r.failures) * 50 * time.Millisecond)
	select {
	case <-r.ctx.Done():
		t.Stop()
		return r.s.wrapErr("GetObject", r.bucket, r.key, r.ctx.Err())
	case <-t.C:
	}
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-", r.off)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		if code, _ := errorCode(err); code == "PreconditionFailed" {
			return &opError{op: "GetObject", uri: uri(r.bucket, r.key), err: err,
				reason: fmt.Sprintf("the object changed while it was read (at byte %d)", r.off)}
		}
		return r.s.wrapErr("GetObject", r.bucket, r.key, err)
	}
	r.body = out.Body
	return nil
}

func (r *stream) Close() error {
	if r.err == nil {
		r.err = errors.New("s3store: read after Close")
	}
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
