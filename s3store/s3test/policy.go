package s3test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Policy is what a locked-down account demands of S3 requests:
//
//   - Bucket, a bucket policy: a request that creates an object
//     (PutObject, CreateMultipartUpload, CopyObject: the s3:PutObject
//     action that carries the encryption headers) is denied when one of its
//     Deny statements holds, as S3 denies it; the parts and the completion
//     of a multipart upload are encrypted as the upload was created and are
//     not checked again;
//   - Owner, the account that owns every bucket behind the proxy: a request
//     naming another in x-amz-expected-bucket-owner is denied, as S3 denies
//     it, and one naming none is denied too, standing for a security
//     review's rule that every call name the owner (S3 has no condition key
//     a bucket policy could require it with).
type Policy struct {
	Bucket BucketPolicy
	Owner  string
}

// Refusal is a request the proxy refused, and why.
type Refusal struct {
	Op, Bucket, Key string
	Status          int
	Code            string // the S3 error code answered
	Reason          string // which rule, in plain words
}

// PolicyProxy is an S3 endpoint in front of the test server that enforces
// a Policy the way S3 would, and passes every other request through,
// bodies streamed. The test server (MinIO) has no KMS, so a request that
// passes is forwarded without its encryption and owner headers, signed
// again with the server's credentials; before that, the proxy checks the
// client's own signature over the headers it signed, so what the policy
// read is what the client sent and signed.
type PolicyProxy struct {
	// URL is the endpoint to give clients (--s3-endpoint).
	URL string

	policy Policy
	creds  aws.Credentials
	server *httptest.Server

	mu      sync.Mutex
	passed  map[string]int // requests forwarded, by operation
	refused []Refusal
}

// NewPolicyProxy starts a PolicyProxy in front of the test server (see
// Endpoint: it skips the test without one) and stops it when the test ends.
func NewPolicyProxy(t testing.TB, policy Policy) *PolicyProxy {
	t.Helper()
	endpoint, accessKey, secretKey := Endpoint(t)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("s3test: endpoint %q: %v", endpoint, err)
	}
	p := &PolicyProxy{policy: policy, passed: map[string]int{},
		creds: aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}
	forward := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		for _, h := range []string{headerSSE, headerSSEKeyID, headerOwner} {
			pr.Out.Header.Del(h)
		}
		region := Region
		if sig, err := parseSigV4(pr.In.Header.Get("Authorization")); err == nil {
			region = sig.region
		}
		if err := resign(pr.Out, p.creds, region); err != nil {
			pr.Out.Header.Set("Authorization", "s3test: signing again failed: "+err.Error())
		}
	}}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, bucket, key := operation(r)
		if refusal, ok := p.check(r, op, bucket, key); !ok {
			p.refuse(w, r, refusal)
			return
		}
		p.mu.Lock()
		p.passed[op]++
		p.mu.Unlock()
		forward.ServeHTTP(w, r)
	}))
	p.URL = p.server.URL
	t.Cleanup(p.server.Close)
	return p
}

// The headers the policy reads.
const (
	headerSSE      = "X-Amz-Server-Side-Encryption"
	headerSSEKeyID = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	headerOwner    = "X-Amz-Expected-Bucket-Owner"
)

// creating are the operations that create an object: the only ones that
// take the encryption headers.
var creating = map[string]bool{"PutObject": true, "CreateMultipartUpload": true, "CopyObject": true}

