package reader

import (
	"bytes"
	"fmt"
	"strings"
)

// This file reads the batch formats people already have, so a prompt set
// made for a Bedrock batch inference job or for OpenAI's batch API runs
// as it is.

// bedrockBatch reads a Bedrock batch inference record:
//
//	{"recordId": "...", "modelInput": {"messages": [...], "system": [...],
//	 "inferenceConfig": {...}, "additionalModelRequestFields": {...}}}
//
// modelInput is read in the Converse shape. Anthropic's own body, which
// Bedrock batch jobs of Claude models take, reads too as long as its blocks
// are text: its max_tokens, temperature, top_p and stop_sequences sit at the
// top of modelInput. Other members are ignored; all stay in rec.Raw.
func (r *JSONLReader) bedrockBatch(f *jsonlFields, rec *Record) *fieldError {
	mi := f.modelInput
	if mi[0] != '{' {
		return &fieldError{"modelInput", "must be an object, got " + kindOf(mi)}
	}
	var messages, system, inference, additional []byte
	var bad *fieldError
	forEachMember(mi, func(key, val []byte) bool {
		switch {
		case keyIs(key, "messages"):
			messages = val
		case keyIs(key, "system"):
			system = val
		case keyIs(key, "inferenceConfig"):
			inference = val
		case keyIs(key, "additionalModelRequestFields"):
			additional = val
		default:
			_, bad = inferenceMember(key, val, snakeInference, &rec.Inference, &r.scratch)
		}
		return bad == nil
	})
	if bad != nil {
		return bad.under("modelInput")
	}
	if isNull(messages) {
		return &fieldError{"modelInput.messages", "missing"}
	}
	var err *fieldError
	if rec.Messages, err = parseMessages(messages, "modelInput.messages", &r.scratch); err != nil {
		return err
	}
	if !isNull(system) {
		if rec.System, rec.CacheSystem, err = parseSystem(system, &r.scratch); err != nil {
			return err.under("modelInput.system")
		}
	}
	if !isNull(inference) {
		if err = parseInference(inference, camelInference, &rec.Inference, &r.scratch); err != nil {
			return err.under("modelInput.inferenceConfig")
		}
	}
	if !isNull(additional) {
		if rec.AdditionalFields, err = parseObject(additional); err != nil {
			return err.under("modelInput.additionalModelRequestFields")
		}
	}
	rec.Style, rec.Raw = StyleBedrockBatch, bytes.Clone(mi)
	return nil
}

// openAIChatURL is the one OpenAI endpoint whose requests Converse can make.
const openAIChatURL = "/v1/chat/completions"

// remoteImageURL is why an http(s) image_url is refused.
const remoteImageURL = "remote image URLs are not fetched; use a data: URI or s3://"

