package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ModelQuota is one model's own quotas; 0 means "the job's default".
type ModelQuota struct {
	RequestsPerMinute int `json:"rpm,omitempty"`
	TokensPerMinute   int `json:"tpm,omitempty"`
	TokensPerDay      int `json:"tpd,omitempty"`
}

// SetQuota applies a --tpm, --rpm or --tpd value: "N" sets the default for
// every model, "MODEL_ID=N" that model's own.
func (c *Config) SetQuota(kind, value string) error {
	model, number, perModel := strings.Cut(value, "=")
	if !perModel {
		number, model = model, ""
	}
	n64, err := parseInt(strings.TrimSpace(number), strconv.IntSize)
	if err != nil || n64 < 0 {
		return fmt.Errorf("want N or MODEL_ID=N, N a whole number (0 = no limit), got %q", value)
	}
	n := int(n64)
	if perModel && strings.TrimSpace(model) == "" {
		return fmt.Errorf("no model id before '=' in %q", value)
	}
	if !perModel {
		switch kind {
		case "rpm":
			c.RequestsPerMinute = n
		case "tpm":
			c.TokensPerMinute = n
		case "tpd":
			c.TokensPerDay = n
		}
		return nil
	}
	if c.Quotas == nil {
		c.Quotas = make(map[string]ModelQuota)
	}
	q := c.Quotas[model]
	switch kind {
	case "rpm":
		q.RequestsPerMinute = n
	case "tpm":
		q.TokensPerMinute = n
	case "tpd":
		q.TokensPerDay = n
	}
	c.Quotas[model] = q
	return nil
}

// QuotaFor is a model's quotas: its own, and the job's for any it has not.
func (c *Config) QuotaFor(model string) ModelQuota {
	q := c.Quotas[model]
	if q.RequestsPerMinute == 0 {
		q.RequestsPerMinute = c.RequestsPerMinute
	}
	if q.TokensPerMinute == 0 {
		q.TokensPerMinute = c.TokensPerMinute
	}
	if q.TokensPerDay == 0 {
		q.TokensPerDay = c.TokensPerDay
	}
	return q
}

// QuotaModels lists the models with quotas of their own, sorted.
func (c *Config) QuotaModels() []string {
	ids := make([]string, 0, len(c.Quotas))
	for id := range c.Quotas {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// decodeQuotas reads a job file's quotas map:
//
//	quotas:
//	  us.anthropic.claude-sonnet-4-20250514-v1:0: {tpm: 200000, tpd: 144000000}
func (p *jobParser) decodeQuotas(key string, n *yaml.Node, quotas *map[string]ModelQuota) bool {
	if n.Kind != yaml.MappingNode {
		p.addf(n, "%s: want a map of model id to {rpm, tpm, tpd}, got %s", key, describeNode(n))
		return false
	}
	out := make(map[string]ModelQuota)
	good := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		modelNode, valueNode := n.Content[i], resolveAlias(n.Content[i+1])
		model, ok := p.scalar(key, modelNode, "a model id")
		if !ok {
			good = false
			continue
		}
		if valueNode.Kind != yaml.MappingNode {
			p.addf(valueNode, "%s: %s: want {rpm: N, tpm: N, tpd: N}, got %s", key, model, describeNode(valueNode))
			good = false
			continue
		}
		var q ModelQuota
		for j := 0; j+1 < len(valueNode.Content); j += 2 {
			name := valueNode.Content[j].Value
			var field *int
			switch name {
			case "rpm":
				field = &q.RequestsPerMinute
			case "tpm":
				field = &q.TokensPerMinute
			case "tpd":
				field = &q.TokensPerDay
			default:
				p.addf(valueNode.Content[j], "%s: %s: unknown key %q (want rpm, tpm or tpd)", key, model, name)
				good = false
				continue
			}
			sub := key + "." + model + "." + name
			n := resolveAlias(valueNode.Content[j+1])
			text, ok := p.scalar(sub, n, "an integer")
			if !ok {
				good = false
				continue
			}
			if err := setField(field, text); err != nil {
				p.addf(n, "%s: %v", sub, err)
				good = false
			}
		}
		out[model] = q
	}
	if good {
		*quotas = out
	}
	return good
}
