package reader

import (
	"slices"
	"strconv"
)

// This file reads a JSONL line of our own shape (StyleNative): a prompt or
// messages, and the optional system, model, inference_config,
// additional_model_request_fields, document and image fields.

// native reads a line of our own shape into rec.
func (r *JSONLReader) native(f *jsonlFields, rec *Record) *fieldError {
	var err *fieldError
	rec.Messages, err = conversation(f.prompt, f.messages, r.opts.promptField, r.opts.promptOpt, &r.scratch)
	if err != nil {
		return err
	}
	if !isNull(f.system) {
		rec.System, rec.CacheSystem, err = parseSystem(f.system, &r.scratch)
		if err != nil {
			return err.under("system")
		}
	}
	if f.model != nil || f.inference != nil || f.additional != nil {
		if err := r.overrides(f, rec); err != nil {
			return err
		}
	}
	if len(r.media) > 0 {
		media, err := r.mediaBlocks()
		if err != nil {
			return err
		}
		rec.Messages = withMedia(rec.Messages, media)
	}
	return nil
}

// overrides reads the record's own model and inference parameters.
func (r *JSONLReader) overrides(f *jsonlFields, rec *Record) *fieldError {
	var err *fieldError
	if !isNull(f.model) {
		if rec.ModelID, err = parseModel(f.model, &r.scratch); err != nil {
			return err.under("model")
		}
	}
	if !isNull(f.inference) {
		if err = parseInference(f.inference, snakeInference, &rec.Inference, &r.scratch); err != nil {
			return err.under("inference_config")
		}
	}
	if !isNull(f.additional) {
		if rec.AdditionalFields, err = parseObject(f.additional); err != nil {
			return err.under("additional_model_request_fields")
		}
	}
	return nil
}

// mediaBlocks turns the values of the document and image fields of the line
// into content blocks: all documents, then all images, each in the order of
// the fields in the Options (not of the keys in the line, which JSON tools
// may reorder), and each field's array in its order.
func (r *JSONLReader) mediaBlocks() ([]Content, *fieldError) {
	var docs, images []Content
	for _, name := range r.opts.mediaOrder {
		i := slices.IndexFunc(r.media, func(mv mediaValue) bool { return mv.field == name })
		if i < 0 {
			continue
		}
		mv := r.media[i]
		add := func(at string, v []byte) *fieldError {
			if v[0] != '"' {
				return &fieldError{at, "must be a string (an s3:// URI, a path or a data: URI), got " + kindOf(v)}
			}
			m, reason := parseReference(unquote(v, &r.scratch), mv.kind, remoteURL)
			switch {
			case reason != "":
				return &fieldError{at, reason}
			case mv.kind == documentKind:
				docs = append(docs, Content{Document: m})
			default:
				images = append(images, Content{Image: m})
			}
			return nil
		}
		var err *fieldError
		switch mv.val[0] {
		case 'n':
		case '[':
			forEachElement(mv.val, func(i int, v []byte) bool {
				err = add(mv.field+index(i), v)
				return err == nil
			})
		default:
			err = add(mv.field, mv.val)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(docs, images...), nil
}

// conversation builds the messages of a record from exactly one of its
// prompt (field promptField) and "messages" values. When optional, having
// neither is no error and gives no messages.
func conversation(prompt, messages []byte, promptField string, optional bool, scratch *[]byte) ([]Message, *fieldError) {
	switch {
	case !isNull(prompt) && !isNull(messages):
		return nil, &fieldError{"messages", strconv.Quote(promptField) + ` and "messages" are both set; use one`}
	case !isNull(messages):
		return parseMessages(messages, "messages", scratch)
	case isNull(prompt) && optional:
		return nil, nil
	case isNull(prompt):
		return nil, &fieldError{promptField, "missing: a record needs " + strconv.Quote(promptField) + ` or "messages"`}
	case prompt[0] != '"':
		return nil, &fieldError{promptField, "must be a string, got " + kindOf(prompt)}
	}
	text := unquote(prompt, scratch)
	if text == "" {
		return nil, &fieldError{promptField, "must not be empty"}
	}
	return promptMessages(text), nil
}