// openAI reads an OpenAI batch request line:
//
//	{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions",
//	 "body": {"model": "...", "messages": [...], "max_tokens": ..., ...}}
//
// System and developer messages, wherever they are, make rec.System;
// consecutive messages of one role are merged, because Converse requires
// the roles to alternate. body.model is ignored: it names an OpenAI model.
// Parameters other than max_tokens, max_completion_tokens, temperature,
// top_p and stop are ignored; the whole body stays in rec.Raw.
func (r *JSONLReader) openAI(f *jsonlFields, rec *Record) *fieldError {
	if !isNull(f.url) && (f.url[0] != '"' || unquote(f.url, &r.scratch) != openAIChatURL) {
		return &fieldError{"url", fmt.Sprintf("only %q requests can be sent to Bedrock, got %s", openAIChatURL, f.url)}
	}
	body := f.body
	if body[0] != '{' {
		return &fieldError{"body", "must be an object, got " + kindOf(body)}
	}
	var messages, maxTokens, maxCompletion, temperature, topP, stop []byte
	forEachMember(body, func(key, val []byte) bool {
		switch {
		case keyIs(key, "messages"):
			messages = val
		case keyIs(key, "max_tokens"):
			maxTokens = val
		case keyIs(key, "max_completion_tokens"):
			maxCompletion = val
		case keyIs(key, "temperature"):
			temperature = val
		case keyIs(key, "top_p"):
			topP = val
		case keyIs(key, "stop"):
			stop = val
		}
		return true
	})
	if isNull(messages) {
		return &fieldError{"body.messages", "missing"}
	}
	var err *fieldError
	if rec.Messages, rec.System, err = r.openAIMessages(messages); err != nil {
		return err.under("body.messages")
	}
	inf := &rec.Inference
	maxName := "body.max_completion_tokens"
	if isNull(maxCompletion) { // the newer name wins when both are set
		maxCompletion, maxName = maxTokens, "body.max_tokens"
	}
	if !isNull(maxCompletion) {
		if inf.MaxTokens, err = parseMaxTokens(maxCompletion); err != nil {
			return err.under(maxName)
		}
	}
	if !isNull(temperature) {
		if inf.Temperature, err = parseNonNegative(temperature); err != nil {
			return err.under("body.temperature")
		}
	}
	if !isNull(topP) {
		if inf.TopP, err = parseNonNegative(topP); err != nil {
			return err.under("body.top_p")
		}
	}
	if !isNull(stop) {
		if inf.StopSequences, err = parseStopSequences(stop, true, &r.scratch); err != nil {
			return err.under("body.stop")
		}
	}
	rec.Style, rec.Raw = StyleOpenAI, bytes.Clone(body)
	return nil
}

// openAIMessages turns OpenAI chat messages into a Converse conversation and
// a system prompt. Errors are relative to the messages array.
func (r *JSONLReader) openAIMessages(v []byte) (msgs []Message, system string, err *fieldError) {
	if v[0] != '[' {
		return nil, "", &fieldError{"", "must be an array, got " + kindOf(v)}
	}
	var systems []string
	forEachElement(v, func(i int, m []byte) bool {
		if m[0] != '{' {
			err = &fieldError{index(i), "must be an object, got " + kindOf(m)}
			return false
		}
		role, content := roleAndContent(m)
		switch {
		case isNull(role):
			err = &fieldError{index(i) + ".role", "missing"}
		case role[0] != '"':
			err = &fieldError{index(i) + ".role", "must be a string, got " + kindOf(role)}
		}
		if err != nil {
			return false
		}
		if isNull(content) {
			err = &fieldError{index(i) + ".content", "missing (tool calls cannot be sent)"}
			return false
		}
		switch name := roleName(role, &r.scratch); name {
		case "system", "developer":
			var text string
			text, err = r.openAIText(content)
			systems = append(systems, text)
		case "user", "assistant":
			var blocks []Content
			blocks, err = r.openAIContent(content)
			if n := len(msgs); n > 0 && msgs[n-1].Role == name {
				msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
			} else {
				msgs = append(msgs, Message{Role: name, Content: blocks})
			}
		default:
			err = &fieldError{index(i) + ".role", fmt.Sprintf(`must be "system", "developer", "user" or "assistant", got %q`, name)}
			return false
		}
		err = err.under(index(i) + ".content")
		return err == nil
	})
	switch {
	case err != nil:
		return nil, "", err
	case len(msgs) == 0:
		return nil, "", &fieldError{"", "has no user or assistant message"}
	}
	return msgs, strings.Join(systems, systemJoin), nil
}

// openAIText reads the content of a system message: a string or an array
// of text parts.
func (r *JSONLReader) openAIText(v []byte) (string, *fieldError) {
	blocks, err := r.openAIContent(v)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(blocks))
	for i, b := range blocks {
		if b.Text == "" {
			return "", &fieldError{index(i), "only text parts are supported in a system message"}
		}
		parts[i] = b.Text
	}
	return strings.Join(parts, systemJoin), nil
}

