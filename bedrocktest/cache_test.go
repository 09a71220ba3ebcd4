package bedrocktest

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestPromptCacheSplit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	key := func(b byte) [16]byte { return [16]byte{b} }
	pt := func(tokens int64, k byte) prefixPoint { return prefixPoint{tokens: tokens, key: key(k)} }
	type step struct {
		at     time.Duration
		total  int64
		points []prefixPoint
		want   cacheSplit
	}
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"write, read, expire", Options{CacheTTL: time.Minute, CacheMinTokens: 1}, []step{
			{0, 10, []prefixPoint{pt(8, 1)}, cacheSplit{input: 2, write: 8, used: true}},
			{30 * time.Second, 12, []prefixPoint{pt(8, 1)}, cacheSplit{input: 4, read: 8, used: true}},
			{89 * time.Second, 12, []prefixPoint{pt(8, 1)}, cacheSplit{input: 4, read: 8, used: true}}, // the read at 30s refreshed the TTL
			{150 * time.Second, 12, []prefixPoint{pt(8, 1)}, cacheSplit{input: 4, write: 8, used: true}},
		}},
		{"longest cached prefix is read, the rest written", Options{CacheTTL: time.Minute, CacheMinTokens: 1}, []step{
			{0, 10, []prefixPoint{pt(5, 1)}, cacheSplit{input: 5, write: 5, used: true}},
			{time.Second, 20, []prefixPoint{pt(5, 1), pt(15, 2)}, cacheSplit{input: 5, read: 5, write: 10, used: true}},
			{2 * time.Second, 21, []prefixPoint{pt(5, 1), pt(15, 2)}, cacheSplit{input: 6, read: 15, used: true}},
			{3 * time.Second, 40, []prefixPoint{pt(5, 1), pt(15, 2), pt(30, 3)}, cacheSplit{input: 10, read: 15, write: 15, used: true}},
		}},
		{"below the minimum nothing is cached", Options{CacheMinTokens: 10}, []step{
			{0, 12, []prefixPoint{pt(9, 1)}, cacheSplit{input: 12, used: true}},
			{time.Second, 12, []prefixPoint{pt(9, 1)}, cacheSplit{input: 12, used: true}},
			{2 * time.Second, 12, []prefixPoint{pt(4, 1), pt(10, 2)}, cacheSplit{input: 2, write: 10, used: true}},
		}},
		{"default minimum is 1024", Options{}, []step{
			{0, 2000, []prefixPoint{pt(1023, 1)}, cacheSplit{input: 2000, used: true}},
			{0, 2000, []prefixPoint{pt(1024, 2)}, cacheSplit{input: 976, write: 1024, used: true}},
		}},
		{"negative minimum caches any prefix", Options{CacheMinTokens: -1}, []step{
			{0, 3, []prefixPoint{pt(1, 1)}, cacheSplit{input: 2, write: 1, used: true}},
			{0, 3, []prefixPoint{pt(0, 2)}, cacheSplit{input: 3, used: true}},
		}},
		{"ttl 1h lives twelve times longer", Options{CacheTTL: time.Minute, CacheMinTokens: 1}, []step{
			{0, 10, []prefixPoint{{tokens: 8, key: key(1), long: true}}, cacheSplit{input: 2, write: 8, used: true}},
			{11 * time.Minute, 10, []prefixPoint{{tokens: 8, key: key(1), long: true}}, cacheSplit{input: 2, read: 8, used: true}},
		}},
		{"no cache point", Options{CacheMinTokens: 1}, []step{
			{0, 10, nil, cacheSplit{input: 10}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := newPromptCache(tt.opts, t0)
			for i, s := range tt.steps {
				if got := pc.split(t0.Add(s.at), inputInfo{tokens: s.total, points: s.points}); got != s.want {
					t.Fatalf("step %d: split = %+v, want %+v", i, got, s.want)
				}
			}
		})
	}
}

