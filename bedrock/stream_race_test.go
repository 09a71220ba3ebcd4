package bedrock_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// hangUp takes the connection over and closes it; with reset, so that the
// client sees a TCP reset rather than an orderly close.
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// TestStreamWholeThenTransportFails is the race behind extra retries: a
// stream whose messageStop and metadata arrived has been answered (and
// billed), so whatever the transport does next must not fail the call and
// have it made again. Each ending runs many times, concurrently.
func TestStreamWholeThenTransportFails(t *testing.T) {
	whole := textStream("The answer ", "is 42.")
	endings := []struct {
		name    string
		timeout time.Duration // of the call's context; 0: none
		after   func(w http.ResponseWriter, r *http.Request)
	}{
		{name: "orderly close, no end of body", after: func(w http.ResponseWriter, _ *http.Request) { hangUp(w, false) }},
		{name: "connection reset", after: func(w http.ResponseWriter, _ *http.Request) { hangUp(w, true) }},
		{name: "exception after metadata", after: func(w http.ResponseWriter, _ *http.Request) {
			writeEvents(w, []event{{name: "internalServerException", payload: `{"message":"late"}`, exception: true}})
		}},
		{name: "garbage after metadata", after: func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("\x00\x00\x00\x20not an event-stream frame at all"))
		}},
		{name: "stall until the client leaves", after: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{name: "stall, then the context ends", timeout: 300 * time.Millisecond, after: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	}
	for _, tt := range endings {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
				if writeEvents(w, whole) == nil {
					tt.after(w, r)
				}
			})
			client := f.client(true)
			iterations, workers := 200, 16
			if tt.timeout > 0 || tt.name == "stall until the client leaves" {
				iterations = 32 // each waits out a timeout or the drain grace
			}
			var failed atomic.Int64
			var firstErr atomic.Value
			var wg sync.WaitGroup
			next := atomic.Int64{}
			for range workers {
				wg.Go(func() {
					for next.Add(1) <= int64(iterations) {
						ctx, cancel := context.Background(), context.CancelFunc(func() {})
						if tt.timeout > 0 {
							ctx, cancel = context.WithTimeout(ctx, tt.timeout)
						}
						start := time.Now()
						resp, err := client.Converse(ctx, &bedrock.Request{ModelID: "m", Messages: user(text("q"))})
						cancel()
						if err == nil && (resp.Text != "The answer is 42." || resp.Usage.TotalTokens != 12) {
							err = fmt.Errorf("wrong response %+v", resp)
						}
						if err == nil && time.Since(start) > 5*time.Second {
							err = fmt.Errorf("took %v", time.Since(start))
						}
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
					}
				})
			}
			wg.Wait()
			if n := failed.Load(); n > 0 {
				t.Errorf("%d of %d whole streams failed, the first with %v: each would be retried and billed twice", n, iterations, firstErr.Load())
			}
		})
	}
}

// TestStreamCutNeverSucceeds is the other side: a stream that lacks
// messageStop or metadata fails, however it ends.
func TestStreamCutNeverSucceeds(t *testing.T) {
	whole := textStream("The answer ", "is 42.")
	for _, keep := range []int{2, len(whole) - 2, len(whole) - 1} {
		for _, reset := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d events reset=%v", keep, reset), func(t *testing.T) {
				f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
					w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
					if writeEvents(w, whole[:keep]) == nil {
						hangUp(w, reset)
					}
				})
				resp, err := f.client(true).Converse(context.Background(), &bedrock.Request{ModelID: "m", Messages: user(text("q"))})
				var callErr *bedrock.Error
				if !errors.As(err, &callErr) || callErr.Class != bedrock.Retryable {
					t.Fatalf("got %+v, %v; want a retryable failure", resp, err)
				}
			})
		}
	}
}

// TestStreamFaultsCountedOnce runs many streamed calls through the
// emulator's mid-stream exceptions and cuts, retrying failures as the
// pipeline does: every record must succeed exactly once, so the emulator
// counts as many complete streams, and as many tokens, as the client.
func TestStreamFaultsCountedOnce(t *testing.T) {
	srv := bedrocktest.NewServer(bedrocktest.Options{Faults: bedrocktest.Faults{MidStreamException: 0.1, StreamCut: 0.05}, Seed: 7})
	client := newStreamClientFor(srv)
	const records, workers = 2000, 32
	var ok, output atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= records; i = next.Add(1) {
				prompt := fmt.Sprintf("Record %d: tell me about rivers and the sea", i)
				for attempt := 1; ; attempt++ {
					resp, err := client.Converse(context.Background(), &bedrock.Request{ModelID: "m", Messages: user(text(prompt))})
					if err == nil {
						if resp.Text != bedrocktest.Answer(prompt) {
							t.Errorf("record %d: partial text %q", i, resp.Text)
						}
						ok.Add(1)
						output.Add(resp.Usage.OutputTokens)
						break
					}
					if attempt == 50 {
						t.Errorf("record %d: %v", i, err)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	srv.Close()
	if s := srv.Stats(); s.OK != ok.Load() || s.OutputTokens != output.Load() {
		t.Errorf("emulator counted %d complete streams and %d output tokens; the client got %d and %d", s.OK, s.OutputTokens, ok.Load(), output.Load())
	}
}
