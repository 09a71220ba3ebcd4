package writer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Styles of JSONL rows.
const (
	// StyleRows is the tool's flat rows.
	StyleRows = "rows"
	// StyleBedrockBatch is the line Bedrock batch inference writes to its
	// .out files: {recordId, modelInput, modelOutput} or {recordId,
	// modelInput, error{errorCode, errorMessage}}, for tools that read
	// those. The error also carries errorType (the row's error_type), so a
	// resumed run tells error kinds apart.
	StyleBedrockBatch = "bedrock-batch"
)

// batchLine is one line in the bedrock-batch style.
type batchLine struct {
	RecordID    string          `json:"recordId"`
	ModelInput  json.RawMessage `json:"modelInput,omitempty"`
	ModelOutput *batchOutput    `json:"modelOutput,omitempty"`
	Error       *batchError     `json:"error,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

type batchOutput struct {
	Output struct {
		Message struct {
			Role    string         `json:"role"`
			Content []batchContent `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string     `json:"stopReason"`
	Usage      batchUsage `json:"usage"`
	Metrics    struct {
		LatencyMs int64 `json:"latencyMs"`
	} `json:"metrics"`
}

type batchContent struct {
	Text    *string       `json:"text,omitempty"`
	ToolUse *batchToolUse `json:"toolUse,omitempty"`
}

type batchToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type batchUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens,omitempty"`
}

type batchError struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType,omitempty"`
}

// structuredToolName names the toolUse block that holds a structured
// output in the bedrock-batch style.
const structuredToolName = "structured_output"

// appendBatchRow appends row as one bedrock-batch line, with its newline.
func appendBatchRow(b []byte, row *Row) ([]byte, error) {
	line := batchLine{RecordID: row.ID, ModelInput: compactOrNil(row.ModelInput), Metadata: compactOrNil(row.Metadata)}
	if row.Status == StatusError {
		line.Error = &batchError{ErrorCode: httpStatusOf(row.ErrorType), ErrorMessage: row.ErrorMessage, ErrorType: row.ErrorType}
	} else {
		out := &batchOutput{StopReason: row.StopReason}
		out.Output.Message.Role = "assistant"
		if len(row.OutputJSON) > 0 {
			out.Output.Message.Content = []batchContent{{ToolUse: &batchToolUse{
				ToolUseID: "tooluse_" + row.ID, Name: structuredToolName, Input: row.OutputJSON}}}
		} else {
			text := row.Output
			out.Output.Message.Content = []batchContent{{Text: &text}}
		}
		out.Usage = batchUsage{InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, TotalTokens: row.TotalTokens,
			CacheReadInputTokens: row.CacheReadInputTokens, CacheWriteInputTokens: row.CacheWriteInputTokens}
		out.Metrics.LatencyMs = row.LatencyMs
		line.ModelOutput = out
	}
	data, err := json.Marshal(line)
	if err != nil {
		return b, fmt.Errorf("writer: record %s: %w", row.ID, err)
	}
	return append(append(b, data...), '\n'), nil
}

// compactOrNil returns valid JSON as is, and nil for none or invalid.
func compactOrNil(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || !json.Valid(m) {
		return nil
	}
	return m
}

// httpStatusOf is the HTTP status Bedrock answers an error type with; the
// tool's own error types (bad records) are 400.
func httpStatusOf(errorType string) int {
	switch errorType {
	case "ThrottlingException", "ModelNotReadyException":
		return 429
	case "InternalServerException":
		return 500
	case "ServiceUnavailableException":
		return 503
	case "ModelErrorException":
		return 424
	case "ModelTimeoutException", "RequestTimeout":
		return 408
	case "AccessDeniedException":
		return 403
	case "ResourceNotFoundException":
		return 404
	}
	return 400
}

// IsBatchStyleLine reports whether an output line the writer wrote is in
// the bedrock-batch style (it starts with its recordId).
func IsBatchStyleLine(line []byte) bool { return bytes.HasPrefix(line, []byte(`{"recordId":`)) }

// DecodeJSONLRow decodes one output line of either style into a Row.
func DecodeJSONLRow(line []byte) (*Row, error) {
	if !IsBatchStyleLine(line) {
		row := &Row{}
		return row, json.Unmarshal(line, row)
	}
	var l batchLine
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, err
	}
	row := &Row{ID: l.RecordID, ModelInput: l.ModelInput, Metadata: l.Metadata}
	switch {
	case l.Error != nil:
		row.Status, row.ErrorMessage, row.ErrorType = StatusError, l.Error.ErrorMessage, l.Error.ErrorType
		if row.ErrorType == "" {
			row.ErrorType = strconv.Itoa(l.Error.ErrorCode)
		}
	case l.ModelOutput != nil:
		out := l.ModelOutput
		row.Status, row.StopReason, row.LatencyMs = StatusOK, out.StopReason, out.Metrics.LatencyMs
		row.InputTokens, row.OutputTokens, row.TotalTokens = out.Usage.InputTokens, out.Usage.OutputTokens, out.Usage.TotalTokens
		row.CacheReadInputTokens, row.CacheWriteInputTokens = out.Usage.CacheReadInputTokens, out.Usage.CacheWriteInputTokens
		var text bytes.Buffer
		for _, c := range out.Output.Message.Content {
			switch {
			case c.Text != nil:
				text.WriteString(*c.Text)
			case c.ToolUse != nil:
				row.OutputJSON = c.ToolUse.Input
				row.Output = string(c.ToolUse.Input)
			}
		}
		if row.OutputJSON == nil {
			row.Output = text.String()
		}
	default:
		return nil, errors.New("a bedrock-batch line with neither modelOutput nor error")
	}
	return row, nil
}
