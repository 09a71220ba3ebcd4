package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadJobFile reads a YAML (or JSON) job file into cfg, on top of what cfg
// already holds: a key the file does not set leaves its field as it was,
// and a list replaces the field's list. ${NAME} references in scalar values
// are expanded from getenv (${NAME:-default} when NAME is empty or unset;
// $${ is a literal ${); an undefined variable is an error naming it, the
// key and the line. Unknown keys are errors naming the key and its line
// ("job.yaml:7: unknown key \"concurency\" (did you mean
// \"concurrency\"?)"), wrong types likewise ("job.yaml:9: max-tokens: want
// an integer, got \"lots\"").
//
// Every problem is reported at once, one "FILE:LINE: ..." a line, in a
// *ConfigError; on error cfg is left unchanged. LoadJobFile does not call
// cfg.Validate: the caller does that once flags have been applied on top.
func LoadJobFile(path string, getenv func(string) string, cfg *Config) error {
	_, err := LoadJobFileKeys(path, getenv, cfg)
	return err
}

// LoadJobFileKeys is LoadJobFile that also returns the set of keys the file
// set, so a caller can tell a value from the file from a default.
func LoadJobFileKeys(path string, getenv func(string) string, cfg *Config) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &ConfigError{Problems: []string{fmt.Sprintf("%s: cannot read job file: %v", path, err)}}
	}
	return parseJobFile(path, data, getenv, cfg)
}

