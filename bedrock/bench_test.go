package bedrock

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// BenchmarkConverseInput measures the per-call cost of checking and mapping
// a request: a plain prompt, and one with a tool and additional fields
// (which parse JSON on every call).
func BenchmarkConverseInput(b *testing.B) {
	maxTokens := int32(512)
	plain := &Request{ModelID: "m", System: "Be brief.", CacheSystem: true, Inference: InferenceConfig{MaxTokens: &maxTokens},
		Messages: []Message{{Role: "user", Content: TextBlocks("Summarise item 7 of the catalogue in 12 words please")}}}
	tool := *plain
	tool.Tool = &Tool{Name: "record", InputSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}}}`)}
	tool.AdditionalFields = json.RawMessage(`{"top_k":250,"seed":12345678901234567890}`)
	for _, bb := range []struct {
		name string
		req  *Request
	}{{"plain", plain}, {"tool and fields", &tool}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := converseInput(bb.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamAssembly measures assembling a 200-delta streamed answer.
func BenchmarkStreamAssembly(b *testing.B) {
	events := []types.ConverseStreamOutput{&types.ConverseStreamOutputMemberMessageStart{}}
	for range 200 {
		events = append(events, &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
			ContentBlockIndex: aws.Int32(0), Delta: &types.ContentBlockDeltaMemberText{Value: "three more words "}}})
	}
	events = append(events,
		&types.ConverseStreamOutputMemberMessageStop{Value: types.MessageStopEvent{StopReason: types.StopReasonEndTurn}},
		&types.ConverseStreamOutputMemberMetadata{Value: types.ConverseStreamMetadataEvent{Usage: &types.TokenUsage{}}})
	req := &Request{}
	b.ReportAllocs()
	for b.Loop() {
		var a assembly
		for _, e := range events {
			a.add(e)
		}
		if _, err := a.result(req, nil); err != nil {
			b.Fatal(err)
		}
	}
}
