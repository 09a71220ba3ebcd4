package bedrocktest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Schemas the tool tests use: a weather tool like the Bedrock docs', one with formats and
// bounds, a recursive pydantic-style one, and an empty object.
const (
	weatherSchema = `{"type":"object","properties":{"city":{"type":"string","description":"City name"},` +
		`"days":{"type":"integer","minimum":1,"maximum":3},"metric":{"type":"boolean"},` +
		`"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`
	formatsSchema = `{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}},` +
		`"score":{"type":"number","minimum":0.1,"maximum":0.2},"when":{"type":"string","format":"date"},` +
		`"id":{"type":"string","format":"uuid"}}}`
	recursiveSchema = `{"type":"object","properties":{"person":{"$ref":"#/$defs/Person"},"kind":{"const":"x"},` +
		`"opt":{"anyOf":[{"type":"null"},{"type":"integer","exclusiveMinimum":10}]}},"required":["person"],` +
		`"$defs":{"Person":{"type":"object","properties":{"name":{"type":"string","maxLength":3},` +
		`"age":{"type":["integer","null"]},"friends":{"type":"array","items":{"$ref":"#/$defs/Person"},"maxItems":1}}}}}`
	emptySchema = `{"type":"object"}`
)

const weatherPrompt = "What is the weather in Paris tomorrow?"

func TestToolInput(t *testing.T) {
	tests := []struct {
		schema   string
		mismatch bool
		want     string
	}{
		{weatherSchema, false, `{"city": "in", "days": 3, "metric": true, "unit": "celsius"}`},
		{weatherSchema, true, `{"days": 3, "metric": true, "unit": "celsius"}`}, // required city left out
		{formatsSchema, false, `{"id": "00000000-0000-4000-8000-f89b8217ecf0", "score": 0.2, "tags": ["Paris"], "when": "2025-01-01"}`},
		{formatsSchema, true, `{"id": 42, "score": 0.2, "tags": ["Paris"], "when": "2025-01-01"}`}, // nothing required: id of the wrong type
		{recursiveSchema, false, `{"kind": "x", "opt": 11, "person": {"age": 4, "friends": [], "name": "the"}}`},
		{recursiveSchema, true, `{"kind": "x", "opt": 11}`},
		{emptySchema, false, `{}`},
		{emptySchema, true, `"bedrocktest: not an object"`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.30s mismatch=%v", tt.schema, tt.mismatch), func(t *testing.T) {
			got := ToolInput(json.RawMessage(tt.schema), weatherPrompt, tt.mismatch)
			if got != tt.want {
				t.Errorf("ToolInput = %s\nwant        %s", got, tt.want)
			}
			err := conforms(t, tt.schema, got)
			if tt.mismatch == (err == nil) {
				t.Errorf("conforms = %v with mismatch %v", err, tt.mismatch)
			}
		})
	}
}

// TestToolInputConforms checks the rule on more prompts than the golden cases.
func TestToolInputConforms(t *testing.T) {
	prompts := []string{"", "one", weatherPrompt, "ünïcödé «quotes» \"and\" \\ slashes", strings.Repeat("many words ", 50)}
	for _, schema := range []string{weatherSchema, formatsSchema, recursiveSchema, emptySchema} {
		for _, p := range prompts {
			got := ToolInput(json.RawMessage(schema), p, false)
			if err := conforms(t, schema, got); err != nil {
				t.Errorf("schema %.40s prompt %.20q: %s: %v", schema, p, got, err)
			}
			if again := ToolInput(json.RawMessage(schema), p, false); again != got {
				t.Errorf("not deterministic: %s then %s", got, again)
			}
		}
	}
}

// conforms validates a JSON text against the subset of JSON Schema ToolInput reads.
func conforms(t testing.TB, schema, text string) error {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(schema), &root); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return check(root, root, v, "$")
}

func check(root, s map[string]any, v any, path string) error {
	if ref, ok := s["$ref"].(string); ok {
		s = root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	if c, ok := s["const"]; ok && c != v {
		return fmt.Errorf("%s: %v is not the const %v", path, v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.Contains(e, v) {
		return fmt.Errorf("%s: %v not in enum", path, v)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			if check(root, a.(map[string]any), v, path) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: no anyOf alternative fits", path)
	}
	types := []any{s["type"]}
	if list, ok := s["type"].([]any); ok {
		types = list
	}
	if s["type"] != nil && !slices.ContainsFunc(types, func(t any) bool { return jsonType(v, t.(string)) }) {
		return fmt.Errorf("%s: %v is not of type %v", path, v, s["type"])
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range asList(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				return fmt.Errorf("%s: required %q missing", path, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range v {
			if ps, ok := props[k].(map[string]any); ok {
				if err := check(root, ps, pv, path+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if m, ok := s["maxItems"].(float64); ok && float64(len(v)) > m {
			return fmt.Errorf("%s: %d items > maxItems", path, len(v))
		}
		for i, e := range v {
			if err := check(root, s["items"].(map[string]any), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && v < m {
			return fmt.Errorf("%s: %v < minimum %v", path, v, m)
		}
		if m, ok := s["maximum"].(float64); ok && v > m {
			return fmt.Errorf("%s: %v > maximum %v", path, v, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && v <= m {
			return fmt.Errorf("%s: %v <= exclusiveMinimum %v", path, v, m)
		}
	case string:
		if m, ok := s["maxLength"].(float64); ok && float64(utf8.RuneCountInString(v)) > m {
			return fmt.Errorf("%s: %q longer than %v", path, v, m)
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func jsonType(v any, name string) bool {
	switch name {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}
