package bedrocktest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// newTool builds a tool whose schema is the JSON text schema.
func newTool(t testing.TB, name, description, schema string) types.Tool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(schema), &m); err != nil {
		t.Fatal(err)
	}
	return &types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String(name), Description: aws.String(description),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(m)}}}
}

func chooseTool(name string) types.ToolChoice {
	return &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(name)}}
}

// sdkSchemaJSON is a schema as the SDK sends it (compact, keys sorted), for token counts.
func sdkSchemaJSON(t testing.TB, schema string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(schema), &m); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToolUse(t *testing.T) {
	weather := func() types.Tool { return newTool(t, "get_weather", "Current weather for a city", weatherSchema) }
	search := func() types.Tool { return newTool(t, "search", "Search the web", formatsSchema) }
	weatherTokens := CountTokens("get_weather") + CountTokens("Current weather for a city") + CountTokens(sdkSchemaJSON(t, weatherSchema))
	searchTokens := CountTokens("search") + CountTokens("Search the web") + CountTokens(sdkSchemaJSON(t, formatsSchema))
	weatherInput := ToolInput(json.RawMessage(weatherSchema), weatherPrompt, false)
	tests := []struct {
		name      string
		tools     []types.Tool
		choice    types.ToolChoice
		maxTokens *int32
		wantTool  string // "" for a text answer
		wantInput string // the streamed JSON text
		wantStop  types.StopReason
		wantIn    int64
	}{
		{"tool choice names the tool", []types.Tool{search(), weather()}, chooseTool("get_weather"), nil,
			"get_weather", weatherInput, types.StopReasonToolUse, CountTokens(weatherPrompt) + weatherTokens + searchTokens},
		{"any with one tool", []types.Tool{weather()}, &types.ToolChoiceMemberAny{}, nil,
			"get_weather", weatherInput, types.StopReasonToolUse, CountTokens(weatherPrompt) + weatherTokens},
		{"auto answers text", []types.Tool{weather()}, &types.ToolChoiceMemberAuto{}, nil,
			"", "", types.StopReasonEndTurn, CountTokens(weatherPrompt) + weatherTokens},
		{"no tool choice answers text", []types.Tool{weather()}, nil, nil,
			"", "", types.StopReasonEndTurn, CountTokens(weatherPrompt) + weatherTokens},
		{"max tokens cuts the input", []types.Tool{weather()}, chooseTool("get_weather"), aws.Int32(3),
			"get_weather", firstWords(weatherInput, 3), types.StopReasonMaxTokens, CountTokens(weatherPrompt) + weatherTokens},
	}
	srv, client := newServer(t, Options{})
	var want Stats
	for _, tt := range tests {
		cfg := &types.ToolConfiguration{Tools: tt.tools, ToolChoice: tt.choice}
		var inference *types.InferenceConfiguration
		if tt.maxTokens != nil {
			inference = &types.InferenceConfiguration{MaxTokens: tt.maxTokens}
		}
		wantOut := CountTokens(tt.wantInput)
		if tt.wantTool == "" {
			wantOut = CountTokens(Answer(weatherPrompt))
		}
		t.Run(tt.name+"/converse", func(t *testing.T) {
			out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
				Messages: []types.Message{userText(weatherPrompt)}, ToolConfig: cfg, InferenceConfig: inference})
			if err != nil {
				t.Fatal(err)
			}
			if out.StopReason != tt.wantStop {
				t.Errorf("stopReason = %q, want %q", out.StopReason, tt.wantStop)
			}
			if got, want := usageOf(out.Usage), (usageNums{int32(tt.wantIn), int32(wantOut), int32(tt.wantIn + wantOut), -1, -1}); got != want {
				t.Errorf("usage = %+v, want %+v", got, want)
			}
			if tt.wantTool == "" {
				if got := outputText(t, out); got != Answer(weatherPrompt) {
					t.Errorf("text = %q", got)
				}
				return
			}
			tu, input := toolUseOf(t, out)
			if aws.ToString(tu.Name) != tt.wantTool || aws.ToString(tu.ToolUseId) != toolUseID(tt.wantTool, weatherPrompt) ||
				!strings.HasPrefix(aws.ToString(tu.ToolUseId), "tooluse_") || len(aws.ToString(tu.ToolUseId)) != 30 {
				t.Errorf("toolUse %q %q", aws.ToString(tu.Name), aws.ToString(tu.ToolUseId))
			}
			wantDoc := map[string]any{}
			if tt.wantStop == types.StopReasonToolUse {
				if err := json.Unmarshal([]byte(tt.wantInput), &wantDoc); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(input, wantDoc) {
				t.Errorf("input = %v, want %v", input, wantDoc)
			}
		})
		t.Run(tt.name+"/stream", func(t *testing.T) {
			out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel),
				Messages: []types.Message{userText(weatherPrompt)}, ToolConfig: cfg, InferenceConfig: inference})
			if err != nil {
				t.Fatal(err)
			}
			r := readStream(t, out)
			if r.err != nil || r.stopReason != tt.wantStop || !r.gotMetadata {
				t.Fatalf("err %v, stopReason %q (want %q), metadata %v", r.err, r.stopReason, tt.wantStop, r.gotMetadata)
			}
			if got, want := usageOf(r.usage), (usageNums{int32(tt.wantIn), int32(wantOut), int32(tt.wantIn + wantOut), -1, -1}); got != want {
				t.Errorf("usage = %+v, want %+v", got, want)
			}
			if tt.wantTool == "" {
				if r.text != Answer(weatherPrompt) || r.toolName != "" || r.toolDeltas != 0 {
					t.Errorf("text %q, tool %q, %d tool deltas", r.text, r.toolName, r.toolDeltas)
				}
				return
			}
			if r.toolName != tt.wantTool || r.toolUseID != toolUseID(tt.wantTool, weatherPrompt) {
				t.Errorf("contentBlockStart: tool %q id %q", r.toolName, r.toolUseID)
			}
			if r.toolInput != tt.wantInput || r.toolDeltas < 2 || r.text != "" {
				t.Errorf("input %q in %d deltas (text %q), want %q in 2 or more", r.toolInput, r.toolDeltas, r.text, tt.wantInput)
			}
		})
		want.Requests += 2
		want.OK += 2
		want.InputTokens += 2 * tt.wantIn
		want.OutputTokens += 2 * wantOut
		if tt.wantTool != "" {
			want.ToolUses += 2
		}
	}
	checkStats(t, srv, want)
}

