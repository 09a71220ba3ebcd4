package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

// jobKeys maps each job-file key, the name of the `batch run` flag, to the
// Config field it sets. The field's type decides what the key accepts:
//
//	string          a scalar
//	[]string        a scalar or a list of scalars
//	int, *int32     an integer (*int32: set only when given, so 0 is sent)
//	*float32        a number (likewise)
//	time.Duration   a Go duration such as "90s" or "5m"
//	bool            true or false (also yes/no, on/off)
//	Shard           "I/N", such as "2/8"
//
// Adding a key is one line here.
var jobKeys = []struct {
	name  string
	field func(*Config) any
}{
	{"input", func(c *Config) any { return &c.Inputs }},
	{"input-format", func(c *Config) any { return &c.InputFormat }},
	{"output", func(c *Config) any { return &c.Output }},
	{"output-format", func(c *Config) any { return &c.OutputFormat }},
	{"model", func(c *Config) any { return &c.ModelID }},
	{"system", func(c *Config) any { return &c.System }},
	{"max-tokens", func(c *Config) any { return &c.MaxTokens }},
	{"temperature", func(c *Config) any { return &c.Temperature }},
	{"top-p", func(c *Config) any { return &c.TopP }},
	{"stop", func(c *Config) any { return &c.StopSequences }},
	{"concurrency", func(c *Config) any { return &c.Concurrency }},
	{"rpm", func(c *Config) any { return &c.RequestsPerMinute }},
	{"tpm", func(c *Config) any { return &c.TokensPerMinute }},
	{"max-attempts", func(c *Config) any { return &c.MaxAttempts }},
	{"request-timeout", func(c *Config) any { return &c.RequestTimeout }},
	{"grace", func(c *Config) any { return &c.Grace }},
	{"commit-interval", func(c *Config) any { return &c.CommitInterval }},
	{"region", func(c *Config) any { return &c.Region }},
	{"bedrock-endpoint", func(c *Config) any { return &c.BedrockEndpoint }},
	{"s3-endpoint", func(c *Config) any { return &c.S3Endpoint }},
	{"s3-path-style", func(c *Config) any { return &c.S3PathStyle }},
	{"shard", func(c *Config) any { return &c.Shard }},
	{"retry-errors", func(c *Config) any { return &c.RetryErrors }},
	{"prices", func(c *Config) any { return &c.PricesFile }},
	{"additional-fields", func(c *Config) any { return &c.AdditionalFields }},
	{"stream", func(c *Config) any { return &c.Stream }},
	{"template", func(c *Config) any { return &c.TemplateFile }},
	{"id-field", func(c *Config) any { return &c.IDField }},
	{"prompt-field", func(c *Config) any { return &c.PromptField }},
	{"document-field", func(c *Config) any { return &c.DocumentFields }},
	{"image-field", func(c *Config) any { return &c.ImageFields }},
	{"system-file", func(c *Config) any { return &c.SystemFile }},
	{"cache-system", func(c *Config) any { return &c.CacheSystem }},
	{"service-tier", func(c *Config) any { return &c.ServiceTier }},
	{"latency", func(c *Config) any { return &c.Latency }},
	{"guardrail", func(c *Config) any { return &c.Guardrail }},
	{"guardrail-trace", func(c *Config) any { return &c.GuardrailTrace }},
	{"json-schema", func(c *Config) any { return &c.JSONSchemaFile }},
	{"schema-attempts", func(c *Config) any { return &c.SchemaAttempts }},
	{"s3-location-models", func(c *Config) any { return &c.S3LocationModels }},
	{"output-style", func(c *Config) any { return &c.OutputStyle }},
	{"tpd", func(c *Config) any { return &c.TokensPerDay }},
	{"count-tokens", func(c *Config) any { return &c.CountTokens }},
	{"route", func(c *Config) any { return &c.Route }},
	{"role-arn", func(c *Config) any { return &c.RoleARN }},
	{"staging", func(c *Config) any { return &c.Staging }},
	{"deadline", func(c *Config) any { return &c.Deadline }},
	{"deadline-margin", func(c *Config) any { return &c.DeadlineMargin }},
	{"batch-min-records", func(c *Config) any { return &c.BatchMinRecords }},
	{"batch-max-records", func(c *Config) any { return &c.BatchMaxRecords }},
	{"batch-poll", func(c *Config) any { return &c.BatchPoll }},
	{"batch-resubmit", func(c *Config) any { return &c.BatchResubmit }},
	{"bedrock-control-endpoint", func(c *Config) any { return &c.ControlEndpoint }},
	{"quotas", func(c *Config) any { return &c.Quotas }},
	{"burndown", func(c *Config) any { return &c.Burndown }},
	{"stop-after-errors", func(c *Config) any { return &c.StopAfterErrors }},
}