// parseJobFile is LoadJobFileKeys on data already read; name is used in
// messages.
func parseJobFile(name string, data []byte, getenv func(string) string, cfg *Config) (map[string]bool, error) {
	fail := func(format string, args ...any) (map[string]bool, error) {
		return nil, &ConfigError{Problems: []string{name + ": " + fmt.Sprintf(format, args...)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail("empty job file: want a mapping of keys such as \"model: ...\"")
		}
		return nil, &ConfigError{Problems: []string{yamlProblem(name, data, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, &ConfigError{Problems: []string{yamlProblem(name, data, err)}}
		}
		return nil, &ConfigError{Problems: []string{fmt.Sprintf("%s:%d: a second YAML document: a job file holds one", name, extra.Line)}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return fail("empty job file: want a mapping of keys such as \"model: ...\"")
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{Problems: []string{fmt.Sprintf("%s:%d: a job file is a mapping of keys such as \"model: ...\", not %s", name, root.Line, describeNode(root))}}
	}

	p := jobParser{name: name, getenv: getenv}
	c := *cfg
	set := make(map[string]bool)
	firstLine := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		keyNode, value := root.Content[i], resolveAlias(root.Content[i+1])
		key := keyNode.Value
		if first, dup := firstLine[key]; dup {
			p.addf(keyNode, "key %q given twice (first on line %d)", key, first)
			continue
		}
		firstLine[key] = keyNode.Line
		opt, known := Lookup(key)
		if !known || opt.FlagOnly {
			if known {
				p.addf(keyNode, "%q is a command-line flag, not a job-file key", key)
				continue
			}
			if hint := suggestKey(key); hint != "" {
				p.addf(keyNode, "unknown key %q (did you mean %q?)", key, hint)
			} else {
				p.addf(keyNode, "unknown key %q", key)
			}
			continue
		}
		if p.decode(&c, opt, value) {
			set[key] = true
		}
	}
	if len(p.problems) > 0 {
		return nil, &ConfigError{Problems: p.problems}
	}
	*cfg = c
	return set, nil
}

// jobParser collects the problems of one job file.
type jobParser struct {
	name     string
	getenv   func(string) string
	problems []string
}

func (p *jobParser) addf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: ", p.name, n.Line)+fmt.Sprintf(format, args...))
}

// decode sets the option's field of c from its value node and reports
// whether it did. A list replaces what the field held; every value is
// parsed as its flag's would be.
func (p *jobParser) decode(c *Config, opt *Option, n *yaml.Node) bool {
	key := opt.Name
	if quotas, ok := opt.Field(c).(*map[string]ModelQuota); ok {
		return p.decodeQuotas(key, n, quotas)
	}
	items := []*yaml.Node{n}
	if opt.isList(c) {
		if n.Kind == yaml.SequenceNode {
			items = n.Content
		}
		if list, ok := opt.Field(c).(*[]string); ok {
			*list = nil
		}
	}
	good := true
	for _, item := range items {
		s, ok := p.scalar(key, resolveAlias(item), opt.want())
		if !ok {
			good = false
			continue
		}
		if err := opt.set(c, s); err != nil {
			p.addf(item, "%s: %v", key, err)
			good = false
		}
	}
	return good
}

// scalar returns the text of a scalar node with ${NAME} expanded, or
// records why it cannot.
func (p *jobParser) scalar(key string, n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.addf(n, "%s: want %s, got %s", key, want, describeNode(n))
		return "", false
	}
	if n.ShortTag() == "!!null" {
		p.addf(n, "%s: no value (leave the key out to keep the default)", key)
		return "", false
	}
	s, err := expandEnv(n.Value, p.getenv)
	if err != nil {
		p.addf(n, "%s: %v", key, err)
		return "", false
	}
	return s, true
}

// envName is what ${...} may hold: NAME or NAME:-default.
var envName = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(:-(.*))?$`)

// expandEnv replaces ${NAME} in s by getenv(NAME), ${NAME:-default} by the
// default when NAME is empty, and $${ by a literal ${. A variable that is
// empty or unset with no default is an error: getenv cannot tell them apart.
func expandEnv(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		at := strings.Index(s, "${")
		if at < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if at > 0 && s[at-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:at-1])
			b.WriteString("${")
			s = s[at+2:]
			continue
		}
		b.WriteString(s[:at])
		end := strings.IndexByte(s[at:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated %q: want ${NAME} (write $${ for a literal ${)", s[at:])
		}
		ref := s[at+2 : at+end]
		m := envName.FindStringSubmatch(ref)
		if m == nil {
			return "", fmt.Errorf("${%s}: not a variable name (write $${ for a literal ${)", ref)
		}
		value := ""
		if getenv != nil {
			value = getenv(m[1])
		}
		if value == "" {
			if m[2] == "" {
				return "", fmt.Errorf("environment variable %s is not set (or empty); give a default with ${%s:-VALUE}", m[1], m[1])
			}
			value = m[3]
		}
		b.WriteString(value)
		s = s[at+end+1:]
	}
}

// suggestKey returns the known key closest to an unknown one, or "".
func suggestKey(key string) string {
	normal := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	best, bestDist := "", 0
	for _, o := range Options {
		if o.Name == normal {
			return o.Name
		}
		d := editDistance(normal, o.Name)
		if best == "" || d < bestDist {
			best, bestDist = o.Name, d
		}
	}
	// Close enough to be a typo: up to a third of the key's letters, at
	// least one and at most three edits.
	if limit := min(max(len(best)/3, 1), 3); bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// resolveAlias follows a YAML alias (*name) to the node it refers to.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describeNode names what a node is, for "want X, got Y".
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "nothing"
	}
}

// yamlProblem names the file in a YAML syntax error. The message and its
// line are yaml.v3's own, as it gives them: rewriting its text would break
// silently when its wording changes. An unquoted value starting with * or
// & (a glob, where YAML expects an alias or an anchor) is pointed out
// from the file itself.
func yamlProblem(name string, data []byte, err error) string {
	problem := fmt.Sprintf("%s: %v", name, err)
	for i, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		if !ok || strings.HasPrefix(strings.TrimSpace(key), "#") || len(value) < 2 || (value[0] != '*' && value[0] != '&') {
			continue
		}
		if c := value[1]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			problem += fmt.Sprintf("\n%s:%d: a value that starts with %c must be quoted: %s: %q", name, i+1, value[0], strings.TrimSpace(key), value)
		}
	}
	return problem
}
