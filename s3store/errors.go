package s3store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// opError is a failed S3 operation: which one, on which URI, and why in
// plain words. It wraps the SDK's error and, for a missing object or bucket
// and for a denied request, os.ErrNotExist or os.ErrPermission.
type opError struct {
	op     string // S3 operation, such as "GetObject"
	uri    string // s3:// URI of the object, prefix or bucket
	reason string // plain words; empty means the wrapped error's text
	kind   error  // os.ErrNotExist, os.ErrPermission or nil
	err    error  // the SDK's error, or nil
}

func (e *opError) Error() string {
	reason := e.reason
	if reason == "" && e.err != nil {
		reason = e.err.Error()
	}
	return "s3store: " + e.op + " " + e.uri + ": " + reason
}

func (e *opError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// permissions are the IAM actions each operation needs.
var permissions = map[string]string{
	"GetObject":               "s3:GetObject",
	"HeadObject":              "s3:GetObject",
	"ListObjectsV2":           "s3:ListBucket",
	"PutObject":               "s3:PutObject",
	"CreateMultipartUpload":   "s3:PutObject",
	"UploadPart":              "s3:PutObject",
	"CompleteMultipartUpload": "s3:PutObject",
	"AbortMultipartUpload":    "s3:AbortMultipartUpload",
	"DeleteObject":            "s3:DeleteObject",
	"ListMultipartUploads":    "s3:ListBucketMultipartUploads",
}

// resourceARN is the IAM resource an operation on bucket and key needs.
func resourceARN(op, bucket, key string) string {
	if op == "ListObjectsV2" || op == "ListMultipartUploads" {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// wrapErr turns an error of operation op on bucket and key into an opError
// that says what went wrong in plain words.
func (s *Store) wrapErr(op, bucket, key string, err error) error {
	return s.wrapErrAt(op, uri(bucket, key), resourceARN(op, bucket, key), bucket, err)
}

// wrapErrAt is wrapErr with the URI and the IAM resource to name given. A
// denied request also says which rule of a locked-down bucket it may have
// broken (SSE-KMS, the expected owner) and the flag that satisfies it.
func (s *Store) wrapErrAt(op, uriText, resource, bucket string, err error) error {
	e := &opError{op: op, uri: uriText, err: err}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return e
	}
	code, status := errorCode(err)
	switch {
	case code == "NoSuchBucket":
		e.reason, e.kind = fmt.Sprintf("bucket %q does not exist", bucket), os.ErrNotExist
	case code == "NoSuchKey", status == 404 && (op == "HeadObject" || op == "GetObject"):
		e.reason, e.kind = "no such key", os.ErrNotExist
	case code == "PreconditionFailed", status == 412:
		e.reason, e.kind = "the object already exists", os.ErrExist
	case code == "NoSuchUpload":
		e.reason, e.kind = "the multipart upload no longer exists (aborted or expired)", os.ErrNotExist
	case code == "AccessDenied", code == "Forbidden", code == "AllAccessDisabled", status == 403 && code == "":
		e.kind = os.ErrPermission
		explicit := explicitDeny(err)
		perm := permissions[op]
		switch {
		case explicit && perm != "":
			e.reason = fmt.Sprintf("access denied by an explicit deny in a policy (the bucket's, a VPC endpoint's or the organization's) of %s on %s", perm, resource)
		case explicit:
			e.reason = "access denied by an explicit deny in a policy (the bucket's, a VPC endpoint's or the organization's)"
		case perm != "":
			e.reason = fmt.Sprintf("access denied: the credentials need %s on %s", perm, resource)
		default:
			e.reason = "access denied"
		}
		if !explicit && (op == "HeadObject" || op == "GetObject") {
			e.reason += " (S3 also answers a missing key with 403 when the credentials lack s3:ListBucket on the bucket)"
		}
		if hint := s.opts.deniedHint(op, explicit); hint != "" {
			e.reason += "; " + hint
		}
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch", code == "ExpiredToken",
		code == "InvalidToken", code == "TokenRefreshRequired":
		e.kind = os.ErrPermission
		e.reason = fmt.Sprintf("the credentials were rejected (%s): check AWS_PROFILE or the access keys", code)
	case code == "PermanentRedirect", code == "AuthorizationHeaderMalformed", code == "IllegalLocationConstraintException":
		e.reason = fmt.Sprintf("bucket %q is in another region (%s): set --region or AWS_REGION to the bucket's region", bucket, code)
	case status >= 500, status == 0 && code == "", code == "SlowDown", code == "RequestTimeout", code == "ServiceUnavailable":
		e.kind = storage.ErrUnavailable
	}
	return e
}

// errorCode returns the S3 error code and HTTP status of an SDK error, ""
// and 0 when it has none.
func errorCode(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
		// HEAD answers have no body: the SDK names the code after the status.
		if strings.EqualFold(code, "NotFound") {
			code = ""
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return code, status
}

// explicitDeny reports whether S3 said a policy denied the request
// explicitly ("... with an explicit deny in a resource-based policy"),
// rather than that nothing allowed it.
func explicitDeny(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorMessage(), "explicit deny")
}

// isNotFound reports whether err says an object (or bucket) is missing.
func isNotFound(err error) bool {
	code, status := errorCode(err)
	return status == 404 || code == "NoSuchKey" || code == "NoSuchBucket"
}
