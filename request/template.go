package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// cachePointMark is what {{cachePoint}} renders: Render splits the text
// there and puts a cachePoint block between the parts. A NUL cannot come
// from a record's JSON text unescaped, and Render refuses fields holding one.
const cachePointMark = "\x00cachePoint\x00"

// Template renders a user prompt from a record's fields with Go's
// text/template. Its functions are a small pure set: no file, environment
// or network access.
type Template struct {
	name   string
	tmpl   *template.Template
	fields []string // fields used outside if/with/range, required
}

// ParseTemplateFile reads and parses a template file.
func ParseTemplateFile(path string) (*Template, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return ParseTemplate(filepath.Base(path), string(text))
}

// ParseTemplate parses a template; name is used in error messages.
func ParseTemplate(name, text string) (*Template, error) {
	tmpl, err := template.New(name).Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	t := &Template{name: name, tmpl: tmpl}
	t.fields = requiredFields(tmpl.Tree.Root)
	return t, nil
}

// Fields are the record fields the template needs unconditionally.
func (t *Template) Fields() []string { return t.fields }

// Render renders the prompt for rec as text blocks, split at each
// {{cachePoint}} with a cachePoint block between the parts.
func (t *Template) Render(rec *reader.Record) ([]bedrock.Block, error) {
	fail := func(field, reason string) error {
		return &Error{Origin: rec.Origin, Field: field, Type: ErrorTypeTemplate, Reason: reason}
	}
	for _, f := range t.fields {
		if _, ok := rec.Fields[f]; !ok {
			return nil, fail(f, "missing, and the template "+t.name+" uses it")
		}
	}
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, rec.Fields); err != nil {
		return nil, fail("", "template "+strings.TrimPrefix(err.Error(), "template: "))
	}
	if !utf8.Valid(buf.Bytes()) {
		return nil, fail("", "template "+t.name+" rendered invalid UTF-8")
	}
	parts := strings.Split(buf.String(), cachePointMark)
	var blocks []bedrock.Block
	for i, p := range parts {
		if strings.ContainsRune(p, 0) {
			return nil, fail("", "template "+t.name+" rendered a NUL character")
		}
		if i > 0 && len(blocks) > 0 {
			blocks = append(blocks, bedrock.Block{CachePoint: true})
		}
		if strings.TrimSpace(p) != "" {
			blocks = append(blocks, bedrock.Block{Text: p})
		}
	}
	if len(blocks) == 0 || blocks[len(blocks)-1].CachePoint && len(blocks) == 1 {
		return nil, fail("", "template "+t.name+" rendered an empty prompt")
	}
	return blocks, nil
}

// funcs are the template's functions: text shaping only.
var funcs = template.FuncMap{
	"cachePoint": func() string { return cachePointMark },
	"trim":       func(v any) string { return strings.TrimSpace(toString(v)) },
	"upper":      func(v any) string { return strings.ToUpper(toString(v)) },
	"lower":      func(v any) string { return strings.ToLower(toString(v)) },
	"replace":    func(old, new string, v any) string { return strings.ReplaceAll(toString(v), old, new) },
	"truncate": func(n int, v any) string {
		s := toString(v)
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		return string([]rune(s)[:n])
	},
	"join": func(sep string, v any) string {
		list, ok := v.([]any)
		if !ok {
			return toString(v)
		}
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = toString(x)
		}
		return strings.Join(parts, sep)
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
}

// toString prints a field value as a prompt shows it.
func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// requiredFields lists the top-level fields the template reads outside
// if/with/range, where a missing field is the record's fault: checking them
// first gives an error that names the field.
func requiredFields(root *parse.ListNode) []string {
	seen := map[string]bool{}
	var fields []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if isDefaultCall(n) {
				return // {{default "x" .field}} tolerates a missing field
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if f := n.Ident[0]; !seen[f] {
				seen[f] = true
				fields = append(fields, f)
			}
		}
	}
	walk(root)
	return fields
}

func isDefaultCall(n *parse.CommandNode) bool {
	id, ok := n.Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == "default"
}
