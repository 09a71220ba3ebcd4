package bedrock

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// converseResponse assembles a Response from a Converse output.
func converseResponse(req *Request, out *bedrockruntime.ConverseOutput) (Response, error) {
	resp := Response{StopReason: string(out.StopReason)}
	if msg, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		resp.Text = joinText(msg.Value.Content)
		if req.Tool != nil {
			input, err := toolInput(msg.Value.Content, req.Tool.Name)
			if err != nil {
				return Response{}, err
			}
			resp.ToolInput = input
		}
	}
	if out.Usage != nil {
		resp.Usage = usageOf(out.Usage)
	}
	if out.Metrics != nil {
		resp.LatencyMs = aws.ToInt64(out.Metrics.LatencyMs)
	}
	resp.ServiceTier = tierOf(out.ServiceTier)
	return resp, nil
}

func joinText(blocks []types.ContentBlock) string {
	var b strings.Builder
	for _, block := range blocks {
		if t, ok := block.(*types.ContentBlockMemberText); ok {
			b.WriteString(t.Value)
		}
	}
	return b.String()
}

// toolInput is the input of the first call of the tool named name, nil when
// the model did not call it (a max_tokens or guardrail stop).
func toolInput(blocks []types.ContentBlock, name string) ([]byte, error) {
	for _, block := range blocks {
		use, ok := block.(*types.ContentBlockMemberToolUse)
		if !ok || aws.ToString(use.Value.Name) != name {
			continue
		}
		input, err := documentJSON(use.Value.Input)
		if err != nil {
			return nil, &Error{Class: Retryable, Type: TypeInvalidToolInput,
				Message: "tool " + name + " input: " + err.Error(), Err: err}
		}
		return input, nil
	}
	return nil, nil
}

func usageOf(u *types.TokenUsage) Usage {
	return Usage{
		InputTokens:           int64(aws.ToInt32(u.InputTokens)),
		OutputTokens:          int64(aws.ToInt32(u.OutputTokens)),
		TotalTokens:           int64(aws.ToInt32(u.TotalTokens)),
		CacheReadInputTokens:  int64(aws.ToInt32(u.CacheReadInputTokens)),
		CacheWriteInputTokens: int64(aws.ToInt32(u.CacheWriteInputTokens)),
	}
}

func tierOf(t *types.ServiceTier) string {
	if t == nil {
		return ""
	}
	return string(t.Type)
}
