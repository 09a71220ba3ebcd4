package s3store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Values of Options.SSE: the x-amz-server-side-encryption header.
const (
	// SSEKMS is server-side encryption with a KMS key (SSE-KMS).
	SSEKMS = "aws:kms"
	// SSEKMSDSSE is dual-layer server-side encryption with a KMS key.
	SSEKMSDSSE = "aws:kms:dsse"
	// SSES3 is server-side encryption with keys S3 manages (SSE-S3).
	SSES3 = "AES256"
)

// The request headers of server-side encryption and of the bucket owner
// condition, as the S3 API reference names them.
const (
	headerSSE      = "X-Amz-Server-Side-Encryption"
	headerSSEKeyID = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	headerOwner    = "X-Amz-Expected-Bucket-Owner"
)

// encryptingOps are the operations that create an object and so take the
// server-side encryption headers. S3 refuses them on any other request (a
// GET or HEAD of an SSE-KMS object with them is a 400), and the parts of a
// multipart upload are encrypted as its CreateMultipartUpload asked.
var encryptingOps = map[string]bool{"PutObject": true, "CreateMultipartUpload": true, "CopyObject": true}

// lockedDown adds what a locked-down account asks of every request to
// every request the Store's client makes, whatever the call site: the
// expected bucket owner on all of them, and the server-side encryption
// (and its KMS key) on those that create an object. Being in the client,
// it covers the writes of every file the run makes (data files, journal
// segments, manifest, lease, staging) and every read, list and delete.
type lockedDown struct {
	sse, keyID, owner string
}

// ID names the middleware in the stack.
func (lockedDown) ID() string { return "bedrock-batch/s3store/lockedDown" }

// HandleBuild sets the headers on the request before it is signed (the
// Finalize step), so they are signed as S3 requires of x-amz-* headers.
func (l lockedDown) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("s3store: unexpected request type %T", in.Request)
	}
	if l.owner != "" {
		req.Header.Set(headerOwner, l.owner)
	}
	if l.sse != "" && encryptingOps[middleware.GetOperationName(ctx)] {
		req.Header.Set(headerSSE, l.sse)
		if l.keyID != "" {
			req.Header.Set(headerSSEKeyID, l.keyID)
		}
	}
	return next.HandleBuild(ctx, in)
}

// addTo puts the middleware on a client's stack (s3.Options.APIOptions);
// with nothing to send it adds nothing.
func (l lockedDown) addTo(stack *middleware.Stack) error {
	if l == (lockedDown{}) {
		return nil
	}
	return stack.Build.Add(l, middleware.After)
}

// deniedHint says which rule of a locked-down account a request op that S3
// denied may have broken, and which flag of batch run satisfies it: a
// bucket policy that refuses writes without SSE-KMS and its key (its Deny
// statements make an explicit deny), and the expected bucket owner (a
// bucket of another account is a plain Access Denied). "" when there is
// nothing to add.
func (o Options) deniedHint(op string, explicit bool) string {
	var hints []string
	if !explicit {
		if o.ExpectedBucketOwner == "" {
			hints = append(hints, "if the account requires the expected bucket owner on every S3 call, give --expected-bucket-owner ACCOUNT_ID")
		} else {
			hints = append(hints, fmt.Sprintf("or the bucket is not owned by account %s (--expected-bucket-owner)", o.ExpectedBucketOwner))
		}
	}
	switch {
	case encryptingOps[op] && o.SSE == "":
		hints = append(hints, "the bucket policy probably requires server-side encryption with your KMS key (SSE-KMS): give --s3-sse aws:kms and --s3-kms-key-id KEY_ARN")
	case encryptingOps[op] && (o.SSE == SSEKMS || o.SSE == SSEKMSDSSE):
		hints = append(hints, fmt.Sprintf("check that --s3-kms-key-id %s is the key the bucket policy names, spelled as the policy spells it (usually the key ARN), and that the credentials have kms:GenerateDataKey and kms:Decrypt (multipart uploads need both) on it", o.KMSKeyID))
	case encryptingOps[op] && explicit:
		hints = append(hints, "the bucket policy probably requires SSE-KMS: give --s3-sse aws:kms and --s3-kms-key-id KEY_ARN")
	case (op == "GetObject" || op == "HeadObject") && !explicit:
		hints = append(hints, "objects encrypted with a KMS key also need kms:Decrypt on that key")
	}
	return strings.Join(hints, "; ")
}
