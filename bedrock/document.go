package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	smithydocument "github.com/aws/smithy-go/document"
)

// jsonDocument turns free JSON (additional model request fields, a tool's
// input schema) into the SDK's document type, with every number exactly as
// written.
//
// The SDK encodes a document by reflection: a float64 would round integers
// above 2^53, and a json.Number, being a string type, is sent as a JSON
// *string* ("12345678901234567890" in quotes). Only smithy-go's
// document.Number is written as the literal itself, so numbers are decoded
// as json.Number and converted. The encoding is also checked here, because
// the SDK's serializer drops an encoding error and would send a broken body.
func jsonDocument(raw []byte, object bool) (document.Interface, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not valid JSON: more than one value")
	}
	if _, ok := v.(map[string]any); object && !ok {
		return nil, errors.New("not a JSON object")
	}
	doc := document.NewLazyDocument(exactNumbers(v))
	if _, err := doc.MarshalSmithyDocument(); err != nil {
		return nil, err
	}
	return doc, nil
}

// exactNumbers replaces, in place, every json.Number in v by the same
// literal as a smithy document.Number.
func exactNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		return smithydocument.Number(v)
	case map[string]any:
		for k, e := range v {
			v[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = exactNumbers(e)
		}
	}
	return v
}

// documentJSON is the JSON of a document Bedrock returned (a tool call's
// input). The SDK keeps such a document as decoded values whose numbers are
// json.Number, and marshals them back with encoding/json: the literals come
// out as they came in, though object keys come out sorted.
func documentJSON(doc document.Interface) (json.RawMessage, error) {
	if doc == nil {
		return nil, errors.New("no document")
	}
	b, err := doc.MarshalSmithyDocument()
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("not valid JSON: %.64q", b)
	}
	return json.RawMessage(b), nil
}
