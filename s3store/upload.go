package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// maxParts is the most parts S3 takes in one multipart upload.
const maxParts = 10000

// objectOpTimeout bounds one request of an Object, its retries included.
const objectOpTimeout = 10 * time.Minute

// Create starts the data file prefix+name. Nothing is visible under that
// name until Commit. The bytes written are kept in one buffer of
// Options.PartSize: when it fills, a multipart upload is started (the first
// time) and the buffer is uploaded as a part, within Write. Commit uploads
// the rest and completes the upload, or, for an object smaller than one
// part, writes it with a single PutObject. It fails, wrapping fs.ErrExist,
// when the name is taken, and rejects names that are not relative paths.
//
// The Object's requests are not cancelled with ctx, so that a run being
// stopped can still commit what it finished; each is bounded by its
// retries and a 10-minute limit.
func (d *Dir) Create(ctx context.Context, name string) (storage.Object, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	key := d.prefix + name
	_, err := d.s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	switch _, status := errorCode(err); {
	case err == nil:
		return nil, fmt.Errorf("s3store: create %s: %w", uri(d.bucket, key), fs.ErrExist)
	case status == 404, status == 403:
		// Free, or unknown to credentials without s3:GetObject: names are
		// unique to the run, so go on; an error shows at the first upload.
	default:
		return nil, d.s.wrapErr("HeadObject", d.bucket, key, err)
	}
	return &object{d: d, key: key, ctx: context.WithoutCancel(ctx)}, nil
}

// object is a file being uploaded: a storage.Object.
type object struct {
	d   *Dir
	key string
	ctx context.Context // Create's, without its cancellation

	buf      []byte // bytes not yet uploaded, at most PartSize
	uploadID string // "" until the first part is uploaded
	parts    []types.CompletedPart
	done     bool  // committed or aborted
	err      error // sticky: a failed upload
}

var _ storage.Object = (*object)(nil)

// Write buffers p, uploading a part each time PartSize bytes are buffered.
func (o *object) Write(p []byte) (int, error) {
	if o.done {
		return 0, fs.ErrClosed
	}
	if o.err != nil {
		return 0, o.err
	}
	partSize := int(o.d.s.opts.PartSize)
	n := 0
	for len(p) > 0 {
		k := min(partSize-len(o.buf), len(p))
		o.buf = append(o.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(o.buf) == partSize {
			if err := o.uploadPart(); err != nil {
				o.err = err
				return n, err
			}
		}
	}
	return n, nil
}

// uploadPart uploads the buffer as the next part, starting the multipart
// upload first if need be.
func (o *object) uploadPart() error {
	if len(o.parts) == maxParts {
		return fmt.Errorf("s3store: %s: more than %d parts of %d bytes: raise the part size",
			uri(o.d.bucket, o.key), maxParts, o.d.s.opts.PartSize)
	}
	ctx, cancel := context.WithTimeout(o.ctx, objectOpTimeout)
	defer cancel()
	if o.uploadID == "" {
		out, err := o.d.s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(o.d.bucket), Key: aws.String(o.key),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return o.d.s.wrapErr("CreateMultipartUpload", o.d.bucket, o.key, err)
		}
		o.uploadID = aws.ToString(out.UploadId)
		o.d.track(o.uploadID, o.key)
	}
	num := aws.Int32(int32(len(o.parts) + 1))
	out, err := o.d.s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(o.d.bucket), Key: aws.String(o.key), UploadId: aws.String(o.uploadID),
		PartNumber: num, Body: bytes.NewReader(o.buf), ContentLength: aws.Int64(int64(len(o.buf))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return o.d.s.wrapErr("UploadPart", o.d.bucket, o.key, fmt.Errorf("part %d: %w", *num, err))
	}
	o.parts = append(o.parts, types.CompletedPart{ETag: out.ETag, PartNumber: num, ChecksumCRC32: out.ChecksumCRC32})
	o.buf = o.buf[:0]
	return nil
}

// Commit uploads what is buffered and makes the object visible: a
// PutObject when no part was uploaded yet, else the last part and
// CompleteMultipartUpload. A failed Commit aborts the upload.
func (o *object) Commit() error {
	if o.done {
		return fmt.Errorf("s3store: commit %s: %w", uri(o.d.bucket, o.key), fs.ErrClosed)
	}
	err := o.err
	if err == nil {
		err = o.commit()
	}
	if err != nil {
		o.Abort()
		return err
	}
	o.done, o.buf = true, nil
	return nil
}

// commit does the requests of Commit.
func (o *object) commit() error {
	ctx, cancel := context.WithTimeout(o.ctx, objectOpTimeout)
	defer cancel()
	if o.uploadID == "" {
		_, err := o.d.s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(o.d.bucket), Key: aws.String(o.key),
			Body: bytes.NewReader(o.buf), ContentLength: aws.Int64(int64(len(o.buf))),
		})
		if err != nil {
			return o.d.s.wrapErr("PutObject", o.d.bucket, o.key, err)
		}
		return nil
	}
	if len(o.buf) > 0 {
		if err := o.uploadPart(); err != nil {
			return err
		}
	}
	_, err := o.d.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(o.d.bucket), Key: aws.String(o.key), UploadId: aws.String(o.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: o.parts},
	})
	if err != nil {
		return o.d.s.wrapErr("CompleteMultipartUpload", o.d.bucket, o.key, err)
	}
	o.d.untrack(o.uploadID)
	o.uploadID = ""
	return nil
}

// Abort drops the object: it aborts the multipart upload, if one was
// started, so no parts are left behind. It does nothing after Commit or
// another Abort.
func (o *object) Abort() error {
	if o.done && o.uploadID == "" {
		return nil
	}
	o.done, o.buf = true, nil
	if o.uploadID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(o.ctx, objectOpTimeout)
	defer cancel()
	if err := o.d.abortUpload(ctx, o.key, o.uploadID); err != nil {
		return err // the upload stays tracked for Dir.AbortIncomplete
	}
	o.uploadID = ""
	return nil
}
