package request

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// mediaCounter counts a request's images and documents, to refuse one over
// Bedrock's per-request limits before reading their bytes.
type mediaCounter struct {
	origin            reader.Origin
	images, documents int
}

// media turns a record's image or document into the request's: an s3://
// location stays a location for a model that reads S3 itself, anything
// else is read (at most one byte over Bedrock's limit, so a huge file
// costs no memory before it is refused).
func (b *Builder) media(ctx context.Context, n *mediaCounter, m *reader.Media, document bool, modelID string, msg, block int) (*bedrock.Media, error) {
	kind, limit, count, most := "image", int64(bedrock.MaxImageBytes), &n.images, bedrock.MaxImages
	if document {
		kind, limit, count, most = "document", bedrock.MaxDocumentBytes, &n.documents, bedrock.MaxDocuments
	}
	field := fmt.Sprintf("messages[%d].content[%d].%s", msg, block, kind)
	fail := func(format string, args ...any) error {
		return &Error{Origin: n.origin, Field: field, Type: ErrorTypeMedia, Reason: fmt.Sprintf(format, args...)}
	}
	if *count++; *count > most {
		return nil, fail("more than %d %ss in one request (Bedrock's limit)", most, kind)
	}
	out := &bedrock.Media{Format: m.Format, Name: m.Name, Bytes: m.Bytes, BucketOwner: m.BucketOwner}
	if document && out.Name == "" {
		out.Name = bedrock.DocumentName(fmt.Sprintf("document %d", *count))
	}
	if m.Location == "" {
		if int64(len(m.Bytes)) > limit {
			return nil, fail("%d bytes, over Bedrock's limit of %d", len(m.Bytes), limit)
		}
		return out, nil
	}
	if strings.HasPrefix(m.Location, "s3://") && b.opts.S3Location != nil && b.opts.S3Location(modelID) {
		out.S3URI = m.Location
		if out.BucketOwner == "" {
			out.BucketOwner = b.opts.BucketOwner
		}
		return out, nil
	}
	if b.opts.Media == nil {
		return nil, fail("%s cannot be read: no storage for media is configured", m.Location)
	}
	data, err := readAtMost(ctx, b.opts.Media, m.Location, limit)
	switch {
	case errors.Is(err, errTooBig):
		return nil, fail("%s is over Bedrock's limit of %d bytes", m.Location, limit)
	case errors.Is(err, os.ErrNotExist):
		return nil, fail("%s does not exist", m.Location)
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fail("reading %s: %v", m.Location, err)
	}
	out.Bytes = data
	return out, nil
}

var errTooBig = errors.New("over the size limit")

// readAtMost reads a whole object of at most limit bytes.
func readAtMost(ctx context.Context, o storage.Opener, location string, limit int64) ([]byte, error) {
	rc, err := o.Open(ctx, location)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooBig
	}
	return data, nil
}