// check applies the policy to a request.
func (p *PolicyProxy) check(r *http.Request, op, bucket, key string) (Refusal, bool) {
	deny := func(status int, code, reason string) (Refusal, bool) {
		return Refusal{Op: op, Bucket: bucket, Key: key, Status: status, Code: code, Reason: reason}, false
	}
	sig, err := parseSigV4(r.Header.Get("Authorization"))
	if err != nil {
		return deny(http.StatusForbidden, "AccessDenied", "unsigned request: "+err.Error())
	}
	for _, h := range []string{headerSSE, headerSSEKeyID, headerOwner} {
		if r.Header.Get(h) != "" && !sig.signs(h) {
			return deny(http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed: "+strings.ToLower(h))
		}
	}
	if err := sig.verify(r, p.creds); err != nil {
		return deny(http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
	}
	sse, keyID, owner := r.Header.Get(headerSSE), r.Header.Get(headerSSEKeyID), r.Header.Get(headerOwner)
	if bucket != "" {
		switch {
		case owner == "":
			return deny(http.StatusForbidden, "AccessDenied", "no x-amz-expected-bucket-owner")
		case owner != p.policy.Owner:
			return deny(http.StatusForbidden, "AccessDenied", fmt.Sprintf("x-amz-expected-bucket-owner %s, but account %s owns the bucket", owner, p.policy.Owner))
		}
	}
	switch {
	case !creating[op] && (sse != "" || keyID != ""):
		return deny(http.StatusBadRequest, "InvalidArgument", "x-amz-server-side-encryption header is not supported for this operation ("+op+")")
	case !creating[op]:
	default:
		if sid := p.policy.Bucket.deny(r.Header); sid != "" {
			return deny(http.StatusForbidden, "AccessDenied", fmt.Sprintf("the bucket policy's statement %s denies s3:PutObject with x-amz-server-side-encryption %q and key %q", sid, sse, keyID))
		}
	}
	return Refusal{}, true
}

// refuse answers a refused request as S3 answers one, and records it. A
// denial by a bucket policy's Deny statement says so, as S3's message does.
func (p *PolicyProxy) refuse(w http.ResponseWriter, r *http.Request, f Refusal) {
	p.mu.Lock()
	p.refused = append(p.refused, f)
	p.mu.Unlock()
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	message := "Access Denied"
	switch {
	case f.Code != "AccessDenied":
		message = f.Reason
	case creating[f.Op] && strings.Contains(f.Reason, "bucket policy"):
		message = fmt.Sprintf("User: arn:aws:iam::%s:user/s3test is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::%s/%s\" with an explicit deny in a resource-based policy",
			p.policy.Owner, f.Bucket, f.Key)
	case strings.HasPrefix(f.Reason, "There were headers"):
		message = f.Reason
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>S3TESTPOLICY</RequestId></Error>`, f.Code, xmlEscape(message))
	}
}

// Passed returns how many requests of each operation the proxy forwarded.
func (p *PolicyProxy) Passed() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.passed))
	for op, n := range p.passed {
		out[op] = n
	}
	return out
}

// Refused returns the requests the proxy refused, in order.
func (p *PolicyProxy) Refused() []Refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// CheckNoneRefused fails the test for each request the proxy refused.
func (p *PolicyProxy) CheckNoneRefused(t testing.TB) {
	t.Helper()
	for _, r := range p.Refused() {
		t.Errorf("the policy refused %s s3://%s/%s: %d %s: %s", r.Op, r.Bucket, r.Key, r.Status, r.Code, r.Reason)
	}
}

// operation names the S3 operation of a path-style request, and its bucket
// and key.
func operation(r *http.Request) (op, bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch r.Method {
	case http.MethodPut:
		switch {
		case key == "":
			return "CreateBucket", bucket, key
		case q.Has("partNumber") && r.Header.Get("X-Amz-Copy-Source") != "":
			return "UploadPartCopy", bucket, key
		case q.Has("partNumber"):
			return "UploadPart", bucket, key
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject", bucket, key
		}
		return "PutObject", bucket, key
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "CreateMultipartUpload", bucket, key
		case q.Has("uploadId"):
			return "CompleteMultipartUpload", bucket, key
		case q.Has("delete"):
			return "DeleteObjects", bucket, key
		}
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return "AbortMultipartUpload", bucket, key
		case key == "":
			return "DeleteBucket", bucket, key
		}
		return "DeleteObject", bucket, key
	case http.MethodHead:
		if key == "" {
			return "HeadBucket", bucket, key
		}
		return "HeadObject", bucket, key
	case http.MethodGet:
		switch {
		case bucket == "":
			return "ListBuckets", bucket, key
		case key == "" && q.Has("uploads"):
			return "ListMultipartUploads", bucket, key
		case key == "" && q.Get("list-type") == "2":
			return "ListObjectsV2", bucket, key
		case key == "" && q.Has("location"):
			return "GetBucketLocation", bucket, key
		case key == "":
			return "ListObjects", bucket, key
		}
		return "GetObject", bucket, key
	}
	return r.Method, bucket, key
}

// xmlEscape escapes text for an XML element.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