func TestToolUseAnyPicksOneOfSeveral(t *testing.T) {
	_, client := newServer(t, Options{})
	cfg := &types.ToolConfiguration{Tools: []types.Tool{
		newTool(t, "a", "first", emptySchema), newTool(t, "b", "second", emptySchema), newTool(t, "c", "third", emptySchema),
	}, ToolChoice: &types.ToolChoiceMemberAny{}}
	seen := map[string]bool{}
	for _, prompt := range []string{"one", "two", "three", "four", "five", "six"} {
		var names []string
		for range 2 {
			out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
				Messages: []types.Message{userText(prompt)}, ToolConfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			tu, _ := toolUseOf(t, out)
			names = append(names, aws.ToString(tu.Name))
		}
		if names[0] != names[1] {
			t.Errorf("prompt %q picked %v: not deterministic", prompt, names)
		}
		seen[names[0]] = true
	}
	if len(seen) < 2 {
		t.Errorf("six prompts all picked %v: the prompt should choose", seen)
	}
}

func TestSchemaMismatch(t *testing.T) {
	tests := []struct {
		name          string
		p             float64
		wantMismatch  func(n int) bool
		otherFaultsOK bool
	}{
		{"always", 1, func(n int) bool { return n == 12 }, true},
		{"never", 0, func(n int) bool { return n == 0 }, true},
		{"half", 0.5, func(n int) bool { return n > 0 && n < 12 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newServer(t, Options{Seed: 3, Faults: Faults{SchemaMismatch: tt.p}})
			cfg := &types.ToolConfiguration{Tools: []types.Tool{newTool(t, "get_weather", "weather", weatherSchema)},
				ToolChoice: chooseTool("get_weather")}
			mismatches := 0
			for i := range 12 {
				stream := i%2 == 1
				var text string
				if stream {
					out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel),
						Messages: []types.Message{userText(weatherPrompt)}, ToolConfig: cfg})
					if err != nil {
						t.Fatal(err)
					}
					r := readStream(t, out)
					if r.err != nil || r.stopReason != types.StopReasonToolUse {
						t.Fatalf("stream: %v %q", r.err, r.stopReason)
					}
					text = r.toolInput
				} else {
					out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
						Messages: []types.Message{userText(weatherPrompt)}, ToolConfig: cfg})
					if err != nil {
						t.Fatal(err)
					}
					_, input := toolUseOf(t, out)
					b, err := json.Marshal(input)
					if err != nil {
						t.Fatal(err)
					}
					text = string(b)
				}
				if err := conforms(t, weatherSchema, text); err != nil {
					mismatches++
					if !strings.Contains(err.Error(), `required "city" missing`) {
						t.Errorf("mismatch %v, want the required city left out", err)
					}
				}
			}
			if !tt.wantMismatch(mismatches) {
				t.Errorf("%d of 12 inputs broke the schema at p=%g", mismatches, tt.p)
			}
			s := srv.Stats()
			if s.SchemaMismatches != int64(mismatches) || s.OK != 12 || s.ToolUses != 12 || s.Faults != 0 {
				t.Errorf("stats %+v: want %d schema mismatches, 12 ok tool uses, no faults", s, mismatches)
			}
		})
	}
}

