package s3store

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

// The locked-down account of these tests: deploy/locked-down's example.
const (
	testKeyARN = s3test.ExampleKMSKeyID
	testOwner  = s3test.ExampleOwner
)

// lockedDownOptions are the Options that satisfy the test policy.
func lockedDownOptions() Options {
	return Options{SSE: SSEKMS, KMSKeyID: testKeyARN, ExpectedBucketOwner: testOwner}
}

// newLockedDownEnv is an env whose Store talks to the test server through
// a proxy enforcing the test policy.
func newLockedDownEnv(t *testing.T, opts Options) (*env, *s3test.PolicyProxy) {
	t.Helper()
	proxy := s3test.NewPolicyProxy(t, s3test.ExamplePolicy(t))
	opts.Endpoint = proxy.URL
	return newEnv(t, opts), proxy
}

// TestLockedDownDirKeepsTheStorageContract runs the storage contract
// through a bucket policy that requires SSE-KMS with one key and the
// expected owner on every call: with the options, no request is refused.
func TestLockedDownDirKeepsTheStorageContract(t *testing.T) {
	s3test.Endpoint(t)
	var proxies []*s3test.PolicyProxy
	storagetest.TestDir(t, func(t *testing.T) storage.Dir {
		e, proxy := newLockedDownEnv(t, lockedDownOptions())
		proxies = append(proxies, proxy)
		d, err := e.store.Dir(ctx(t), e.uri("contract/"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	passed := map[string]int{}
	for _, p := range proxies {
		p.CheckNoneRefused(t)
		for op, n := range p.Passed() {
			passed[op] += n
		}
	}
	for _, op := range []string{"PutObject", "HeadObject", "GetObject", "ListObjectsV2", "DeleteObject"} {
		if passed[op] == 0 {
			t.Errorf("the contract sent no %s through the policy (passed: %v)", op, passed)
		}
	}
}

// TestLockedDownMultipartAndReads writes an object of three parts, checks
// the output writable, expands and reads inputs, all through the policy:
// every request passes, multipart ones included.
func TestLockedDownMultipartAndReads(t *testing.T) {
	e, proxy := newLockedDownEnv(t, Options{SSE: SSEKMS, KMSKeyID: testKeyARN, ExpectedBucketOwner: testOwner, PartSize: MinPartSize})
	c := ctx(t)
	d, err := e.store.Dir(c, e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckWritable(c); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	data := pattern(2*MinPartSize + 1000)
	obj, err := d.Create(c, "part-00000.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := obj.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	e.put(t, "in/a.jsonl", []byte("{}\n"))
	uris, err := e.store.Expand(c, e.uri("in/"))
	if err != nil || len(uris) != 1 {
		t.Fatalf("Expand = %q, %v", uris, err)
	}
	rc, err := e.store.Open(c, e.uri("out/part-00000.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(data))
	}
	proxy.CheckNoneRefused(t)
	passed := proxy.Passed()
	if passed["CreateMultipartUpload"] < 2 || passed["UploadPart"] != 3 || passed["CompleteMultipartUpload"] != 1 || passed["AbortMultipartUpload"] != 1 {
		t.Errorf("passed %v; want the write check's upload and aborted, and one upload of 3 parts", passed)
	}
}

// TestLockedDownDenialsNameTheFlags checks that a request the policy
// denies fails with fs.ErrPermission and a message naming the rule and the
// flag that satisfies it, for each option missing or wrong.
func TestLockedDownDenialsNameTheFlags(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    []string
		notWant []string
	}{
		{"no encryption", Options{ExpectedBucketOwner: testOwner},
			[]string{"explicit deny", "s3:PutObject", "requires server-side encryption", "--s3-sse aws:kms", "--s3-kms-key-id"},
			[]string{"give --expected-bucket-owner"}},
		{"another key", Options{SSE: SSEKMS, KMSKeyID: "alias/other", ExpectedBucketOwner: testOwner},
			[]string{"explicit deny", "--s3-kms-key-id alias/other is the key the bucket policy names", "kms:GenerateDataKey"},
			[]string{"give --s3-sse"}},
		{"S3-managed keys", Options{SSE: SSES3, ExpectedBucketOwner: testOwner},
			[]string{"explicit deny"}, nil},
		{"no owner", Options{SSE: SSEKMS, KMSKeyID: testKeyARN},
			[]string{"access denied", "give --expected-bucket-owner ACCOUNT_ID"},
			[]string{"--s3-sse aws:kms and"}},
		{"another owner", Options{SSE: SSEKMS, KMSKeyID: testKeyARN, ExpectedBucketOwner: "444455556666"},
			[]string{"access denied", "not owned by account 444455556666"}, nil},
		{"nothing", Options{},
			[]string{"--s3-sse aws:kms", "--expected-bucket-owner ACCOUNT_ID"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, proxy := newLockedDownEnv(t, tt.opts)
			d, err := e.store.Dir(ctx(t), e.uri("out/"))
			if err != nil {
				t.Fatal(err)
			}
			err = d.CheckWritable(ctx(t))
			checkErr(t, err, os.ErrPermission, append(tt.want, "CreateMultipartUpload", e.uri("out/"))...)
			for _, w := range tt.notWant {
				if err != nil && strings.Contains(err.Error(), w) {
					t.Errorf("error %q says %q", err, w)
				}
			}
			if len(proxy.Refused()) == 0 {
				t.Error("the proxy refused nothing")
			}
		})
	}
}

// TestReadWithoutTheOwnerNamesTheFlag expands an input through the policy
// without --expected-bucket-owner: the denial names the flag.
func TestReadWithoutTheOwnerNamesTheFlag(t *testing.T) {
	e, _ := newLockedDownEnv(t, Options{})
	e.put(t, "in/a.jsonl", []byte("{}\n"))
	_, err := e.store.Expand(ctx(t), e.uri("in/a.jsonl"))
	checkErr(t, err, os.ErrPermission, e.uri("in/a.jsonl"), "--expected-bucket-owner ACCOUNT_ID")
	_, err = e.store.Expand(ctx(t), e.uri("in/"))
	checkErr(t, err, os.ErrPermission, "ListObjectsV2", "--expected-bucket-owner ACCOUNT_ID")
}
