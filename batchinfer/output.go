package batchinfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// Output is one record's line of a job's output file: its model output or its error.
type Output struct {
	RecordID   string
	ModelInput json.RawMessage
	OK         bool          // a modelOutput, not an error
	Text       string        // the text blocks of modelOutput.output.message.content, joined
	StopReason string        // modelOutput.stopReason
	Usage      bedrock.Usage // modelOutput.usage
	// ErrorCode is error.errorCode: an HTTP status. Bedrock writes a number; a numeric
	// string, or one of the exception names of ErrorType, is taken too.
	ErrorCode    int
	ErrorMessage string
}

// outputLine is the JSON of an output line. For a Converse job modelOutput is Converse's
// response body.
type outputLine struct {
	RecordID    *string         `json:"recordId"`
	ModelInput  json.RawMessage `json:"modelInput"`
	ModelOutput *struct {
		Output struct {
			Message struct {
				Content []struct {
					Text *string `json:"text"`
				} `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason string `json:"stopReason"`
		Usage      struct {
			InputTokens           int64 `json:"inputTokens"`
			OutputTokens          int64 `json:"outputTokens"`
			TotalTokens           int64 `json:"totalTokens"`
			CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
			CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
		} `json:"usage"`
	} `json:"modelOutput"`
	Error *struct {
		ErrorCode    json.RawMessage `json:"errorCode"`
		ErrorMessage string          `json:"errorMessage"`
	} `json:"error"`
}

// parseOutput decodes one output line.
func parseOutput(line []byte) (Output, error) {
	var l outputLine
	if err := json.Unmarshal(line, &l); err != nil {
		return Output{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if l.RecordID == nil || *l.RecordID == "" {
		return Output{}, errors.New("no recordId")
	}
	o := Output{RecordID: *l.RecordID, ModelInput: l.ModelInput}
	switch {
	case l.Error != nil:
		o.ErrorCode = errorCode(l.Error.ErrorCode)
		o.ErrorMessage = l.Error.ErrorMessage
	case l.ModelOutput != nil:
		m := l.ModelOutput
		o.OK, o.StopReason = true, m.StopReason
		var text strings.Builder
		for _, block := range m.Output.Message.Content {
			if block.Text != nil {
				text.WriteString(*block.Text)
			}
		}
		o.Text = text.String()
		u := m.Usage
		o.Usage = bedrock.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
			CacheReadInputTokens: u.CacheReadInputTokens, CacheWriteInputTokens: u.CacheWriteInputTokens}
	default:
		return Output{}, fmt.Errorf("record %q has neither modelOutput nor error", o.RecordID)
	}
	return o, nil
}

// errorCode reads errorCode: a number, a numeric string or an exception name; 0 when it
// is none of these.
func errorCode(raw json.RawMessage) int {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if v, err := strconv.Atoi(n.String()); err == nil {
			return v
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return v
		}
		for code, name := range exceptions {
			if name == s {
				return code
			}
		}
	}
	return 0
}

// exceptions are Bedrock's exception names by the HTTP status Bedrock answers them with.
var exceptions = map[int]string{
	400: "ValidationException",
	403: "AccessDeniedException",
	404: "ResourceNotFoundException",
	408: "ModelTimeoutException",
	424: "ModelErrorException",
	429: "ThrottlingException",
	500: "InternalServerException",
	503: "ServiceUnavailableException",
}

// ErrorType is the error_type of a failed record's row: Bedrock's exception name for the
// codes it answers Converse with (400 ValidationException, 403 AccessDeniedException, 404
// ResourceNotFoundException, 408 ModelTimeoutException, 424 ModelErrorException, 429
// ThrottlingException, 500 InternalServerException, 503 ServiceUnavailableException),
// else "BatchError<code>". It is "" for a record that succeeded.
func (o Output) ErrorType() string {
	if o.OK {
		return ""
	}
	if name, ok := exceptions[o.ErrorCode]; ok {
		return name
	}
	return "BatchError" + strconv.Itoa(o.ErrorCode)
}

// Retryable reports whether a failed record may well succeed on demand, so the caller
// sends it again rather than write an error row. These are the codes of the failures
// bedrock.Classify retries on demand: throttling (429), the service's and the model's
// transient errors (500, 503, 424 ModelErrorException, 408 ModelTimeoutException) and a
// gateway's (502, 504). A bad request (400) fails again, and a denied or missing resource
// (403, 404) is no transient matter: those get an error row.
func (o Output) Retryable() bool {
	if o.OK {
		return false
	}
	switch o.ErrorCode {
	case 408, 424, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// Outputs calls fn with every record of p's job's output file, in the file's order (which
// Bedrock does not promise is the input's). A missing file (a job Failed, or Stopped or
// Expired before it ran) is no outputs, not an error; records a job did not answer are
// found by comparing with Inputs. A line that is not JSON, or has no recordId, is an error
// naming the file and the line. An error from fn ends the reading and is returned.
func (j *Jobs) Outputs(ctx context.Context, p *Part, fn func(Output) error) error {
	if p.JobARN == "" {
		return fmt.Errorf("batchinfer: outputs of %s: not submitted", p.Name)
	}
	name := outputName(p)
	return j.read(ctx, name, true, func(n int, line []byte) error {
		o, err := parseOutput(line)
		if err != nil {
			return fmt.Errorf("batchinfer: %s line %d: %w", j.store.URI(name), n, err)
		}
		return fn(o)
	})
}

// Inputs calls fn with every record of p's staged input file, in order.
func (j *Jobs) Inputs(ctx context.Context, p *Part, fn func(id string, modelInput json.RawMessage) error) error {
	return j.read(ctx, p.Name, false, func(n int, line []byte) error {
		var rec struct {
			RecordID   *string         `json:"recordId"`
			ModelInput json.RawMessage `json:"modelInput"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.RecordID == nil || len(rec.ModelInput) == 0 {
			return fmt.Errorf("batchinfer: %s line %d: not a {\"recordId\", \"modelInput\"} object", j.store.URI(p.Name), n)
		}
		return fn(*rec.RecordID, rec.ModelInput)
	})
}

// read calls fn with every line of a staged file that is not blank, streamed: an output
// file repeats every modelInput and is never held whole. A missing file is no lines when
// missingOK.
func (j *Jobs) read(ctx context.Context, name string, missingOK bool, fn func(n int, line []byte) error) error {
	rc, err := j.store.Open(ctx, name)
	if err == nil {
		defer rc.Close()
	}
	switch {
	case missingOK && errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("batchinfer: reading %s: %w", j.store.URI(name), err)
	}
	err = readLines(rc, fn)
	var lineErr *lineError
	if errors.As(err, &lineErr) {
		return fmt.Errorf("batchinfer: reading %s: %w", j.store.URI(name), lineErr.err)
	}
	return err
}
