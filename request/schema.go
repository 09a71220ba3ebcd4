package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// ErrorTypeSchemaMismatch is the error_type of a row whose answers did not
// match the JSON Schema asked for, after every attempt.
const ErrorTypeSchemaMismatch = "SchemaMismatch"

// Schema is structured output: the model is forced to call one tool whose
// input schema is the JSON Schema, and its input is validated against it.
type Schema struct {
	raw      json.RawMessage
	name     string
	compiled *jsonschema.Schema
}

// LoadSchemaFile reads and compiles a JSON Schema file.
func LoadSchemaFile(path string) (*Schema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return ParseSchema(filepath.Base(path), raw)
}

// ParseSchema compiles a JSON Schema; name names it in errors.
func ParseSchema(name string, raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("json schema %s: not valid JSON: %w", name, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("json schema %s: must be a JSON object", name)
	}
	if t, _ := obj["type"].(string); t != "object" {
		return nil, fmt.Errorf(`json schema %s: the top level must have "type": "object" (a tool's input is an object)`, name)
	}
	c := jsonschema.NewCompiler()
	url := "file:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("json schema %s: %w", name, err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("json schema %s: %w", name, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("json schema %s: %w", name, err)
	}
	return &Schema{raw: compact.Bytes(), name: toolName(obj, name), compiled: compiled}, nil
}

var notToolName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// toolName is the forced tool's name: the schema's title, else the file's
// name, as Bedrock allows ([a-zA-Z0-9_-]{1,64}).
func toolName(obj map[string]any, file string) string {
	name, _ := obj["title"].(string)
	if name == "" {
		name = strings.TrimSuffix(file, filepath.Ext(file))
	}
	name = strings.Trim(notToolName.ReplaceAllString(name, "_"), "_")
	if name == "" {
		name = "respond"
	}
	return name[:min(len(name), 64)]
}

// Tool is the tool a request forces.
func (s *Schema) Tool() *bedrock.Tool {
	return &bedrock.Tool{
		Name:        s.name,
		Description: "Give the answer as this tool's input, matching its JSON Schema exactly.",
		InputSchema: s.raw,
	}
}

// Validate checks a tool input against the schema; the error says where
// and why it does not match.
func (s *Schema) Validate(input json.RawMessage) error {
	if len(input) == 0 {
		return errors.New("the model did not call the tool " + s.name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return fmt.Errorf("the tool input is not JSON: %w", err)
	}
	if err := s.compiled.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return errors.New(strings.Join(strings.Fields(ve.Error()), " "))
		}
		return err
	}
	return nil
}
