package bedrocktest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestRequestsPerMinute(t *testing.T) {
	// 120 RPM over a 2.5 s burst: a bucket of 5 requests refilling 2 per second.
	srv, client := newServer(t, Options{RequestsPerMinute: 120, QuotaBurst: 2500 * time.Millisecond})
	call := func() error {
		_, err := client.Converse(testCtx(t), converseInput("quota"))
		return err
	}
	var ok, throttled int
	for range 8 {
		var te *types.ThrottlingException
		switch err := call(); {
		case err == nil:
			ok++
		case errors.As(err, &te):
			if !strings.Contains(te.ErrorMessage(), "requests-per-minute") {
				t.Errorf("throttle message %q does not name the quota", te.ErrorMessage())
			}
			throttled++
		default:
			t.Fatal(err)
		}
	}
	if ok != 5 || throttled != 3 {
		t.Fatalf("a burst of 8 got %d ok and %d throttled, want 5 and 3", ok, throttled)
	}
	time.Sleep(600 * time.Millisecond) // refills 1.2 requests
	if err := call(); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
	answerTokens := CountTokens(Answer("quota"))
	checkStats(t, srv, Stats{Requests: 9, OK: 6, Throttled: 3, InputTokens: 6, OutputTokens: 6 * answerTokens})
}

func TestTokensPerMinute(t *testing.T) {
	// 6000 TPM over a 10 s burst: a bucket of 1000 tokens refilling 100 per second. Each call
	// reserves 2 input + 300 max tokens while its latency runs, then settles to what it used.
	const latency = 300 * time.Millisecond
	srv, client := newServer(t, Options{TokensPerMinute: 6000, QuotaBurst: 10 * time.Second, Latency: latency})
	in := converseInput("token quota")
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(300)}
	burst := func(n int) (ok, throttled int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := client.Converse(testCtx(t), in)
				var te *types.ThrottlingException
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &te):
					throttled++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		return ok, throttled
	}
	// Three reservations of 302 fit in 1000 at once, a fourth does not.
	if ok, throttled := burst(5); ok != 3 || throttled != 2 {
		t.Fatalf("first burst: %d ok, %d throttled; want 3 and 2", ok, throttled)
	}
	// Settlement gave back what each call did not use (it used 2 input + 11 output tokens),
	// so the next burst fits again
	// (without settlement only ~30 tokens would have refilled in the meantime).
	if ok, throttled := burst(3); ok != 3 || throttled != 0 {
		t.Fatalf("after settlement: %d ok, %d throttled; want 3 and 0", ok, throttled)
	}
	out := CountTokens(Answer("token quota"))
	checkStats(t, srv, Stats{Requests: 8, OK: 6, Throttled: 2, InputTokens: 6 * 2, OutputTokens: 6 * out})
}
