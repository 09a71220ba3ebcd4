package s3store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// fault is what the proxy does with one request.
type fault struct {
	status   int    // answer with this status and code instead of forwarding
	code     string // S3 error code, such as "SlowDown"
	truncate int    // forward, but cut the answer's body after this many bytes
}

// faultProxy is a reverse proxy to the test server that injects faults.
type faultProxy struct {
	*httptest.Server

	mu     sync.Mutex
	n      int                                // requests seen
	rule   func(n int, r *http.Request) fault // nil forwards everything
	faults int                                // requests given a fault
	seen   map[string]int                     // requests by operation
}

// newFaultProxy starts a proxy to the test server and returns it with an
// env whose Store talks through it.
func newFaultProxy(t *testing.T, opts Options) (*faultProxy, *env) {
	t.Helper()
	endpoint, _, _ := s3test.Endpoint(t)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{seen: make(map[string]int)}
	rp := httputil.NewSingleHostReverseProxy(target) // keeps the Host header the client signed
	rp.ErrorLog = nil
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.n++
		p.seen[operation(r)]++
		var f fault
		if p.rule != nil {
			f = p.rule(p.n, r)
		}
		if f != (fault{}) {
			p.faults++
		}
		p.mu.Unlock()
		switch {
		case f.status != 0:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(f.status)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test proxy</Message><RequestId>test</RequestId></Error>`, f.code)
			}
		case f.truncate > 0:
			rp.ServeHTTP(&truncatingWriter{ResponseWriter: w, left: f.truncate}, r)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.Close)
	opts.Endpoint = p.URL
	return p, newEnv(t, opts)
}

// setRule replaces the proxy's rule and resets its counters.
func (p *faultProxy) setRule(rule func(n int, r *http.Request) fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule, p.n, p.faults = rule, 0, 0
	clear(p.seen)
}

// counts returns the faults injected and the requests of op seen.
func (p *faultProxy) counts(op string) (faults, seen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults, p.seen[op]
}

// operation names the S3 operation of a request, roughly.
func operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodGet && q.Has("list-type"):
		return "ListObjectsV2"
	}
	return r.Method
}

// truncatingWriter passes on a response's first bytes, then drops the
// connection.
type truncatingWriter struct {
	http.ResponseWriter
	left int
}

func (w *truncatingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		w.ResponseWriter.Write(p[:w.left])
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // the client sees the body end early
	}
	w.left -= len(p)
	return w.ResponseWriter.Write(p)
}

// roundTrip writes an object of size bytes through e's Dir, then reads it
// back with Expand, Open and OpenAt, checking every byte.
func roundTrip(t *testing.T, e *env, name string, size int) {
	t.Helper()
	d, err := e.store.Dir(ctx(t), e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := d.Create(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(size)
	writeChunks(t, obj, data)
	if err := obj.Commit(); err != nil {
		t.Fatal(err)
	}
	uris, err := e.store.Expand(ctx(t), e.uri("out/"))
	if err != nil || !slices.Equal(uris, []string{e.uri("out/" + name)}) {
		t.Fatalf("Expand = %q, %v", uris, err)
	}
	rc, err := e.store.Open(ctx(t), uris[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Open read %d bytes, %v; want %d equal ones", len(got), err, len(data))
	}
	ra, n, c, err := e.store.OpenAt(ctx(t), uris[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got = make([]byte, n)
	if _, err := ra.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("OpenAt read %d bytes, %v; want %d equal ones", n, err, len(data))
	}
}

// TestRetriesRideOutThrottling answers a run of requests with 503 SlowDown
// (or 500) and checks the SDK's retries carry every operation through.
func TestRetriesRideOutThrottling(t *testing.T) {
	tests := []struct {
		name         string
		from, faults int // requests from..from+faults-1 get the fault
		status       int
		code         string
	}{
		{name: "SlowDown at CreateMultipartUpload", from: 2, faults: 5, status: 503, code: "SlowDown"},
		{name: "SlowDown in the middle", from: 4, faults: 6, status: 503, code: "SlowDown"},
		{name: "SlowDown when reading", from: 8, faults: 7, status: 503, code: "SlowDown"},
		{name: "InternalError", from: 3, faults: 4, status: 500, code: "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, e := newFaultProxy(t, Options{PartSize: MinPartSize, RetryMaxBackoff: 20 * time.Millisecond})
			p.setRule(func(n int, r *http.Request) fault {
				if n >= tt.from && n < tt.from+tt.faults {
					return fault{status: tt.status, code: tt.code}
				}
				return fault{}
			})
			roundTrip(t, e, "part-1.jsonl", 11<<20+17)
			if got, _ := p.counts(""); got != tt.faults {
				t.Errorf("%d faults injected; want %d", got, tt.faults)
			}
		})
	}
}

// TestStreamResumes cuts the first GETs of an object short and checks Open
// reads on from where the connection broke.
func TestStreamResumes(t *testing.T) {
	p, e := newFaultProxy(t, Options{})
	data := pattern(3 << 20)
	e.put(t, "in.jsonl", data)
	p.setRule(func(n int, r *http.Request) fault {
		if r.Method == http.MethodGet && n <= 3 {
			return fault{truncate: 100_000 * n}
		}
		return fault{}
	})
	rc, err := e.store.Open(ctx(t), e.uri("in.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want %d equal ones", len(got), err, len(data))
	}
	if faults, gets := p.counts(http.MethodGet); faults != 3 || gets != 4 {
		t.Errorf("%d bodies cut, %d GETs; want 3 and 4", faults, gets)
	}
}

// TestPermanentFailures breaks the server for good at some point of an
// upload and checks the error names the URI and the operation, and that
// AbortIncomplete leaves no incomplete upload once the server is back.
func TestPermanentFailures(t *testing.T) {
	tests := []struct {
		name      string
		breakOp   string // operation that fails from when the server breaks
		status    int
		code      string
		inWrite   bool     // the failure shows in Write, not Commit
		wantErr   []string // besides the URI
		wantPerm  bool     // the error wraps os.ErrPermission
		attempts  int      // requests of breakOp the failure took
		leftAfter int      // incomplete uploads before AbortIncomplete
	}{
		{name: "UploadPart in Write", breakOp: "UploadPart", status: 500, code: "InternalError", inWrite: true,
			wantErr: []string{"UploadPart", "part 2", "InternalError"}, attempts: 3, leftAfter: 1},
		{name: "last UploadPart in Commit", breakOp: "UploadPart", status: 503, code: "SlowDown",
			wantErr: []string{"UploadPart", "SlowDown"}, attempts: 3, leftAfter: 1},
		{name: "CompleteMultipartUpload", breakOp: "CompleteMultipartUpload", status: 500, code: "InternalError",
			wantErr: []string{"CompleteMultipartUpload", "InternalError"}, attempts: 3, leftAfter: 1},
		{name: "everything", breakOp: "", status: 500, code: "InternalError", inWrite: true,
			wantErr: []string{"UploadPart"}, leftAfter: 1},
		{name: "access denied", breakOp: "UploadPart", status: 403, code: "AccessDenied", inWrite: true,
			wantErr: []string{"UploadPart", "access denied", "s3:PutObject"}, wantPerm: true, attempts: 1, leftAfter: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, e := newFaultProxy(t, Options{PartSize: MinPartSize, RetryMaxAttempts: 3, RetryMaxBackoff: 10 * time.Millisecond})
			d, err := e.store.Dir(ctx(t), e.uri("out/"))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := d.Create(ctx(t), "part-1.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			data := pattern(MinPartSize + 1000)
			writeChunks(t, obj, data[:MinPartSize+10]) // one part uploaded
			p.setRule(func(n int, r *http.Request) fault {
				if tt.breakOp == "" || operation(r) == tt.breakOp {
					return fault{status: tt.status, code: tt.code}
				}
				return fault{}
			})
			if tt.inWrite {
				_, err = obj.Write(pattern(MinPartSize))
				checkErrTarget(t, err, tt.wantPerm, append(tt.wantErr, e.uri("out/part-1.jsonl"))...)
				if _, err2 := obj.Write([]byte("x")); err2 == nil {
					t.Error("Write after a failed Write succeeded")
				}
			} else {
				writeChunks(t, obj, data[MinPartSize+10:])
			}
			err = obj.Commit()
			checkErrTarget(t, err, tt.wantPerm, append(tt.wantErr, e.uri("out/part-1.jsonl"))...)
			if _, seen := p.counts(tt.breakOp); tt.attempts > 0 && seen != tt.attempts {
				t.Errorf("%d %s requests; want %d", seen, tt.breakOp, tt.attempts)
			}

			// The failed Commit tried to abort; through the broken proxy
			// that may have failed too.
			left := e.uploads(t, "out/part-1.jsonl")
			if tt.breakOp == "" && left != tt.leftAfter {
				t.Errorf("%d incomplete uploads while the server is broken; want %d", left, tt.leftAfter)
			}
			p.setRule(nil)
			if _, err := d.AbortIncomplete(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if n := e.uploads(t, "out/part-1.jsonl"); n != 0 {
				t.Errorf("%d incomplete uploads after AbortIncomplete", n)
			}
			if _, ok := e.get(t, "out/part-1.jsonl"); ok {
				t.Error("the object exists after a failed Commit")
			}
			if err := obj.Abort(); err != nil {
				t.Errorf("Abort after a failed Commit: %v", err)
			}
		})
	}
}

// checkErrTarget is checkErr with os.ErrPermission as the target when perm.
func checkErrTarget(t *testing.T, err error, perm bool, want ...string) {
	t.Helper()
	var target error
	if perm {
		target = os.ErrPermission
	}
	checkErr(t, err, target, want...)
}

// TestAccessDenied answers every request with 403 AccessDenied and checks
// each error says which permission is missing.
func TestAccessDenied(t *testing.T) {
	p, e := newFaultProxy(t, Options{})
	e.put(t, "in/a.jsonl", []byte("{}\n"))
	d, err := e.store.Dir(ctx(t), e.uri("out/"))
	if err != nil {
		t.Fatal(err)
	}
	p.setRule(func(int, *http.Request) fault { return fault{status: 403, code: "AccessDenied"} })
	arn := "arn:aws:s3:::" + e.bucket
	tests := []struct {
		name string
		do   func() error
		want []string
	}{
		{"Expand prefix", func() error { _, err := e.store.Expand(ctx(t), e.uri("in/")); return err },
			[]string{"ListObjectsV2", e.uri("in/"), "s3:ListBucket on " + arn}},
		{"Expand key", func() error { _, err := e.store.Expand(ctx(t), e.uri("in/a.jsonl")); return err },
			[]string{"HeadObject", e.uri("in/a.jsonl"), "s3:GetObject on " + arn + "/in/a.jsonl"}},
		{"Open", func() error { _, err := e.store.Open(ctx(t), e.uri("in/a.jsonl")); return err },
			[]string{"GetObject", e.uri("in/a.jsonl"), "s3:GetObject on " + arn + "/in/a.jsonl"}},
		{"CheckWritable", func() error { return d.CheckWritable(ctx(t)) },
			[]string{"CreateMultipartUpload", e.uri("out/"), "s3:PutObject on " + arn + "/out/*"}},
		{"Put", func() error { return d.Put(ctx(t), "_manifest.json", nil) },
			[]string{"PutObject", e.uri("out/_manifest.json"), "s3:PutObject"}},
		{"Commit", func() error {
			obj, err := d.Create(ctx(t), "part-1.jsonl") // HEAD's 403 is not fatal
			if err != nil {
				return err
			}
			obj.Write([]byte("x"))
			return obj.Commit()
		}, []string{"PutObject", e.uri("out/part-1.jsonl"), "s3:PutObject"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			checkErr(t, err, os.ErrPermission, append(tt.want, "access denied")...)
			if errors.Is(err, os.ErrNotExist) {
				t.Errorf("error %q also wraps os.ErrNotExist", err)
			}
		})
	}
}

// TestFailFastTriesOnce: the FailFast prefix tries a Put once and reports
// a 503 at once, where the prefix itself rides it out with retries.
func TestFailFastTriesOnce(t *testing.T) {
	p, e := newFaultProxy(t, Options{RetryMaxBackoff: 20 * time.Millisecond})
	d, err := e.store.Dir(ctx(t), e.uri("fast/"))
	if err != nil {
		t.Fatal(err)
	}
	failTwice := func(n int, r *http.Request) fault {
		if n <= 2 {
			return fault{status: 503, code: "SlowDown"}
		}
		return fault{}
	}
	p.setRule(failTwice)
	if err := d.FailFast().Put(ctx(t), "_journal/g/000000.jsonl", []byte("a\n")); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("FailFast Put through a 503: %v, want storage.ErrUnavailable at once", err)
	}
	if _, seen := p.counts(http.MethodPut); seen != 1 {
		t.Errorf("FailFast sent %d PutObjects, want 1", seen)
	}
	p.setRule(failTwice)
	if err := d.Put(ctx(t), "_journal/g/000000.jsonl", []byte("a\n")); err != nil {
		t.Errorf("Put through two 503s: %v", err)
	}
	if _, seen := p.counts(http.MethodPut); seen != 3 {
		t.Errorf("Put sent %d PutObjects, want 3", seen)
	}
}
