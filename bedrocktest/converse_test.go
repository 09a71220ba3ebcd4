package bedrocktest

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

func TestConverse(t *testing.T) {
	const prompt = "Summarise the plot of Hamlet in one line"
	answer := Answer(prompt)
	words := strings.Fields(answer)
	stopAt := strings.Index(answer, "Thank")
	tests := []struct {
		name       string
		system     []string
		messages   []types.Message
		config     *types.InferenceConfiguration
		wantText   string
		wantReason types.StopReason
		wantInput  int64
	}{
		{
			name:       "end turn",
			messages:   []types.Message{userText(prompt)},
			wantText:   answer,
			wantReason: types.StopReasonEndTurn,
			wantInput:  CountTokens(prompt),
		},
		{
			name:       "max tokens",
			messages:   []types.Message{userText(prompt)},
			config:     &types.InferenceConfiguration{MaxTokens: aws.Int32(4)},
			wantText:   strings.Join(words[:4], " "),
			wantReason: types.StopReasonMaxTokens,
			wantInput:  CountTokens(prompt),
		},
		{
			name:       "max tokens larger than the answer",
			messages:   []types.Message{userText(prompt)},
			config:     &types.InferenceConfiguration{MaxTokens: aws.Int32(1000)},
			wantText:   answer,
			wantReason: types.StopReasonEndTurn,
			wantInput:  CountTokens(prompt),
		},
		{
			name:       "stop sequence",
			messages:   []types.Message{userText(prompt)},
			config:     &types.InferenceConfiguration{StopSequences: []string{"never there", "Thank"}},
			wantText:   answer[:stopAt],
			wantReason: types.StopReasonStopSequence,
			wantInput:  CountTokens(prompt),
		},
		{
			name:   "system and history count as input, the last user message is the prompt",
			system: []string{"You are terse.", "Answer in English."},
			messages: []types.Message{
				userText("an earlier question"),
				{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "an earlier answer"}}},
				userText("Summarise the plot", "of Hamlet in one line"),
			},
			wantText:   Answer("Summarise the plot\nof Hamlet in one line"),
			wantReason: types.StopReasonEndTurn,
			wantInput:  3 + 3 + 3 + 3 + 3 + 5,
		},
	}
	srv, client := newServer(t, Options{})
	var want Stats
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: tt.messages, InferenceConfig: tt.config}
			for _, s := range tt.system {
				in.System = append(in.System, &types.SystemContentBlockMemberText{Value: s})
			}
			out, err := client.Converse(testCtx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := outputText(t, out); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			if out.StopReason != tt.wantReason {
				t.Errorf("stopReason = %q, want %q", out.StopReason, tt.wantReason)
			}
			wantOutput := CountTokens(tt.wantText)
			u := out.Usage
			if u == nil || aws.ToInt32(u.InputTokens) != int32(tt.wantInput) || aws.ToInt32(u.OutputTokens) != int32(wantOutput) ||
				aws.ToInt32(u.TotalTokens) != int32(tt.wantInput+wantOutput) {
				t.Errorf("usage = %+v, want input %d output %d", u, tt.wantInput, wantOutput)
			}
			if out.Metrics == nil || out.Metrics.LatencyMs == nil {
				t.Error("metrics.latencyMs missing")
			}
			want.Requests++
			want.OK++
			want.InputTokens += tt.wantInput
			want.OutputTokens += wantOutput
		})
	}
	checkStats(t, srv, want)
}