// openAIContent reads the content of a message: a string, or an array of
// parts {"type": "text", "text": ...}, {"type": "image_url", "image_url":
// {"url": ...}} and {"type": "file", "file": {"file_data": ..., "filename": ...}}.
func (r *JSONLReader) openAIContent(v []byte) ([]Content, *fieldError) {
	switch v[0] {
	case '"':
		s := unquote(v, &r.scratch)
		if s == "" {
			return nil, &fieldError{"", "must not be empty"}
		}
		return []Content{{Text: s}}, nil
	case '[':
	default:
		return nil, &fieldError{"", "must be a string or an array of content parts, got " + kindOf(v)}
	}
	var (
		blocks []Content
		bad    *fieldError
	)
	forEachElement(v, func(i int, part []byte) bool {
		c, err := r.openAIPart(part)
		if err != nil {
			bad = err.under(index(i))
			return false
		}
		blocks = append(blocks, c)
		return true
	})
	if bad == nil && len(blocks) == 0 {
		bad = &fieldError{"", "must not be empty"}
	}
	return blocks, bad
}

// openAIPart reads one content part.
func (r *JSONLReader) openAIPart(part []byte) (Content, *fieldError) {
	if part[0] != '{' {
		return Content{}, &fieldError{"", "must be an object, got " + kindOf(part)}
	}
	var typ, text, image, file []byte
	forEachMember(part, func(key, val []byte) bool {
		switch {
		case keyIs(key, "type"):
			typ = val
		case keyIs(key, "text"):
			text = val
		case keyIs(key, "image_url"):
			image = val
		case keyIs(key, "file"):
			file = val
		}
		return true
	})
	if isNull(typ) || typ[0] != '"' {
		return Content{}, &fieldError{".type", "must be a string, got " + kindOf(typ)}
	}
	switch t := unquote(typ, &r.scratch); t {
	case "text":
		if isNull(text) || text[0] != '"' || len(text) == 2 {
			return Content{}, &fieldError{".text", "must be a non-empty string, got " + describe(text)}
		}
		return Content{Text: unquote(text, &r.scratch)}, nil
	case "image_url":
		m, err := r.openAIImage(image)
		return Content{Image: m}, err.under(".image_url")
	case "file":
		m, err := r.openAIFile(file)
		return Content{Document: m}, err.under(".file")
	default:
		return Content{}, &fieldError{".type", fmt.Sprintf(`unsupported content part type %q: want "text", "image_url" or "file"`, t)}
	}
}

// openAIImage reads {"url": ...} (or a bare URL string): a data: URI, or an
// s3:// URI or path as in our own records; never an http(s) URL.
func (r *JSONLReader) openAIImage(v []byte) (*Media, *fieldError) {
	at := ""
	if !isNull(v) && v[0] == '{' {
		var url []byte
		forEachMember(v, func(key, val []byte) bool {
			if keyIs(key, "url") {
				url = val
			}
			return true
		})
		v, at = url, ".url"
	}
	if isNull(v) || v[0] != '"' {
		return nil, &fieldError{at, "must be a URL string, got " + kindOf(v)}
	}
	m, reason := parseReference(unquote(v, &r.scratch), imageKind, remoteImageURL)
	if reason != "" {
		return nil, &fieldError{at, reason}
	}
	return m, nil
}

// openAIFile reads {"file_data": "data:application/pdf;base64,...",
// "filename": "a.pdf"}; an uploaded file (file_id) cannot be read.
func (r *JSONLReader) openAIFile(v []byte) (*Media, *fieldError) {
	if isNull(v) || v[0] != '{' {
		return nil, &fieldError{"", "must be an object, got " + kindOf(v)}
	}
	var data, filename []byte
	forEachMember(v, func(key, val []byte) bool {
		switch {
		case keyIs(key, "file_data"):
			data = val
		case keyIs(key, "filename"):
			filename = val
		}
		return true
	})
	if isNull(data) || data[0] != '"' {
		return nil, &fieldError{".file_data", "must be a data: URI string (uploaded files, file_id, cannot be read), got " + kindOf(data)}
	}
	m, reason := parseReference(unquote(data, &r.scratch), documentKind, remoteURL)
	if reason != "" {
		return nil, &fieldError{".file_data", reason}
	}
	if !isNull(filename) && filename[0] == '"' {
		name := unquote(filename, &r.scratch)
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			name = name[:i]
		}
		m.Name = documentName(name)
	}
	return m, nil
}
