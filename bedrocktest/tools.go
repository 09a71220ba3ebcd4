package bedrocktest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
)

// toolNamePattern is ToolSpecification.name's pattern in the Bedrock API reference.
var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validateTools checks the toolConfig: at least one tool, each a toolSpec or a cachePoint,
// names well formed and unique, schemas JSON objects, one toolChoice member naming a defined
// tool; and that tool blocks in the history come with a toolConfig, as Bedrock requires.
func (c *call) validateTools(*Options) string {
	tc := c.req.ToolConfig
	if tc == nil {
		if c.hasToolBlocks() {
			return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
		}
		return ""
	}
	specs := c.toolSpecs()
	if len(specs) == 0 {
		return "1 validation error detected: Value at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"
	}
	seen := make(map[string]bool, len(specs))
	for i, t := range tc.Tools {
		if (t.ToolSpec != nil) == (t.CachePoint != nil) {
			return fmt.Sprintf("toolConfig.tools.%d: exactly one member must be set (toolSpec or cachePoint).", i)
		}
		s := t.ToolSpec
		if s == nil {
			continue
		}
		path := fmt.Sprintf("toolConfig.tools.%d.toolSpec", i)
		if !toolNamePattern.MatchString(s.Name) {
			return patternError(s.Name, path+".name", toolNamePattern)
		}
		if seen[s.Name] {
			return modelError("tools: Tool names must be unique.")
		}
		seen[s.Name] = true
		if schema := bytes.TrimSpace(s.InputSchema.JSON); len(schema) == 0 || schema[0] != '{' {
			return fmt.Sprintf("%s.inputSchema.json: the input schema must be a JSON object.", path)
		}
	}
	ch := tc.ToolChoice
	if ch == nil {
		return ""
	}
	n := 0
	for _, set := range []bool{ch.Auto != nil, ch.Any != nil, ch.Tool != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "toolConfig.toolChoice: exactly one member must be set (auto, any or tool)."
	}
	if ch.Tool != nil && !seen[ch.Tool.Name] {
		return modelError("tool_choice.name: Tool '%s' not found in provided tools", ch.Tool.Name)
	}
	return ""
}

func (c *call) hasToolBlocks() bool {
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			if b.ToolUse != nil || b.ToolResult != nil {
				return true
			}
		}
	}
	return false
}

func (c *call) toolSpecs() []*toolSpec {
	if c.req.ToolConfig == nil {
		return nil
	}
	var specs []*toolSpec
	for _, t := range c.req.ToolConfig.Tools {
		if t.ToolSpec != nil {
			specs = append(specs, t.ToolSpec)
		}
	}
	return specs
}

// forcedTool returns the tool the request makes the model call, or nil for a text answer:
// toolChoice.tool names it; toolChoice.any with one tool forces that one, with several the
// prompt's hash picks one (as a model would pick some tool). toolChoice.auto, or none, is
// answered with text.
func (c *call) forcedTool(prompt string) *toolSpec {
	tc := c.req.ToolConfig
	if tc == nil || tc.ToolChoice == nil {
		return nil
	}
	specs := c.toolSpecs()
	switch ch := tc.ToolChoice; {
	case ch.Tool != nil:
		for _, s := range specs {
			if s.Name == ch.Tool.Name {
				return s
			}
		}
	case ch.Any != nil && len(specs) > 0:
		return specs[fnv64a(prompt)%uint64(len(specs))]
	}
	return nil
}

// toolUseID derives a Bedrock-looking id ("tooluse_" and 22 base64url characters) from the tool
// and the prompt, so the same call gets the same id.
func toolUseID(name, prompt string) string {
	var sum [16]byte
	binary.BigEndian.PutUint64(sum[:8], fnv64a("tooluse\x00"+name+"\x00"+prompt))
	binary.BigEndian.PutUint64(sum[8:], fnv64a(prompt+"\x00"+name))
	return "tooluse_" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ToolInput returns the input the emulator's model passes to a tool with the given JSON
// Schema when prompt is the last user message's text, as JSON text with a space after every
// ':' and ',' (so CountTokens of it, the call's outputTokens, grows with its size). Every
// property of every object is present, keys sorted; an array has one or two items (at least
// minItems, at most maxItems); a string is a word of the prompt picked by the property's path
// (or a fixed value for the formats date, date-time, email, uri and uuid, cut or padded to
// minLength/maxLength); an integer or number is between 1 and 9, moved inside
// minimum/maximum; a boolean is true; const, and the first value of enum, win over the type;
// anyOf/oneOf/allOf use their first alternative that is not null; local $refs are followed,
// and a recursive one ends: an optional property or an array referring to a definition being
// expanded is left out or empty.
// With mismatch set the input violates the schema: the first required property (in key
// order) is left out; with none required, the first property has a value of the wrong type;
// with no properties, the input is a string instead of an object.
func ToolInput(schema json.RawMessage, prompt string, mismatch bool) string {
	d := json.NewDecoder(bytes.NewReader(schema))
	d.UseNumber()
	var root map[string]any
	if err := d.Decode(&root); err != nil {
		root = map[string]any{}
	}
	g := schemaGen{root: root, words: promptWords(prompt), active: map[string]int{}}
	if mismatch {
		g.mismatchObject(root)
	} else {
		g.value(root, "", 0)
	}
	return string(g.b)
}
