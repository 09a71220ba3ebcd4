package bedrocktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, err error)
		stats  Stats // for one call
	}{
		{"throttle", Faults{Throttle: 1}, wantAs[*types.ThrottlingException](), Stats{Requests: 1, Throttled: 1, Faults: 1}},
		{"internal error", Faults{InternalError: 1}, wantAs[*types.InternalServerException](), Stats{Requests: 1, Faults: 1}},
		{"unavailable", Faults{Unavailable: 1}, wantAs[*types.ServiceUnavailableException](), Stats{Requests: 1, Faults: 1}},
		{"reset", Faults{Reset: 1}, wantConnectionError, Stats{Requests: 1, Faults: 1}},
		{"hang", Faults{Hang: 1}, wantDeadline, Stats{Requests: 1, Faults: 1}},
		{"first fault in order wins", Faults{InternalError: 1, Unavailable: 1, Hang: 1}, wantAs[*types.InternalServerException](),
			Stats{Requests: 1, Faults: 1}},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name + "/converse"
			if stream {
				name = tt.name + "/converse-stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv, client := newServer(t, Options{Faults: tt.faults})
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				var err error
				if stream {
					_, err = client.ConverseStream(ctx, streamInput("hello"))
				} else {
					_, err = client.Converse(ctx, converseInput("hello"))
				}
				tt.check(t, err)
				srv.Close() // ends a hang's handler, so the stats are final
				checkStats(t, srv, tt.stats)
			})
		}
	}
}

func wantAs[T error]() func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var target T
		if !errors.As(err, &target) {
			t.Fatalf("err = %v (%T), want %T", err, err, target)
		}
	}
}

func wantConnectionError(t *testing.T, err error) {
	t.Helper()
	var send *smithyhttp.RequestSendError
	var api smithy.APIError
	if !errors.As(err, &send) || errors.As(err, &api) {
		t.Fatalf("err = %v (%T), want a connection error and no API error", err, err)
	}
	t.Logf("reset: %v", err)
}

func wantDeadline(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v (%T), want context.DeadlineExceeded", err, err)
	}
}

func TestFaultsAreSeeded(t *testing.T) {
	outcomes := func(seed int64) []string {
		_, client := newServer(t, Options{Seed: seed, Faults: Faults{Throttle: 0.3, InternalError: 0.3}})
		var got []string
		for range 20 {
			_, err := client.Converse(testCtx(t), converseInput("x"))
			var api smithy.APIError
			switch {
			case err == nil:
				got = append(got, "ok")
			case errors.As(err, &api):
				got = append(got, api.ErrorCode())
			default:
				t.Fatal(err)
			}
		}
		return got
	}
	a, b, c := outcomes(7), outcomes(7), outcomes(8)
	if !equalStrings(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if equalStrings(a, c) {
		t.Errorf("different seeds, same faults: %v", a)
	}
	kinds := map[string]bool{}
	for _, o := range a {
		kinds[o] = true
	}
	if len(kinds) != 3 {
		t.Errorf("20 calls at 30%%/30%% should see ok, throttles and internal errors: %v", a)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	srv, client := newServer(t, Options{Latency: latency})
	start := time.Now()
	out, err := client.Converse(testCtx(t), converseInput("slow"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < latency {
		t.Errorf("answered after %s, want at least %s", d, latency)
	}
	if ms := *out.Metrics.LatencyMs; ms < latency.Milliseconds() {
		t.Errorf("latencyMs = %d, want at least %d", ms, latency.Milliseconds())
	}

	// A client that gives up during the wait ends it; the call is counted as canceled.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := client.Converse(ctx, converseInput("too slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	srv.Close()
	checkStats(t, srv, Stats{Requests: 2, OK: 1, Canceled: 1, InputTokens: 1, OutputTokens: CountTokens(Answer("slow"))})
}

func TestCloseEndsHangs(t *testing.T) {
	srv, client := newServer(t, Options{Faults: Faults{Hang: 1}})
	errc := make(chan error, 1)
	go func() {
		_, err := client.Converse(context.Background(), converseInput("wait forever"))
		errc <- err
	}()
	for srv.Stats().Faults == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a hanging call succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a hanging call")
	}
}
