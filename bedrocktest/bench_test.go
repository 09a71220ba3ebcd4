package bedrocktest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// BenchmarkConverse measures a whole call through the real SDK on loopback.
func BenchmarkConverse(b *testing.B) {
	srv := NewServer(Options{RequestsPerMinute: 1 << 30, TokensPerMinute: 1 << 30})
	defer srv.Close()
	client := bedrockruntime.New(bedrockruntime.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = 256
		}),
	})
	in := converseInput("a benchmark prompt of several words")
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(100)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.Converse(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHandler measures the emulator alone, replaying bodies the SDK sent.
func BenchmarkHandler(b *testing.B) {
	for _, op := range []string{"converse", "converse-stream"} {
		b.Run(op, func(b *testing.B) {
			body := sdkBody(b, op == "converse-stream")
			h := NewHandler(Options{RequestsPerMinute: 1 << 30, TokensPerMinute: 1 << 30})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{header: http.Header{}}
				r := httptest.NewRequest(http.MethodPost, "/model/"+testModel+"/"+op, nil)
				rd := bytes.NewReader(body)
				for pb.Next() {
					rd.Reset(body)
					r.Body = readCloser{rd}
					clear(w.header)
					w.status = 0
					h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Errorf("status %d", w.status)
						return
					}
				}
			})
			if s := h.Stats(); s.OK == 0 {
				b.Fatalf("stats %+v", s)
			}
		})
	}
}

// sdkBody captures the body the SDK sends for a typical call.
func sdkBody(b testing.TB, stream bool) []byte {
	b.Helper()
	var obs observer
	_, client := newServer(b, Options{Observe: obs.observe})
	cfg := &types.InferenceConfiguration{MaxTokens: aws.Int32(100), Temperature: aws.Float32(0)}
	if stream {
		in := streamInput("a benchmark prompt of several words")
		in.InferenceConfig = cfg
		out, err := client.ConverseStream(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		readStream(b, out)
	} else {
		in := converseInput("a benchmark prompt of several words")
		in.InferenceConfig = cfg
		if _, err := client.Converse(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	return obs.last(b).Raw
}

type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Flush()              {}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
