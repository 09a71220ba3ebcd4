package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Dir is a prefix, s3://bucket/prefix/, as a storage.Dir: the S3
// counterpart of storage.LocalDir. Names may hold "/". It is safe for
// concurrent use; each Object it creates is not.
type Dir struct {
	s      *Store
	bucket string
	prefix string // "" (the bucket's root) or ending in "/"

	mu      sync.Mutex
	uploads map[string]string // id → key of the multipart uploads started and not yet completed or aborted

	// putOptions change the client's options for Put and its kin (FailFast).
	putOptions []func(*s3.Options)
}

var (
	_ storage.Dir          = (*Dir)(nil)
	_ storage.WriteChecker = (*Dir)(nil)
	_ storage.Abandoner    = (*Dir)(nil)
	_ storage.FailFaster   = (*Dir)(nil)
	_ storage.Backend      = (*Store)(nil)
)

// Dir returns the output prefix at prefixURI; a trailing slash is added if
// missing. It makes no request: CheckWritable tells whether the prefix can
// be written.
func (s *Store) Dir(ctx context.Context, prefixURI string) (*Dir, error) {
	bucket, prefix, err := ParseURI(prefixURI)
	if err != nil {
		return nil, err
	}
	if hasMeta(prefix) {
		return nil, fmt.Errorf("s3store: output %s: an output prefix cannot hold glob characters (* ? [ \\)", prefixURI)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Dir{s: s, bucket: bucket, prefix: prefix, uploads: make(map[string]string)}, nil
}

// FailFast returns the prefix with Put, PutIfAbsent and ReplaceIf tried
// once: the journal tries its writes again itself, and holds new calls
// back from the first failure on, rather than after the client's minute
// of backoff.
func (d *Dir) FailFast() storage.Dir {
	return &Dir{s: d.s, bucket: d.bucket, prefix: d.prefix, uploads: make(map[string]string),
		putOptions: []func(*s3.Options){func(o *s3.Options) { o.RetryMaxAttempts = 1 }}}
}

// OpenDir returns the prefix at uri as a storage.Dir; see Dir.
func (s *Store) OpenDir(ctx context.Context, uri string) (storage.Dir, error) {
	return s.Dir(ctx, uri)
}

// String returns the prefix's URI, "s3://bucket/prefix/".
func (d *Dir) String() string { return uri(d.bucket, d.prefix) }

// URI is the s3:// URI of a name under the prefix; "" is the prefix.
func (d *Dir) URI(name string) string { return uri(d.bucket, d.prefix+name) }

// Open streams an object of the prefix; see Store.Open.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	return d.s.Open(ctx, d.URI(name))
}

// OpenAt opens an object of the prefix for random access; see
// Store.OpenAt.
func (d *Dir) OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, io.Closer, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, 0, nil, err
	}
	return d.s.OpenAt(ctx, d.URI(name))
}

// Put writes a small file (such as _manifest.json) with one PutObject,
// replacing any object of that name.
func (d *Dir) Put(ctx context.Context, name string, data []byte) error {
	_, err := d.put(ctx, name, data, putCondition{})
	return err
}

// PutIfAbsent writes a small file with one PutObject that carries
// If-None-Match: *, so S3 refuses it (412, an error wrapping fs.ErrExist)
// when the object exists: of two writers, one wins.
func (d *Dir) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	_, err := d.put(ctx, name, data, putCondition{ifNoneMatch: true})
	return err
}

// putCondition is what S3 checks before it takes a PutObject: that no
// object has the key (If-None-Match: *), or that the object still has an
// ETag (If-Match).
type putCondition struct {
	ifNoneMatch bool
	ifMatch     storage.Version
}

// put writes a small file with one PutObject and returns its ETag.
func (d *Dir) put(ctx context.Context, name string, data []byte, cond putCondition) (storage.Version, error) {
	if err := storage.CheckName(name); err != nil {
		return "", err
	}
	key := d.prefix + name
	in := &s3.PutObjectInput{
		Bucket: aws.String(d.bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	}
	if cond.ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.ifMatch != "" {
		in.IfMatch = aws.String(string(cond.ifMatch))
	}
	out, err := d.s.client.PutObject(ctx, in, d.putOptions...)
	if err != nil {
		return "", d.s.wrapErr("PutObject", d.bucket, key, err)
	}
	return storage.Version(aws.ToString(out.ETag)), nil
}

// Get reads a whole file of the prefix. A missing file is an error wrapping
// os.ErrNotExist.
func (d *Dir) Get(ctx context.Context, name string) ([]byte, error) {
	data, _, err := d.GetVersion(ctx, name)
	return data, err
}

// GetVersion reads a whole file of the prefix with its ETag.
func (d *Dir) GetVersion(ctx context.Context, name string) ([]byte, storage.Version, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, "", err
	}
	key := d.prefix + name
	out, err := d.s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", d.s.wrapErr("GetObject", d.bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", d.s.wrapErr("GetObject", d.bucket, key, err)
	}
	return data, storage.Version(aws.ToString(out.ETag)), nil
}