func TestObservedFields(t *testing.T) {
	var obs observer
	_, client := newServer(t, Options{Observe: obs.observe})
	tests := []struct {
		name   string
		config *types.InferenceConfiguration
		extra  document.Interface
		stream bool
	}{
		{name: "temperature zero is sent", config: &types.InferenceConfiguration{Temperature: aws.Float32(0)}},
		{name: "no inference config"},
		{
			name: "all inference fields",
			config: &types.InferenceConfiguration{MaxTokens: aws.Int32(50), Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9),
				StopSequences: []string{"END"}},
			extra: document.NewLazyDocument(map[string]any{"top_k": 5}),
		},
		{name: "stream, temperature zero", config: &types.InferenceConfiguration{Temperature: aws.Float32(0)}, stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			system := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"}}
			msgs := []types.Message{userText("hello", "there")}
			if tt.stream {
				out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel),
					Messages: msgs, System: system, InferenceConfig: tt.config, AdditionalModelRequestFields: tt.extra})
				if err != nil {
					t.Fatal(err)
				}
				readStream(t, out)
			} else {
				if _, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
					Messages: msgs, System: system, InferenceConfig: tt.config, AdditionalModelRequestFields: tt.extra}); err != nil {
					t.Fatal(err)
				}
			}
			got := obs.last(t)
			if got.ModelID != testModel || got.Stream != tt.stream || len(got.Raw) == 0 || got.DecodeError != nil {
				t.Errorf("observed model %q stream %v raw %d bytes err %v", got.ModelID, got.Stream, len(got.Raw), got.DecodeError)
			}
			if !reflect.DeepEqual(got.System, []string{"be brief"}) {
				t.Errorf("System = %q", got.System)
			}
			if want := []ObservedMessage{{Role: "user", Text: []string{"hello", "there"}}}; !reflect.DeepEqual(got.Messages, want) {
				t.Errorf("Messages = %+v, want %+v", got.Messages, want)
			}
			var want types.InferenceConfiguration
			if tt.config != nil {
				want = *tt.config
			}
			checkPtr(t, "MaxTokens", got.MaxTokens, want.MaxTokens)
			checkPtr(t, "Temperature", got.Temperature, want.Temperature)
			checkPtr(t, "TopP", got.TopP, want.TopP)
			if !reflect.DeepEqual(got.StopSequences, want.StopSequences) {
				t.Errorf("StopSequences = %q, want %q", got.StopSequences, want.StopSequences)
			}
			if tt.extra != nil {
				var fields map[string]any
				if err := json.Unmarshal(got.AdditionalModelRequestFields, &fields); err != nil || fields["top_k"] != 5.0 {
					t.Errorf("AdditionalModelRequestFields = %s (%v), want top_k 5", got.AdditionalModelRequestFields, err)
				}
			} else if got.AdditionalModelRequestFields != nil {
				t.Errorf("AdditionalModelRequestFields = %s, want none", got.AdditionalModelRequestFields)
			}
		})
	}
}

func checkPtr[T comparable](t *testing.T, name string, got, want *T) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v (one is nil)", name, got, want)
	case *got != *want:
		t.Errorf("%s = %v, want %v", name, *got, *want)
	}
}

func TestModelIDRoundTrip(t *testing.T) {
	ids := []string{
		testModel,
		"us.anthropic.claude-sonnet-4-20250514-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
		"arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0",
	}
	var obs observer
	srv, client := newServer(t, Options{Observe: obs.observe})
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			if _, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(id),
				Messages: []types.Message{userText("hi")}}); err != nil {
				t.Fatal(err)
			}
			if got := obs.last(t).ModelID; got != id {
				t.Errorf("Converse: observed model %q, want %q", got, id)
			}
			out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(id),
				Messages: []types.Message{userText("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			if r := readStream(t, out); r.err != nil || r.text != Answer("hi") {
				t.Errorf("stream: %+v", r)
			}
			if got := obs.last(t); got.ModelID != id || !got.Stream {
				t.Errorf("ConverseStream: observed model %q stream %v, want %q", got.ModelID, got.Stream, id)
			}
		})
	}
	if got := srv.Stats(); got.OK != int64(2*len(ids)) {
		t.Errorf("Stats().OK = %d, want %d", got.OK, 2*len(ids))
	}
}

func TestValidation(t *testing.T) {
	assistant := types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}
	tests := []struct {
		name     string
		in       *bedrockruntime.ConverseInput
		contains string
	}{
		{"invalid marker", converseInput("please fail " + InvalidMarker + " now"), InvalidMarker},
		{"invalid marker in system", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{userText("ok")},
			System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: InvalidMarker}}}, "system.0"},
		{"no messages", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel)}, "messages is empty"},
		{"message without content", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
			Messages: []types.Message{userText("ok"), assistant, {Role: types.ConversationRoleUser, Content: []types.ContentBlock{}}}}, "messages.2.content"},
		{"unknown role", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
			Messages: []types.Message{userText("ok"), {Role: "system", Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "x"}}}}}, "messages.1.role"},
		{"starts with assistant", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{assistant, userText("ok")}},
			"start with a user message"},
		{"max tokens zero", &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{userText("ok")},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(0)}}, "maxTokens"},
	}
	srv, client := newServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Converse(testCtx(t), tt.in)
			var ve *types.ValidationException
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *types.ValidationException", err, err)
			}
			if !strings.Contains(ve.ErrorMessage(), tt.contains) {
				t.Errorf("message %q does not mention %q", ve.ErrorMessage(), tt.contains)
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		_, err := client.ConverseStream(testCtx(t), streamInput(InvalidMarker))
		var ve *types.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v (%T), want *types.ValidationException before the stream starts", err, err)
		}
	})
	n := int64(len(tests) + 1)
	checkStats(t, srv, Stats{Requests: n, Invalid: n})
}

func TestUnknownOperation(t *testing.T) {
	srv, client := newServer(t, Options{})
	_, err := client.InvokeModel(testCtx(t), &bedrockruntime.InvokeModelInput{ModelId: aws.String(testModel), Body: []byte(`{}`)})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("err = %v, want an UnknownOperationException", err)
	}
	checkStats(t, srv, Stats{Requests: 1})
}
