package s3store

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults of Options.
const (
	// DefaultPartSize is the multipart part size when Options leaves it 0.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 accepts, except for the last.
	MinPartSize = 5 << 20
	// DefaultRetryMaxAttempts is how many times a request is tried when
	// Options leaves it 0.
	DefaultRetryMaxAttempts = 8
	// DefaultRetryMaxBackoff bounds the wait between two tries when Options
	// leaves it 0.
	DefaultRetryMaxBackoff = 20 * time.Second
)

// Sizes of random-access reads (OpenAt).
const (
	// wholeObjectMax is the size up to which OpenAt fetches an object whole.
	wholeObjectMax = 8 << 20
	// blockSize is the unit of the ranged GETs of a larger object.
	blockSize = 1 << 20
	// cacheBlocks is how many blocks an open object keeps.
	cacheBlocks = 16
)

// Options configure a Store. The zero value is AWS S3 with the defaults.
type Options struct {
	// Endpoint is a custom S3 endpoint URL (MinIO, a VPC endpoint). Empty
	// means AWS, or AWS_ENDPOINT_URL_S3 when set (config.LoadDefaultConfig).
	Endpoint string
	// PathStyle forces path-style addressing (http://host/bucket/key). It is
	// on anyway whenever a custom endpoint is in use: Endpoint,
	// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or aws.Config.BaseEndpoint.
	PathStyle bool
	// PartSize is the multipart upload part size; 0 means DefaultPartSize
	// and smaller values are raised to MinPartSize. An object being written
	// holds at most one part in memory.
	PartSize int64
	// RetryMaxAttempts is how many times a request is tried on 5xx,
	// throttling (SlowDown) and connection errors; 0 means
	// DefaultRetryMaxAttempts.
	RetryMaxAttempts int
	// RetryMaxBackoff bounds the wait between two tries; 0 means
	// DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration

	// SSE is the server-side encryption every request that creates an
	// object asks for (PutObject, CreateMultipartUpload): SSEKMS,
	// SSEKMSDSSE or SSES3; "" asks for none, so the bucket's default
	// encryption applies.
	SSE string
	// KMSKeyID is the KMS key of SSEKMS or SSEKMSDSSE: a key ARN, key id,
	// alias or alias ARN; "" is the account's AWS managed key for S3. A
	// bucket policy that names a key compares it with this value as sent,
	// so give what the policy names (usually the key ARN).
	KMSKeyID string
	// ExpectedBucketOwner is the account id sent with every request as
	// x-amz-expected-bucket-owner: S3 refuses (403) any request to a bucket
	// another account owns, so a renamed or sniped bucket never gets data.
	ExpectedBucketOwner string
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		o.PartSize = MinPartSize
	}
	if o.RetryMaxAttempts <= 0 {
		o.RetryMaxAttempts = DefaultRetryMaxAttempts
	}
	if o.RetryMaxBackoff <= 0 {
		o.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	return o
}

// Store reads and writes S3 objects through one S3 client. It is safe for
// concurrent use.
type Store struct {
	client    *s3.Client
	opts      Options
	pathStyle bool

	// Random-access read sizes; tests lower them.
	wholeMax  int64
	blockSize int64
	blocks    int
}

// New returns a Store over the S3 client made from cfg (credentials,
// region, HTTP client) and opts. The client retries 5xx, throttling and
// connection errors up to opts.RetryMaxAttempts times with exponential
// backoff and jitter, without the SDK's client-side retry quota, so a long
// stretch of SlowDown slows a run down rather than failing it.
func New(cfg aws.Config, opts Options) *Store {
	opts = opts.withDefaults()
	pathStyle := opts.PathStyle || opts.Endpoint != "" || cfg.BaseEndpoint != nil ||
		os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
			if o.Region == "" {
				o.Region = "us-east-1" // S3-compatible servers accept it; signing needs one
			}
		}
		o.UsePathStyle = pathStyle
		o.RetryMaxAttempts = 0 // the Retryer below says it
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = opts.RetryMaxAttempts
			so.MaxBackoff = opts.RetryMaxBackoff
			so.RateLimiter = ratelimit.None
		})
		// Ranged reads and multipart objects carry no whole-object checksum
		// to check; do not log a warning for each of them.
		o.DisableLogOutputChecksumValidationSkipped = true
		o.APIOptions = append(o.APIOptions, lockedDown{sse: opts.SSE, keyID: opts.KMSKeyID, owner: opts.ExpectedBucketOwner}.addTo)
	})
	return &Store{
		client:    client,
		opts:      opts,
		pathStyle: pathStyle,
		wholeMax:  wholeObjectMax,
		blockSize: blockSize,
		blocks:    cacheBlocks,
	}
}

// String describes the Store's configuration.
func (s *Store) String() string {
	endpoint := s.opts.Endpoint
	if endpoint == "" {
		endpoint = "default"
	}
	desc := fmt.Sprintf("s3store endpoint %s path-style %t part size %d MiB, %d attempts",
		endpoint, s.pathStyle, s.opts.PartSize>>20, s.opts.RetryMaxAttempts)
	if s.opts.SSE != "" {
		desc += ", sse " + s.opts.SSE
		if s.opts.KMSKeyID != "" {
			desc += " key " + s.opts.KMSKeyID
		}
	}
	if s.opts.ExpectedBucketOwner != "" {
		desc += ", expected bucket owner " + s.opts.ExpectedBucketOwner
	}
	return desc
}
