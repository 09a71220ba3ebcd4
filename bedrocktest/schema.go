package bedrocktest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"
)

// maxSchemaDepth stops a recursive schema ($ref to itself): deeper values are null.
const maxSchemaDepth = 12

// schemaGen writes a JSON value that satisfies a JSON Schema; see ToolInput for the rules.
type schemaGen struct {
	root   map[string]any
	words  []string
	b      []byte
	active map[string]int // $refs being expanded, to end a recursive schema
}

// promptWords are the prompt's runs of letters and digits, or "nothing" for an empty prompt.
func promptWords(prompt string) []string {
	w := strings.FieldsFunc(prompt, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(w) == 0 {
		return []string{"nothing"}
	}
	return w
}

// pick is a number derived from a value's path, so each property gets its own word and number.
func pick(path string, n int) int {
	return int(fnv64a(path) % uint64(n))
}

func (g *schemaGen) value(s map[string]any, path string, depth int) {
	if ref, ok := s["$ref"].(string); ok {
		g.active[ref]++
		defer func() { g.active[ref]-- }()
	}
	s = g.resolve(s)
	if s == nil || depth > maxSchemaDepth {
		g.b = append(g.b, "null"...)
		return
	}
	if c, ok := s["const"]; ok {
		g.b = appendJSON(g.b, c)
		return
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		g.b = appendJSON(g.b, e[0])
		return
	}
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		if alt := firstAlternative(s[key]); alt != nil {
			g.value(alt, path, depth+1)
			return
		}
	}
	switch schemaType(s) {
	case "object":
		g.object(s, path, depth)
	case "array":
		g.array(s, path, depth)
	case "integer":
		g.number(s, path, true)
	case "number":
		g.number(s, path, false)
	case "boolean":
		g.b = append(g.b, "true"...)
	case "null":
		g.b = append(g.b, "null"...)
	default:
		g.string(s, path)
	}
}

// resolve follows a local $ref ("#/$defs/X", "#/definitions/X") from the root schema.
func (g *schemaGen) resolve(s map[string]any) map[string]any {
	for range maxSchemaDepth {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		rest, ok := strings.CutPrefix(ref, "#")
		if !ok {
			return nil
		}
		var node any = g.root
		for _, part := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
			if part == "" {
				continue
			}
			m, _ := node.(map[string]any)
			node = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		if s, ok = node.(map[string]any); !ok {
			return nil
		}
	}
	return nil
}

// cyclic reports whether s refers to a definition being expanded: an optional property or an
// array of it is left empty, so a recursive schema (a tree) ends.
func (g *schemaGen) cyclic(s map[string]any) bool {
	ref, ok := s["$ref"].(string)
	return ok && g.active[ref] > 0
}

// firstAlternative returns the first schema of an anyOf/oneOf/allOf list that is not
// {"type":"null"}.
func firstAlternative(v any) map[string]any {
	alts, _ := v.([]any)
	for _, a := range alts {
		if m, ok := a.(map[string]any); ok && m["type"] != "null" {
			return m
		}
	}
	return nil
}