func TestPromptCache(t *testing.T) {
	const system = "You are a careful assistant who answers briefly" // 8 tokens
	const doc = "a long shared document of exactly ten words right here"
	cp := types.CachePointBlock{Type: types.CachePointTypeDefault}
	tool := newTool(t, "get_weather", "Current weather", weatherSchema)
	toolTokens := CountTokens("get_weather") + CountTokens("Current weather") + CountTokens(sdkSchemaJSON(t, weatherSchema))
	type req struct {
		model      string
		toolsCache bool // a tool and a cachePoint after it
		docCache   bool // the user message starts with doc and a cachePoint
		question   string
		stream     bool
	}
	tests := []struct {
		name         string
		req          req
		wantIn       int64
		wantRead     int64
		wantWrite    int64
		wantObserved []string
	}{
		{"first sight of the system prompt writes it", req{question: "q one"}, 2, 0, 8, []string{"system.1"}},
		{"a new question reads it", req{question: "q two three"}, 3, 8, 0, []string{"system.1"}},
		{"tools after it: read the system, write the tools", req{toolsCache: true, question: "q"}, 1, 8, toolTokens,
			[]string{"system.1", "toolConfig.tools.1"}},
		{"stream reads both", req{toolsCache: true, question: "another q", stream: true}, 2, 8 + toolTokens, 0, nil},
		{"a document prefix in the message is written", req{toolsCache: true, docCache: true, question: "q"}, 1, 8 + toolTokens, 10,
			[]string{"system.1", "toolConfig.tools.1", "messages.0.content.1"}},
		{"and read", req{toolsCache: true, docCache: true, question: "q again", stream: true}, 2, 18 + toolTokens, 0, nil},
		{"another model has its own cache", req{model: "us." + testModel, question: "q"}, 1, 0, 8, nil},
	}
	var obs observer
	srv, client := newServer(t, Options{CacheMinTokens: 1, Observe: obs.observe})
	var want Stats
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := tt.req.model
			if model == "" {
				model = testModel
			}
			sys := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: system}, &types.SystemContentBlockMemberCachePoint{Value: cp}}
			var cfg *types.ToolConfiguration
			if tt.req.toolsCache {
				cfg = &types.ToolConfiguration{Tools: []types.Tool{tool, &types.ToolMemberCachePoint{Value: cp}}}
			}
			var blocks []types.ContentBlock
			if tt.req.docCache {
				blocks = append(blocks, text(doc), &types.ContentBlockMemberCachePoint{Value: cp})
			}
			msgs := userBlocks(append(blocks, text(tt.req.question))...)
			var u *types.TokenUsage
			if tt.req.stream {
				out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model),
					System: sys, ToolConfig: cfg, Messages: msgs})
				if err != nil {
					t.Fatal(err)
				}
				r := readStream(t, out)
				if r.err != nil || !r.gotMetadata {
					t.Fatalf("stream: %v, metadata %v", r.err, r.gotMetadata)
				}
				u = r.usage
			} else {
				out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(model),
					System: sys, ToolConfig: cfg, Messages: msgs})
				if err != nil {
					t.Fatal(err)
				}
				u = out.Usage
			}
			prompt := tt.req.question // the last user message's text blocks, joined
			if tt.req.docCache {
				prompt = doc + "\n" + prompt
			}
			wantOut := CountTokens(Answer(prompt))
			total := tt.wantIn + wantOut + tt.wantRead + tt.wantWrite
			if got, want := usageOf(u), (usageNums{int32(tt.wantIn), int32(wantOut), int32(total), int32(tt.wantRead), int32(tt.wantWrite)}); got != want {
				t.Errorf("usage = %+v, want %+v", got, want)
			}
			if tt.wantObserved != nil {
				if got := obs.last(t).CachePoints; !reflect.DeepEqual(got, tt.wantObserved) {
					t.Errorf("observed cache points %q, want %q", got, tt.wantObserved)
				}
			}
			count, err := client.CountTokens(testCtx(t), &bedrockruntime.CountTokensInput{ModelId: aws.String(model),
				Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{System: sys, ToolConfig: cfg, Messages: msgs}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := int64(aws.ToInt32(count.InputTokens)); got != tt.wantIn+tt.wantRead+tt.wantWrite {
				t.Errorf("CountTokens = %d, want every input token: %d", got, tt.wantIn+tt.wantRead+tt.wantWrite)
			}
			want.Requests++
			want.OK++
			want.CountTokens++
			want.InputTokens += tt.wantIn
			want.OutputTokens += wantOut
			want.CacheReadTokens += tt.wantRead
			want.CacheWriteTokens += tt.wantWrite
		})
	}
	checkStats(t, srv, want)
}

// TestPromptCacheExpires runs the TTL on the wall clock once, with generous margins.
func TestPromptCacheExpires(t *testing.T) {
	const ttl = 500 * time.Millisecond
	_, client := newServer(t, Options{CacheMinTokens: 1, CacheTTL: ttl})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{userText("question")},
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}}}
	steps := []struct {
		sleep       time.Duration
		read, write int32
	}{{0, 0, 2}, {0, 2, 0}, {3 * ttl, 0, 2}}
	for i, s := range steps {
		time.Sleep(s.sleep)
		out, err := client.Converse(testCtx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		if u := usageOf(out.Usage); u.read != s.read || u.write != s.write {
			t.Errorf("call %d: usage %+v, want read %d write %d", i, u, s.read, s.write)
		}
	}
}

func TestCachePointValidation(t *testing.T) {
	cp := &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}
	tests := []struct {
		name     string
		blocks   []types.ContentBlock
		contains string
	}{
		{"unknown type", []types.ContentBlock{text("x"), &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: "ephemeral"}}},
			"Value 'ephemeral' at 'messages.0.content.1.cachePoint.type' failed to satisfy constraint: Member must satisfy enum value set: [default]"},
		{"unknown ttl", []types.ContentBlock{text("x"), &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: "2h"}}},
			"Value '2h' at 'messages.0.content.1.cachePoint.ttl'"},
		{"five cache points", []types.ContentBlock{text("a"), cp, text("b"), cp, text("c"), cp, text("d"), cp, text("e"), cp},
			"A maximum of 4 blocks with cache_control may be provided. Found 5."},
	}
	_, client := newServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: userBlocks(tt.blocks...)})
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
}