// JobFileKeys returns the keys a job file may hold, the names of the
// `batch run` flags they stand for.
func JobFileKeys() []string {
	keys := make([]string, len(jobKeys))
	for i, k := range jobKeys {
		keys[i] = k.name
	}
	return keys
}

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
		return nil, &ConfigError{Problems: []string{yamlProblem(name, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, &ConfigError{Problems: []string{yamlProblem(name, err)}}
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
		field := fieldFor(&c, key)
		if field == nil {
			if hint := suggestKey(key); hint != "" {
				p.addf(keyNode, "unknown key %q (did you mean %q?)", key, hint)
			} else {
				p.addf(keyNode, "unknown key %q", key)
			}
			continue
		}
		if p.decode(key, value, field) {
			set[key] = true
		}
	}
	if len(p.problems) > 0 {
		return nil, &ConfigError{Problems: p.problems}
	}
	*cfg = c
	return set, nil
}

// fieldFor returns a pointer to the field of c that key sets, or nil.
func fieldFor(c *Config, key string) any {
	for _, k := range jobKeys {
		if k.name == key {
			return k.field(c)
		}
	}
	return nil
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

// decode sets *field from the value node of key and reports whether it did.
func (p *jobParser) decode(key string, n *yaml.Node, field any) bool {
	if quotas, ok := field.(*map[string]ModelQuota); ok {
		return p.decodeQuotas(key, n, quotas)
	}
	if list, ok := field.(*[]string); ok {
		if n.Kind != yaml.SequenceNode {
			s, ok := p.scalar(key, n, "a string or a list of strings")
			if ok {
				*list = []string{s}
			}
			return ok
		}
		values := make([]string, 0, len(n.Content))
		good := true
		for _, item := range n.Content {
			s, ok := p.scalar(key, resolveAlias(item), "a string")
			good = good && ok
			values = append(values, s)
		}
		if good {
			*list = values
		}
		return good
	}

	var want string
	switch field.(type) {
	case *string:
		want = "a string"
	case *int, **int32:
		want = "an integer"
	case **float32:
		want = "a number"
	case *time.Duration:
		want = `a duration such as "90s"`
	case *bool:
		want = "true or false"
	case *shard.Shard:
		want = `"I/N" such as "2/8"`
	default:
		panic(fmt.Sprintf("jobs: key %q has a field of type %T that the job file cannot set", key, field))
	}
	s, ok := p.scalar(key, n, want)
	if !ok {
		return false
	}
	bad := func() bool { p.addf(n, "%s: want %s, got %q", key, want, s); return false }
	badInt := func(err error) bool {
		if errors.Is(err, strconv.ErrRange) {
			p.addf(n, "%s: %s is out of range", key, s)
			return false
		}
		return bad()
	}
	switch f := field.(type) {
	case *string:
		*f = s
	case *int:
		v, err := parseInt(s, strconv.IntSize)
		if err != nil {
			return badInt(err)
		}
		*f = int(v)
	case **int32:
		v, err := parseInt(s, 32)
		if err != nil {
			return badInt(err)
		}
		v32 := int32(v)
		*f = &v32
	case **float32:
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return bad()
		}
		v32 := float32(v)
		*f = &v32
	case *time.Duration:
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return bad()
		}
		*f = v
	case *bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "on":
			*f = true
		case "false", "no", "off":
			*f = false
		default:
			return bad()
		}
	case *shard.Shard:
		owner, problem := parseJobShard(s)
		if problem != "" {
			p.addf(n, "%s %q: %s", key, s, problem)
			return false
		}
		*f = owner
	}
	return true
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

// parseInt parses a decimal integer; YAML's digit separators (2_000_000)
// are allowed.
func parseInt(s string, bits int) (int64, error) {
	return strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, bits)
}

// parseJobShard parses "I/N" with 0 <= I < N, or says what is wrong with
// it, in more detail than ParseShard for a job file's line.
func parseJobShard(s string) (shard.Shard, string) {
	index, count, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return shard.Shard{}, `want "I/N" such as "2/8" (shard I of N, counting from 0)`
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(index))
	n, err2 := strconv.Atoi(strings.TrimSpace(count))
	switch {
	case err1 != nil || err2 != nil:
		return shard.Shard{}, `want "I/N" with whole numbers, such as "2/8"`
	case n < 1:
		return shard.Shard{}, "the count N must be at least 1"
	case i < 0 || i >= n:
		return shard.Shard{}, fmt.Sprintf("the index must be from 0 to %d (shards count from 0)", n-1)
	}
	return shard.Shard{Index: i, Count: n}, ""
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
	for _, k := range jobKeys {
		if k.name == normal {
			return k.name
		}
		d := editDistance(normal, k.name)
		if best == "" || d < bestDist {
			best, bestDist = k.name, d
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

// yamlLine matches the line in the YAML parser's messages.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner), whose line numbers count from 0 where the scanner's count
// from 1 (gopkg.in/yaml.v3 v3.0.1, decode.go, parser.fail).
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// isYAMLReaderProblem reports whether msg is an encoding error of yaml.v3's
// reader, which has no line.
func isYAMLReaderProblem(msg string) bool {
	for _, prefix := range []string{"invalid ", "incomplete UTF-8", "control characters", "input error"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// yamlProblem turns a YAML syntax error into "FILE:LINE: message".
func yamlProblem(name string, err error) string {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Sprintf("%s: %v", name, err)
	}
	line, msg := 0, m[2]
	if m[1] != "" {
		line, _ = strconv.Atoi(m[1])
	}
	switch {
	case yamlParserProblems[msg]:
		line++
	case line == 0 && !isYAMLReaderProblem(msg):
		line = 1 // the scanner leaves out line 1
	}
	if msg == "did not find expected alphabetic or numeric character" {
		msg += ` (a value that starts with * or & must be quoted: input: "data/*.jsonl")`
	}
	if line == 0 {
		return fmt.Sprintf("%s: %s", name, msg)
	}
	return fmt.Sprintf("%s:%d: %s", name, line, msg)
}
