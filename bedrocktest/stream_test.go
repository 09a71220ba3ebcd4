package bedrocktest

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestConverseStream(t *testing.T) {
	const prompt = "Write one sentence about the sea and the sky"
	answer := Answer(prompt)
	tests := []struct {
		name       string
		prompt     string
		config     *types.InferenceConfiguration
		wantText   string
		wantReason types.StopReason
		minDeltas  int
	}{
		{"end turn", prompt, nil, answer, types.StopReasonEndTurn, 3},
		{"max tokens", prompt, &types.InferenceConfiguration{MaxTokens: aws.Int32(5)},
			strings.Join(strings.Fields(answer)[:5], " "), types.StopReasonMaxTokens, 2},
		{"max tokens of one word", prompt, &types.InferenceConfiguration{MaxTokens: aws.Int32(1)}, "Answer", types.StopReasonMaxTokens, 1},
		{"stop sequence", prompt, &types.InferenceConfiguration{StopSequences: []string{"words:"}},
			answer[:strings.Index(answer, "words:")], types.StopReasonStopSequence, 2},
		{"special characters", "quote \" backslash \\ tab\there \u2028 ünïcödé <&>", nil,
			Answer("quote \" backslash \\ tab\there \u2028 ünïcödé <&>"), types.StopReasonEndTurn, 3},
	}
	srv, client := newServer(t, Options{})
	var want Stats
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := streamInput(tt.prompt)
			in.InferenceConfig = tt.config
			out, err := client.ConverseStream(testCtx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			r := readStream(t, out)
			if r.err != nil {
				t.Fatalf("stream.Err() = %v", r.err)
			}
			if r.text != tt.wantText {
				t.Errorf("text = %q, want %q", r.text, tt.wantText)
			}
			if !r.started || r.stopReason != tt.wantReason || !r.gotMetadata {
				t.Errorf("started %v, stopReason %q (want %q), metadata %v", r.started, r.stopReason, tt.wantReason, r.gotMetadata)
			}
			if r.deltas < tt.minDeltas {
				t.Errorf("%d deltas, want at least %d", r.deltas, tt.minDeltas)
			}
			in32, out32 := int32(CountTokens(tt.prompt)), int32(CountTokens(tt.wantText))
			if u := r.usage; u == nil || aws.ToInt32(u.InputTokens) != in32 || aws.ToInt32(u.OutputTokens) != out32 || aws.ToInt32(u.TotalTokens) != in32+out32 {
				t.Errorf("usage = %+v, want input %d output %d", u, in32, out32)
			}
			want.Requests++
			want.OK++
			want.InputTokens += int64(in32)
			want.OutputTokens += int64(out32)
		})
	}
	checkStats(t, srv, want)
}

func TestStreamFaults(t *testing.T) {
	const prompt = "tell me a long story about streams"
	tests := []struct {
		name       string
		faults     Faults
		wantErr    []any // the exception types of successive calls; nil for a cut
		wantPrefix bool
	}{
		{"mid-stream exception alternates its type", Faults{MidStreamException: 1},
			[]any{new(*types.ThrottlingException), new(*types.InternalServerException), new(*types.ThrottlingException)}, true},
		{"stream cut", Faults{StreamCut: 1}, []any{nil, nil}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newServer(t, Options{Faults: tt.faults})
			for i, target := range tt.wantErr {
				out, err := client.ConverseStream(testCtx(t), streamInput(prompt))
				if err != nil {
					t.Fatalf("call %d: the stream should start: %v", i, err)
				}
				r := readStream(t, out)
				if !r.started || r.text == "" || !strings.HasPrefix(Answer(prompt), r.text) || r.text == Answer(prompt) {
					t.Errorf("call %d: text %q, want a proper prefix of the answer", i, r.text)
				}
				if r.stopReason != "" || r.gotMetadata {
					t.Errorf("call %d: stopReason %q, metadata %v: want neither", i, r.stopReason, r.gotMetadata)
				}
				switch {
				case target == nil && r.err != nil && !isConnectionError(r.err):
					// A cut mostly looks like a clean end to the SDK; when the
					// transport notices the close first it is a connection
					// error. Either way no exception and no messageStop.
					t.Errorf("call %d: stream.Err() = %v, want nil or a connection error", i, r.err)
				case target != nil && !errors.As(r.err, target):
					t.Errorf("call %d: stream.Err() = %v (%T), want %T", i, r.err, r.err, target)
				}
			}
			n := int64(len(tt.wantErr))
			checkStats(t, srv, Stats{Requests: n, Faults: n})
		})
	}
	t.Run("ignored by Converse", func(t *testing.T) {
		srv, client := newServer(t, Options{Faults: Faults{MidStreamException: 1, StreamCut: 1}})
		out, err := client.Converse(testCtx(t), converseInput(prompt))
		if err != nil {
			t.Fatal(err)
		}
		if got := outputText(t, out); got != Answer(prompt) {
			t.Errorf("text = %q", got)
		}
		checkStats(t, srv, Stats{Requests: 1, OK: 1, InputTokens: CountTokens(prompt), OutputTokens: CountTokens(Answer(prompt))})
	})
}

// TestFrameMatchesEncoder checks the hot-path framing against the SDK's own Encoder.
func TestFrameMatchesEncoder(t *testing.T) {
	tests := []struct {
		name    string
		headers eventstream.Headers
		payload string
	}{
		{"delta", eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.StringValue("contentBlockDelta")},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		}, `{"contentBlockIndex":0,"delta":{"text":"Answer 0123 to "}}`},
		{"exception", eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
			{Name: ":exception-type", Value: eventstream.StringValue("throttlingException")},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		}, `{"message":"slow down"}`},
		{"empty payload", eventstream.Headers{{Name: ":event-type", Value: eventstream.StringValue("x")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := eventstream.NewEncoder().Encode(&want, eventstream.Message{Headers: tt.headers, Payload: []byte(tt.payload)}); err != nil {
				t.Fatal(err)
			}
			h := encodeHeaders(tt.headers)
			got := endFrame(append(beginFrame(nil, h), tt.payload...), len(h))
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("frame\n%x\nwant\n%x", got, want.Bytes())
			}
			msg, err := eventstream.NewDecoder().Decode(bytes.NewReader(got), nil)
			if err != nil || string(msg.Payload) != tt.payload {
				t.Errorf("decode: %v, payload %q", err, msg.Payload)
			}
		})
	}
}

func isConnectionError(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, net.ErrClosed) || errors.As(err, &opErr)
}
