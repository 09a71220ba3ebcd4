// Package prices estimates what tokens cost: on-demand and batch-inference
// prices per model-id pattern, from the shipped prices.json or a user's
// file.
package prices

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/modelid"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// Price is what a model costs, in USD per 1,000 tokens of each kind.
type Price struct {
	InputPer1K      float64
	OutputPer1K     float64
	CacheReadPer1K  float64
	CacheWritePer1K float64
	// BatchInputPer1K and BatchOutputPer1K are the batch-inference prices;
	// a price file that gives none gets half the on-demand ones, the
	// discount Bedrock batch inference has for the models it serves.
	BatchInputPer1K  float64
	BatchOutputPer1K float64
}

// BatchDiscount is the batch-inference price as a share of on-demand, for
// a model whose price entry gives no batch prices.
const BatchDiscount = 0.5

// BatchCost is the batch-inference price of t.
func (p Price) BatchCost(t tally.Tokens) float64 {
	return (float64(t.Input+t.CacheRead+t.CacheWrite)*p.BatchInputPer1K + float64(t.Output)*p.BatchOutputPer1K) / 1000
}

// Cost is the price of t in USD. t.Input is the uncached input, as Bedrock
// reports it: cache reads and writes are counted apart, and t.Total is not
// used.
func (p Price) Cost(t tally.Tokens) float64 {
	return (float64(t.Input)*p.InputPer1K +
		float64(t.Output)*p.OutputPer1K +
		float64(t.CacheRead)*p.CacheReadPer1K +
		float64(t.CacheWrite)*p.CacheWritePer1K) / 1000
}

// String prints the price per 1,000 tokens.
func (p Price) String() string {
	return fmt.Sprintf("$%g in, $%g out, $%g cache read, $%g cache write per 1K tokens",
		p.InputPer1K, p.OutputPer1K, p.CacheReadPer1K, p.CacheWritePer1K)
}

// Prices is a price table keyed by model-id patterns: a user's entries, if
// any, over the shipped defaults. It is read-only, so safe for concurrent
// use.
type Prices struct {
	layers [][]priceEntry // the first layer with a match wins
}

// priceEntry is one pattern of a price file.
type priceEntry struct {
	pattern string
	literal int // characters other than *: the more, the more specific
	price   Price
	source  string
	asOf    string
}

//go:embed prices.json
var defaultPricesJSON []byte

var defaultPrices = sync.OnceValues(func() (*Prices, error) {
	layer, err := parsePrices("prices.json (embedded)", defaultPricesJSON)
	if err != nil {
		return nil, err
	}
	return &Prices{layers: [][]priceEntry{layer}}, nil
})

// DefaultPrices returns the shipped table of on-demand prices (prices.json
// in this package; every entry names its source and date). Every call
// returns the same table.
func DefaultPrices() (*Prices, error) { return defaultPrices() }

// LoadPrices reads a price file of the same JSON shape as the shipped one
// ({"prices": [{"pattern": ..., "input_per_1k": ..., ...}]}) over the
// defaults: for a model its entries match, they win over every default;
// other models keep the default price. An empty path gives the defaults.
// Problems with the file are one error, a line each.
func LoadPrices(path string) (*Prices, error) {
	defaults, err := DefaultPrices()
	if err != nil || path == "" {
		return defaults, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read price file: %w", path, err)
	}
	layer, err := parsePrices(path, data)
	if err != nil {
		return nil, err
	}
	return &Prices{layers: append([][]priceEntry{layer}, defaults.layers...)}, nil
}

// Lookup returns the price of modelID: a model id
// (anthropic.claude-3-5-haiku-20241022-v1:0), an inference-profile id
// (us.anthropic.claude-...), or an ARN ending in either. A pattern is
// tried against the id as given, then without its inference-profile
// prefix (us., eu., apac., global., ...), so a pattern of the bare id
// covers every profile of the model and a prefixed pattern can price one
// profile apart. Among the matches of a table the most specific pattern
// (most characters other than *) wins.
func (p *Prices) Lookup(modelID string) (Price, bool) {
	if p == nil {
		return Price{}, false
	}
	ids := modelid.Forms(modelID)
	for _, layer := range p.layers {
		for _, id := range ids {
			if e := bestMatch(layer, id); e != nil {
				return e.price, true
			}
		}
	}
	return Price{}, false
}

// bestMatch returns the most specific entry of layer whose pattern matches
// id, the first listed among equals, or nil.
func bestMatch(layer []priceEntry, id string) *priceEntry {
	var best *priceEntry
	for i := range layer {
		e := &layer[i]
		if (best == nil || e.literal > best.literal) && modelid.Glob(e.pattern, id) {
			best = e
		}
	}
	return best
}

// priceFile is the JSON shape of prices.json and of a user's price file.
type priceFile struct {
	Note   string           `json:"note,omitempty"`
	Prices []priceFileEntry `json:"prices"`
}