// schemaType is a schema's type: the first that is not "null" of a list, or what its keywords
// imply, or "string".
func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, v := range t {
			if name, ok := v.(string); ok && name != "null" {
				return name
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	if _, ok := s["items"]; ok {
		return "array"
	}
	return "string"
}

func sortedProperties(s map[string]any) (map[string]any, []string) {
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return props, keys
}

func (g *schemaGen) object(s map[string]any, path string, depth int) {
	props, keys := sortedProperties(s)
	required := requiredSet(s)
	g.b = append(g.b, '{')
	i := 0
	for _, k := range keys {
		sub, _ := props[k].(map[string]any)
		if g.cyclic(sub) && !required[k] {
			continue
		}
		g.key(i, k)
		g.value(sub, path+"."+k, depth+1)
		i++
	}
	g.b = append(g.b, '}')
}

func requiredSet(s map[string]any) map[string]bool {
	list, _ := s["required"].([]any)
	set := make(map[string]bool, len(list))
	for _, r := range list {
		if name, ok := r.(string); ok {
			set[name] = true
		}
	}
	return set
}

func (g *schemaGen) key(i int, k string) {
	if i > 0 {
		g.b = append(g.b, ", "...)
	}
	g.b = append(jsonenc.AppendString(g.b, k), ": "...)
}

// mismatchObject writes the top-level input so that it violates the schema s.
func (g *schemaGen) mismatchObject(s map[string]any) {
	s = g.resolve(s)
	props, keys := sortedProperties(s)
	if len(keys) == 0 {
		g.b = jsonenc.AppendString(g.b, "bedrocktest: not an object")
		return
	}
	var required []string
	for name := range requiredSet(s) {
		if props[name] != nil {
			required = append(required, name)
		}
	}
	slices.Sort(required)
	g.b = append(g.b, '{')
	i := 0
	for _, k := range keys {
		sub, _ := props[k].(map[string]any)
		switch {
		case len(required) > 0 && k == required[0]:
			continue // left out
		case len(required) == 0 && k == keys[0]:
			g.key(i, k)
			if schemaType(g.resolve(sub)) == "string" {
				g.b = append(g.b, "42"...)
			} else {
				g.b = jsonenc.AppendString(g.b, "mismatch")
			}
		default:
			g.key(i, k)
			g.value(sub, "."+k, 1)
		}
		i++
	}
	g.b = append(g.b, '}')
}

func (g *schemaGen) array(s map[string]any, path string, depth int) {
	items, _ := s["items"].(map[string]any)
	n := 1 + pick(path, 2)
	if g.cyclic(items) {
		n = 0
	}
	if v, ok := number(s["minItems"]); ok {
		n = max(n, int(v))
	}
	if v, ok := number(s["maxItems"]); ok {
		n = min(n, int(v))
	}
	g.b = append(g.b, '[')
	for i := range max(n, 0) {
		if i > 0 {
			g.b = append(g.b, ", "...)
		}
		g.value(items, path+"."+strconv.Itoa(i), depth+1)
	}
	g.b = append(g.b, ']')
}

func (g *schemaGen) string(s map[string]any, path string) {
	word := g.words[pick(path, len(g.words))]
	var v string
	switch s["format"] {
	case "date":
		v = "2025-01-01"
	case "date-time":
		v = "2025-01-01T00:00:00Z"
	case "email":
		v = strings.ToLower(word) + "@example.com"
	case "uri", "url":
		v = "https://example.com/" + word
	case "uuid":
		v = "00000000-0000-4000-8000-" + strconv.FormatUint(fnv64a(path)>>16|1<<47, 16)[:12]
	default:
		v = word
		if m, ok := number(s["maxLength"]); ok && utf8.RuneCountInString(v) > int(m) {
			v = string([]rune(v)[:max(int(m), 0)])
		}
		if m, ok := number(s["minLength"]); ok {
			if pad := int(m) - utf8.RuneCountInString(v); pad > 0 {
				v += strings.Repeat("x", pad)
			}
		}
	}
	g.b = jsonenc.AppendString(g.b, v)
}

func (g *schemaGen) number(s map[string]any, path string, integer bool) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if v, ok := number(s["minimum"]); ok {
		lo = v
	}
	if v, ok := number(s["exclusiveMinimum"]); ok {
		lo = max(lo, math.Floor(v)+1)
	}
	if v, ok := number(s["maximum"]); ok {
		hi = v
	}
	if v, ok := number(s["exclusiveMaximum"]); ok {
		hi = min(hi, math.Ceil(v)-1)
	}
	v := float64(1 + pick(path, 9))
	if integer {
		lo, hi = math.Ceil(lo), math.Floor(hi)
	}
	v = max(lo, min(hi, v))
	if !integer && (v < lo || v > hi || math.IsInf(v, 0)) {
		v = (lo + hi) / 2 // a range too narrow for a whole number
	}
	g.b = strconv.AppendFloat(g.b, v, 'f', -1, 64)
}

// number reads a JSON number decoded with UseNumber.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// appendJSON writes a decoded JSON value in the spaced style of ToolInput.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return jsonenc.AppendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(jsonenc.AppendString(b, k), ": "...)
			b = appendJSON(b, v[k])
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}
