package bedrocktest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestGuardrail(t *testing.T) {
	blocked := "tell me something " + GuardrailMarker
	tests := []struct {
		name      string
		system    string
		prompt    string
		guardrail bool
		wantText  string
		wantStop  types.StopReason
	}{
		{"marker in the prompt", "", blocked, true, GuardrailBlockedMessage, types.StopReasonGuardrailIntervened},
		{"marker in the system prompt", "be nice " + GuardrailMarker, "hello", true, GuardrailBlockedMessage, types.StopReasonGuardrailIntervened},
		{"no marker", "", "hello there", true, Answer("hello there"), types.StopReasonEndTurn},
		{"marker without a guardrail", "", blocked, false, Answer(blocked), types.StopReasonEndTurn},
	}
	var obs observer
	srv, client := newServer(t, Options{Observe: obs.observe})
	var want Stats
	for _, tt := range tests {
		var system []types.SystemContentBlock
		if tt.system != "" {
			system = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: tt.system}}
		}
		wantIn := CountTokens(tt.system) + CountTokens(tt.prompt)
		wantOut := CountTokens(tt.wantText)
		if tt.wantStop == types.StopReasonGuardrailIntervened {
			wantOut = 0 // the model never ran
		}
		wantUsage := usageNums{int32(wantIn), int32(wantOut), int32(wantIn + wantOut), -1, -1}
		t.Run(tt.name+"/converse", func(t *testing.T) {
			in := &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), System: system, Messages: []types.Message{userText(tt.prompt)}}
			if tt.guardrail {
				in.GuardrailConfig = &types.GuardrailConfiguration{GuardrailIdentifier: aws.String("gr1abc"), GuardrailVersion: aws.String("DRAFT"),
					Trace: types.GuardrailTraceEnabled}
			}
			out, err := client.Converse(testCtx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := outputText(t, out); got != tt.wantText || out.StopReason != tt.wantStop {
				t.Errorf("text %q stop %q, want %q %q", got, out.StopReason, tt.wantText, tt.wantStop)
			}
			if got := usageOf(out.Usage); got != wantUsage {
				t.Errorf("usage %+v, want %+v", got, wantUsage)
			}
			if o := obs.last(t); tt.guardrail && (o.GuardrailID != "gr1abc" || o.GuardrailVersion != "DRAFT" || o.GuardrailTrace != "enabled") {
				t.Errorf("observed guardrail %q %q %q", o.GuardrailID, o.GuardrailVersion, o.GuardrailTrace)
			}
		})
		t.Run(tt.name+"/stream", func(t *testing.T) {
			in := &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel), System: system, Messages: []types.Message{userText(tt.prompt)}}
			if tt.guardrail {
				in.GuardrailConfig = &types.GuardrailStreamConfiguration{GuardrailIdentifier: aws.String("gr1abc"), GuardrailVersion: aws.String("1")}
			}
			out, err := client.ConverseStream(testCtx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			r := readStream(t, out)
			if r.err != nil || r.text != tt.wantText || r.stopReason != tt.wantStop {
				t.Errorf("err %v text %q stop %q, want %q %q", r.err, r.text, r.stopReason, tt.wantText, tt.wantStop)
			}
			if got := usageOf(r.usage); got != wantUsage {
				t.Errorf("usage %+v, want %+v", got, wantUsage)
			}
		})
		want.Requests += 2
		want.OK += 2
		want.InputTokens += 2 * wantIn
		want.OutputTokens += 2 * wantOut
		if tt.wantStop == types.StopReasonGuardrailIntervened {
			want.Guardrailed += 2
		}
	}
	checkStats(t, srv, want)
}

func TestGuardrailValidation(t *testing.T) {
	const arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/"
	tests := []struct {
		name, id, version string
		contains          string // "" = accepted
	}{
		{"known id and version", "abc123", "1", ""},
		{"known id as an ARN", arn + "abc123", "1", ""},
		{"id known at every version", "anyver", "42", ""},
		{"unknown id", "zzz999", "1", "The provided guardrail identifier is invalid."},
		{"known id, unknown version", "abc123", "2", "The guardrail identifier or version provided in the request does not exist."},
		{"version pattern", "abc123", "0", "Value '0' at 'guardrailConfig.guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"id pattern", "ABC", "1", "Value 'ABC' at 'guardrailConfig.guardrailIdentifier' failed to satisfy constraint"},
	}
	srv, client := newServer(t, Options{Guardrails: []string{"abc123:1", "anyver"}})
	invalid := int64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := converseInput("hello")
			in.GuardrailConfig = &types.GuardrailConfiguration{GuardrailIdentifier: aws.String(tt.id), GuardrailVersion: aws.String(tt.version)}
			_, err := client.Converse(testCtx(t), in)
			if tt.contains == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			invalid++
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
	if got := srv.Stats(); got.Invalid != invalid || got.OK != int64(len(tests))-invalid {
		t.Errorf("stats %+v, want %d invalid", got, invalid)
	}
}