// ReplaceIf writes a small file with one PutObject that carries If-Match
// on the ETag v, so S3 refuses it (412, or 409 for a write racing it, or
// 404 for an object gone) unless the object still has that ETag: of two
// writers holding the same ETag, one wins. It returns the new ETag.
func (d *Dir) ReplaceIf(ctx context.Context, name string, data []byte, v storage.Version) (storage.Version, error) {
	etag, err := d.put(ctx, name, data, putCondition{ifMatch: v})
	if code, status := errorCode(err); status == 412 || status == 409 || status == 404 || code == "PreconditionFailed" || code == "NoSuchKey" {
		return "", fmt.Errorf("s3store: PutObject %s if its ETag is still %s: %w", d.URI(name), v, storage.ErrChanged)
	}
	return etag, err
}

// List returns the names of the objects under the prefix whose name
// starts with prefix, at any depth, sorted. Objects being written do not
// appear until committed.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	p := s3.NewListObjectsV2Paginator(d.s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(d.bucket), Prefix: aws.String(d.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, d.s.wrapErr("ListObjectsV2", d.bucket, d.prefix, err)
		}
		for _, o := range page.Contents {
			// A key ending in "/" is a console-made folder marker, not a file.
			if name := strings.TrimPrefix(aws.ToString(o.Key), d.prefix); name != "" && !strings.HasSuffix(name, "/") {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// CheckWritable tells, before any work is done, whether objects can be
// written under the prefix: it starts a multipart upload of a
// "_write-check-<random>" object and aborts it, which needs s3:PutObject and
// s3:AbortMultipartUpload, the permissions Create needs, and leaves no
// object behind. A missing bucket or a denied request is an error that says
// which bucket or which permission.
func (d *Dir) CheckWritable(ctx context.Context) error {
	key := d.prefix + "_write-check-" + randomHex(8)
	resource := "arn:aws:s3:::" + d.bucket + "/" + d.prefix + "*"
	out, err := d.s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(d.bucket), Key: aws.String(key),
	})
	if err != nil {
		return d.s.wrapErrAt("CreateMultipartUpload", d.String(), resource, d.bucket,
			fmt.Errorf("checking that the output is writable: %w", err))
	}
	_, err = d.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(d.bucket), Key: aws.String(key), UploadId: out.UploadId,
	})
	if err != nil {
		return d.s.wrapErrAt("AbortMultipartUpload", d.String(), resource, d.bucket,
			fmt.Errorf("checking that the output is writable: %w", err))
	}
	return nil
}

// AbortIncomplete aborts every multipart upload this Dir started that was
// neither completed nor aborted, so that a failed or interrupted run
// leaves no invisible parts to pay for. It returns how many it aborted.
// Call it once the objects are no longer written: a later Write or Commit
// of such an object fails.
func (d *Dir) AbortIncomplete(ctx context.Context) (int, error) {
	d.mu.Lock()
	pending := make(map[string]string, len(d.uploads))
	for id, key := range d.uploads {
		pending[id] = key
	}
	d.mu.Unlock()

	var errs []error
	n := 0
	for id, key := range pending {
		if err := d.abortUpload(ctx, key, id); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// track records a multipart upload as started.
func (d *Dir) track(id, key string) {
	d.mu.Lock()
	d.uploads[id] = key
	d.mu.Unlock()
}

// untrack records a multipart upload as completed or aborted.
func (d *Dir) untrack(id string) {
	d.mu.Lock()
	delete(d.uploads, id)
	d.mu.Unlock()
}

// abortUpload aborts one multipart upload; one already gone is fine.
func (d *Dir) abortUpload(ctx context.Context, key, id string) error {
	_, err := d.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(d.bucket), Key: aws.String(key), UploadId: aws.String(id),
	})
	if code, _ := errorCode(err); err != nil && code != "NoSuchUpload" {
		return d.s.wrapErr("AbortMultipartUpload", d.bucket, key, err)
	}
	d.untrack(id)
	return nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Remove deletes a file of the prefix (a data file superseded by its
// compacted copy); a missing one is not an error.
func (d *Dir) Remove(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	key := d.prefix + name
	_, err := d.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	if err != nil && !isNotFound(err) {
		return d.s.wrapErr("DeleteObject", d.bucket, key, err)
	}
	return nil
}