type priceFileEntry struct {
	Pattern          string   `json:"pattern"`
	InputPer1K       *float64 `json:"input_per_1k"`
	OutputPer1K      *float64 `json:"output_per_1k"`
	CacheReadPer1K   *float64 `json:"cache_read_per_1k,omitempty"`   // default: the input price
	CacheWritePer1K  *float64 `json:"cache_write_per_1k,omitempty"`  // default: the input price
	BatchInputPer1K  *float64 `json:"batch_input_per_1k,omitempty"`  // default: BatchDiscount x the input price
	BatchOutputPer1K *float64 `json:"batch_output_per_1k,omitempty"` // default: BatchDiscount x the output price
	Source           string   `json:"source,omitempty"`
	AsOf             string   `json:"as_of,omitempty"`
	Note             string   `json:"note,omitempty"` // the model's lifecycle and other context; not used
}

// parsePrices parses and checks a price file; name is used in messages.
// Input and output prices are required; a cache price left out is the
// input price (cache tokens priced as if uncached).
func parsePrices(name string, data []byte) ([]priceEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var file priceFile
	if err := dec.Decode(&file); err != nil {
		return nil, errors.New(jsonProblem(name, data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New(name + `: text after the price table's closing "}"`)
	}
	var problems []string
	if len(file.Prices) == 0 {
		problems = append(problems, name+`: no prices: want {"prices": [{"pattern": "...", "input_per_1k": ..., "output_per_1k": ...}]}`)
	}
	seen := make(map[string]int)
	entries := make([]priceEntry, 0, len(file.Prices))
	for n, f := range file.Prices {
		add := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s: prices[%d] (%q): ", name, n, f.Pattern)+fmt.Sprintf(format, args...))
		}
		pattern := strings.ToLower(strings.TrimSpace(f.Pattern))
		if pattern == "" {
			add("no pattern")
		} else if first, dup := seen[pattern]; dup {
			add("pattern listed twice (first at prices[%d])", first)
		}
		seen[pattern] = n
		price := func(field string, v *float64, fallback *float64) float64 {
			switch {
			case v == nil && fallback != nil:
				return *fallback // checked as itself
			case v == nil && strings.HasPrefix(field, "cache_"):
				return 0 // falls back to an input price that is missing: said once
			case v == nil:
				add("no %s", field)
				return 0
			}
			if *v < 0 || math.IsInf(*v, 0) || math.IsNaN(*v) {
				add("%s %g: want a price of 0 or more", field, *v)
			}
			return *v
		}
		e := priceEntry{
			pattern: pattern,
			literal: len(pattern) - strings.Count(pattern, "*"),
			source:  f.Source,
			asOf:    f.AsOf,
			price: Price{
				InputPer1K:      price("input_per_1k", f.InputPer1K, nil),
				OutputPer1K:     price("output_per_1k", f.OutputPer1K, nil),
				CacheReadPer1K:  price("cache_read_per_1k", f.CacheReadPer1K, f.InputPer1K),
				CacheWritePer1K: price("cache_write_per_1k", f.CacheWritePer1K, f.InputPer1K),
			},
		}
		e.price.BatchInputPer1K = BatchDiscount * e.price.InputPer1K
		if f.BatchInputPer1K != nil {
			e.price.BatchInputPer1K = price("batch_input_per_1k", f.BatchInputPer1K, nil)
		}
		e.price.BatchOutputPer1K = BatchDiscount * e.price.OutputPer1K
		if f.BatchOutputPer1K != nil {
			e.price.BatchOutputPer1K = price("batch_output_per_1k", f.BatchOutputPer1K, nil)
		}
		entries = append(entries, e)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return entries, nil
}

// jsonProblem says where in data a JSON decoding error is: "FILE:LINE: ...".
func jsonProblem(name string, data []byte, err error) string {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if typ != nil {
		want := "a " + typ.Type.Kind().String()
		switch typ.Type.Kind() {
		case reflect.Float64:
			want = "a number"
		case reflect.Slice:
			want = "a list"
		case reflect.Struct:
			want = "an object"
		}
		msg = fmt.Sprintf("%s: want %s, got a JSON %s", typ.Field, want, typ.Value)
	}
	if errors.Is(err, io.EOF) {
		msg = "empty price file"
	}
	if offset < 0 {
		return fmt.Sprintf("%s: %s", name, msg)
	}
	offset = min(offset, int64(len(data)))
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	return fmt.Sprintf("%s:%d: %s", name, line, msg)
}

// ModelCost is what one model's rows cost: their batch-inference rows at
// the batch price and the rest on demand, and what all of them would have
// cost on demand; ok is false when the model has no price.
func (p *Prices) ModelCost(modelID string, t *tally.ModelTotals) (cost, onDemand float64, ok bool) {
	price, ok := p.Lookup(modelID)
	if !ok {
		return 0, 0, false
	}
	onDemand = price.Cost(t.Tokens)
	cost = onDemand
	if t.Batch != nil {
		cost = price.Cost(t.Tokens.Minus(t.Batch.Tokens)) + price.BatchCost(t.Batch.Tokens)
	}
	return cost, onDemand, true
}

// TotalCost is what the rows of t cost, over the models with a price;
// complete is false when some model's rows have none.
func (p *Prices) TotalCost(t tally.Totals) (usd float64, complete bool) {
	complete = true
	for id, m := range t.Models {
		cost, _, ok := p.ModelCost(id, m)
		if !ok {
			complete = complete && m.Records == 0
			continue
		}
		usd += cost
	}
	return usd, complete
}