func TestToolValidation(t *testing.T) {
	weather := newTool(t, "get_weather", "weather", weatherSchema)
	toolUse := &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("tooluse_1"), Name: aws.String("get_weather"),
		Input: document.NewLazyDocument(map[string]any{"city": "Paris"})}}
	history := []types.Message{userText("weather?"), {Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{toolUse}}}
	tests := []struct {
		name     string
		msgs     []types.Message
		cfg      *types.ToolConfiguration
		contains string
	}{
		{"tool choice names no defined tool", nil, &types.ToolConfiguration{Tools: []types.Tool{weather}, ToolChoice: chooseTool("nope")},
			"The model returned the following errors: tool_choice.name: Tool 'nope' not found in provided tools"},
		{"duplicate names", nil, &types.ToolConfiguration{Tools: []types.Tool{weather, weather}}, "Tool names must be unique."},
		{"name with a space", nil, &types.ToolConfiguration{Tools: []types.Tool{newTool(t, "get weather", "w", emptySchema)}},
			"Value 'get weather' at 'toolConfig.tools.0.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_-]{1,64}$"},
		{"schema not an object", nil, &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
			Name: aws.String("t"), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument([]any{1})}}}}},
			"toolConfig.tools.0.toolSpec.inputSchema.json: the input schema must be a JSON object."},
		{"only a cache point", nil, &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}}},
			"'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"tool use in the history without a toolConfig", history, nil,
			"The toolConfig field must be defined when using toolUse and toolResult content blocks."},
	}
	srv, client := newServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := tt.msgs
			if msgs == nil {
				msgs = []types.Message{userText("hi")}
			}
			_, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: msgs, ToolConfig: tt.cfg})
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
	n := int64(len(tests))
	checkStats(t, srv, Stats{Requests: n, Invalid: n})
}

// TestToolHistory checks that a conversation that called a tool counts its tool use and
// result as input, and that the observer sees the tool configuration.
func TestToolHistory(t *testing.T) {
	var obs observer
	_, client := newServer(t, Options{Observe: obs.observe})
	toolUse := &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("tooluse_1"), Name: aws.String("get_weather"),
		Input: document.NewLazyDocument(map[string]any{"city": "Paris"})}}
	toolResult := &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{ToolUseId: aws.String("tooluse_1"),
		Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sunny and warm"},
			&types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{"temp": 25})}}}}
	msgs := []types.Message{
		userText("weather in Paris?"),
		{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{toolUse}},
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{toolResult, text("thanks")}},
	}
	cfg := &types.ToolConfiguration{Tools: []types.Tool{newTool(t, "get_weather", "Current weather", weatherSchema)},
		ToolChoice: &types.ToolChoiceMemberAuto{}}
	out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: msgs, ToolConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	want := CountTokens("weather in Paris?") + CountTokens("get_weather") + CountTokens(`{"city":"Paris"}`) +
		CountTokens("sunny and warm") + CountTokens(`{"temp":25}`) + CountTokens("thanks") +
		CountTokens("get_weather") + CountTokens("Current weather") + CountTokens(sdkSchemaJSON(t, weatherSchema))
	if got := aws.ToInt32(out.Usage.InputTokens); int64(got) != want {
		t.Errorf("inputTokens = %d, want %d", got, want)
	}
	if got := outputText(t, out); got != Answer("thanks") {
		t.Errorf("text = %q, want the answer to the last user text", got)
	}
	o := obs.last(t)
	if len(o.Tools) != 1 || o.Tools[0].Name != "get_weather" || o.Tools[0].Description != "Current weather" ||
		string(o.Tools[0].Schema) != sdkSchemaJSON(t, weatherSchema) || o.ToolChoice != "auto" || o.ToolChoiceName != "" {
		t.Errorf("observed tools %+v choice %q %q", o.Tools, o.ToolChoice, o.ToolChoiceName)
	}
	cfg.ToolChoice = chooseTool("get_weather")
	if _, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: msgs, ToolConfig: cfg}); err != nil {
		t.Fatal(err)
	}
	if o := obs.last(t); o.ToolChoice != "tool" || o.ToolChoiceName != "get_weather" {
		t.Errorf("observed choice %q %q", o.ToolChoice, o.ToolChoiceName)
	}
}
