package prices

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/tally"
)

func TestDefaultPricesLookup(t *testing.T) {
	prices, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	haiku35 := Price{InputPer1K: 0.0008, OutputPer1K: 0.004, CacheReadPer1K: 0.00008, CacheWritePer1K: 0.001}
	sonnet := Price{InputPer1K: 0.003, OutputPer1K: 0.015, CacheReadPer1K: 0.0003, CacheWritePer1K: 0.00375}
	tests := []struct {
		name  string
		model string
		want  Price
		found bool
	}{
		{"bare id", "anthropic.claude-3-5-haiku-20241022-v1:0", haiku35, true},
		{"us profile", "us.anthropic.claude-3-5-haiku-20241022-v1:0", haiku35, true},
		{"eu profile", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", sonnet, true},
		{"apac profile", "apac.anthropic.claude-sonnet-4-20250514-v1:0", sonnet, true},
		{"foundation-model ARN", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0", haiku35, true},
		{"inference-profile ARN", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0", haiku35, true},
		{"upper case and spaces", "  US.Anthropic.Claude-3-5-Haiku-20241022-v1:0 ", haiku35, true},
		{"context-length variant", "anthropic.claude-3-haiku-20240307-v1:0:200k",
			Price{InputPer1K: 0.00025, OutputPer1K: 0.00125, CacheReadPer1K: 0.00025, CacheWritePer1K: 0.00025}, true},
		{"3.5 Sonnet v1 has no cache prices", "anthropic.claude-3-5-sonnet-20240620-v1:0",
			Price{InputPer1K: 0.003, OutputPer1K: 0.015, CacheReadPer1K: 0.003, CacheWritePer1K: 0.003}, true},
		{"3.5 Sonnet v2", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", sonnet, true},
		{"Sonnet 4 is not Sonnet 4.5", "anthropic.claude-sonnet-4-20250514-v1:0", sonnet, true},
		{"Sonnet 4.5 global", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", sonnet, true},
		{"Sonnet 4.5 geo profile costs 10% more", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			Price{InputPer1K: 0.0033, OutputPer1K: 0.0165, CacheReadPer1K: 0.00033, CacheWritePer1K: 0.004125}, true},
		{"Opus 4", "us.anthropic.claude-opus-4-20250514-v1:0",
			Price{InputPer1K: 0.015, OutputPer1K: 0.075, CacheReadPer1K: 0.0015, CacheWritePer1K: 0.01875}, true},
		{"Opus 4.1", "us.anthropic.claude-opus-4-1-20250805-v1:0",
			Price{InputPer1K: 0.015, OutputPer1K: 0.075, CacheReadPer1K: 0.0015, CacheWritePer1K: 0.01875}, true},
		{"Nova Micro", "us.amazon.nova-micro-v1:0",
			Price{InputPer1K: 0.000035, OutputPer1K: 0.00014, CacheReadPer1K: 0.00000875, CacheWritePer1K: 0.000035}, true},
		{"Nova Pro is not Nova Premier", "amazon.nova-pro-v1:0",
			Price{InputPer1K: 0.0008, OutputPer1K: 0.0032, CacheReadPer1K: 0.0002, CacheWritePer1K: 0.0008}, true},
		{"Llama 3 8B is not Llama 3.1 8B", "meta.llama3-8b-instruct-v1:0",
			Price{InputPer1K: 0.0003, OutputPer1K: 0.0006, CacheReadPer1K: 0.0003, CacheWritePer1K: 0.0003}, true},
		{"Llama 3.1 8B", "us.meta.llama3-1-8b-instruct-v1:0",
			Price{InputPer1K: 0.00022, OutputPer1K: 0.00022, CacheReadPer1K: 0.00022, CacheWritePer1K: 0.00022}, true},
		{"Mistral Large 2", "mistral.mistral-large-2407-v1:0",
			Price{InputPer1K: 0.002, OutputPer1K: 0.006, CacheReadPer1K: 0.002, CacheWritePer1K: 0.002}, true},
		{"Sonnet 4.6 global", "global.anthropic.claude-sonnet-4-6", sonnet, true},
		{"Sonnet 4.6 geographic costs 10% more", "eu.anthropic.claude-sonnet-4-6",
			Price{InputPer1K: 0.0033, OutputPer1K: 0.0165, CacheReadPer1K: 0.00033, CacheWritePer1K: 0.004125}, true},
		{"Sonnet 5.5 is not Sonnet 5", "global.anthropic.claude-sonnet-5-5",
			Price{InputPer1K: 0.002, OutputPer1K: 0.01, CacheReadPer1K: 0.0001, CacheWritePer1K: 0.0025}, true},
		{"Sonnet 5", "global.anthropic.claude-sonnet-5",
			Price{InputPer1K: 0.002, OutputPer1K: 0.01, CacheReadPer1K: 0.0002, CacheWritePer1K: 0.0025}, true},
		{"Opus 5.5 has no batch discount", "us.anthropic.claude-opus-5-5",
			Price{InputPer1K: 0.0044, OutputPer1K: 0.022, CacheReadPer1K: 0.00022, CacheWritePer1K: 0.0055, BatchInputPer1K: 0.0044, BatchOutputPer1K: 0.022}, true},
		{"Haiku 5.5", "global.anthropic.claude-haiku-5-5",
			Price{InputPer1K: 0.0001, OutputPer1K: 0.0005, CacheReadPer1K: 0.00001, CacheWritePer1K: 0.000125}, true},
		{"Fable 5.1 is not Fable 5", "us.anthropic.claude-fable-5-1",
			Price{InputPer1K: 0.01, OutputPer1K: 0.05, CacheReadPer1K: 0.00025, CacheWritePer1K: 0.0125, BatchInputPer1K: 0.01, BatchOutputPer1K: 0.05}, true},
		{"Opus 4.8 global", "global.anthropic.claude-opus-4-8",
			Price{InputPer1K: 0.005, OutputPer1K: 0.025, CacheReadPer1K: 0.0005, CacheWritePer1K: 0.00625}, true},
		{"Nova 2 Lite is not Nova Lite", "us.amazon.nova-2-lite-v1:0",
			Price{InputPer1K: 0.00033, OutputPer1K: 0.00275, CacheReadPer1K: 0.0000825, CacheWritePer1K: 0.00033, BatchInputPer1K: 0.0001595, BatchOutputPer1K: 0.001342}, true},
		{"Nova 2 Lite global", "global.amazon.nova-2-lite-v1:0",
			Price{InputPer1K: 0.0003, OutputPer1K: 0.0025, CacheReadPer1K: 0.000075, CacheWritePer1K: 0.0003, BatchInputPer1K: 0.00015, BatchOutputPer1K: 0.00125}, true},
		{"Mistral Large 3 is not Mistral Large 2", "mistral.mistral-large-3-675b-instruct",
			Price{InputPer1K: 0.0005, OutputPer1K: 0.0015, CacheReadPer1K: 0.0005, CacheWritePer1K: 0.0005}, true},
		{"GPT-5.6 Terra global", "global.openai.gpt-5.6-terra",
			Price{InputPer1K: 0.002, OutputPer1K: 0.012, CacheReadPer1K: 0.002, CacheWritePer1K: 0.002, BatchInputPer1K: 0.002, BatchOutputPer1K: 0.012}, true},
		{"gpt-oss is not GPT-5.6", "openai.gpt-oss-20b-1:0",
			Price{InputPer1K: 0.00007, OutputPer1K: 0.0003, CacheReadPer1K: 0.00007, CacheWritePer1K: 0.00007}, true},
		{"unknown model", "acme.frontier-9000-v1:0", Price{}, false},
		{"unknown prefix of a known model's name", "anthropic.claude-instant-v1", Price{}, false},
		{"application inference profile", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6", Price{}, false},
		{"empty", "", Price{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := prices.Lookup(tt.model)
			if found != tt.found || !closePrice(got, tt.want) {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.model, got, found, tt.want, tt.found)
			}
		})
	}
}

// closePrice compares prices; a want without batch prices expects the
// default, BatchDiscount of the on-demand ones.
func closePrice(a, b Price) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-12 }
	if b.BatchInputPer1K == 0 && b.BatchOutputPer1K == 0 {
		b.BatchInputPer1K, b.BatchOutputPer1K = BatchDiscount*b.InputPer1K, BatchDiscount*b.OutputPer1K
	}
	return near(a.InputPer1K, b.InputPer1K) && near(a.OutputPer1K, b.OutputPer1K) &&
		near(a.CacheReadPer1K, b.CacheReadPer1K) && near(a.CacheWritePer1K, b.CacheWritePer1K) &&
		near(a.BatchInputPer1K, b.BatchInputPer1K) && near(a.BatchOutputPer1K, b.BatchOutputPer1K)
}

func TestNilPricesLookup(t *testing.T) {
	var p *Prices
	if _, ok := p.Lookup("anthropic.claude-3-haiku-20240307-v1:0"); ok {
		t.Error("a nil table found a price")
	}
}

// TestShippedPrices checks every entry of the embedded table: a source, a
// date, sane numbers, and output dearer than input as for every model
// listed.
func TestShippedPrices(t *testing.T) {
	prices, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	if len(prices.layers) != 1 || len(prices.layers[0]) < 20 {
		t.Fatalf("want one layer of 20 or more entries, got %d layers", len(prices.layers))
	}
	model := regexp.MustCompile(`^([a-z-]+\.)?[a-z0-9]+\.[a-z0-9.-]+\*$`)
	for _, e := range prices.layers[0] {
		if e.source == "" {
			t.Errorf("%s: no source", e.pattern)
		}
		if _, err := time.Parse(time.DateOnly, e.asOf); err != nil {
			t.Errorf("%s: as_of %q: want YYYY-MM-DD", e.pattern, e.asOf)
		}
		if !model.MatchString(e.pattern) {
			t.Errorf("%s: want PROVIDER.MODEL-* (optionally PREFIX.PROVIDER.MODEL-*)", e.pattern)
		}
		p := e.price
		if p.InputPer1K <= 0 || p.OutputPer1K < p.InputPer1K || p.InputPer1K > 0.1 || p.OutputPer1K > 0.1 {
			t.Errorf("%s: %v looks wrong", e.pattern, p)
		}
		if p.CacheReadPer1K > p.InputPer1K {
			t.Errorf("%s: cache reads dearer than input: %v", e.pattern, p)
		}
	}
}

func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	override := write("override.json", `{
  "prices": [
    {"pattern": "anthropic.claude-3-5-haiku-*", "input_per_1k": 0.0004, "output_per_1k": 0.002,
     "cache_read_per_1k": 0.00004, "cache_write_per_1k": 0.0005, "source": "our discount", "as_of": "2026-11-01", "note": "until the contract ends"},
    {"pattern": "acme.frontier-*", "input_per_1k": 0.01, "output_per_1k": 0.02, "batch_input_per_1k": 0.004, "batch_output_per_1k": 0.009},
    {"pattern": "us.meta.llama3-1-8b-*", "input_per_1k": 0.0001, "output_per_1k": 0.0001}
  ]
}`)
	prices, err := LoadPrices(override)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		model string
		want  Price
	}{
		{"overridden, batch at half", "us.anthropic.claude-3-5-haiku-20241022-v1:0", Price{0.0004, 0.002, 0.00004, 0.0005, 0.0002, 0.001}},
		{"added, cache prices default to input, batch prices given", "acme.frontier-9000-v1:0", Price{0.01, 0.02, 0.01, 0.01, 0.004, 0.009}},
		{"default kept", "amazon.nova-lite-v1:0", Price{0.00006, 0.00024, 0.000015, 0.00006, 0.00003, 0.00012}},
		{"a prefixed pattern prices one profile", "us.meta.llama3-1-8b-instruct-v1:0", Price{0.0001, 0.0001, 0.0001, 0.0001, 0.00005, 0.00005}},
		{"other profiles keep the default", "meta.llama3-1-8b-instruct-v1:0", Price{0.00022, 0.00022, 0.00022, 0.00022, 0.00011, 0.00011}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := prices.Lookup(tt.model)
			if !ok || !closePrice(got, tt.want) {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.model, got, ok, tt.want)
			}
		})
	}

	defaults, err := LoadPrices("")
	if err != nil {
		t.Fatal(err)
	}
	if shipped, _ := DefaultPrices(); defaults != shipped {
		t.Error(`LoadPrices("") is not the default table`)
	}
	if got, _ := defaults.Lookup("anthropic.claude-3-5-haiku-20241022-v1:0"); got.InputPer1K != 0.0008 {
		t.Errorf("loading an override changed the defaults: %v", got)
	}
}

func TestLoadPricesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		want       []string // phrases of the error
	}{
		{"not JSON", "{\n  \"prices\": [\n    {\"pattern\": \"a.b-*\",}\n  ]\n}", []string{"bad.json:3: invalid character '}'"}},
		{"wrong type", "{\"prices\": [\n{\"pattern\": \"a.b-*\", \"input_per_1k\": \"cheap\"}]}", []string{`bad.json:2: prices.input_per_1k: want a number, got a JSON string`}},
		{"unknown field", `{"prices": [{"pattern": "a.b-*", "inptu_per_1k": 1, "output_per_1k": 1}]}`, []string{`unknown field "inptu_per_1k"`}},
		{"empty", ``, []string{"bad.json: empty price file"}},
		{"no entries", `{"prices": []}`, []string{"no prices"}},
		{"trailing text", `{"prices": [{"pattern": "a.b-*", "input_per_1k": 1, "output_per_1k": 1}]} {}`, []string{"text after"}},
		{"missing and bad fields", `{"prices": [
			{"input_per_1k": 1, "output_per_1k": 1},
			{"pattern": "a.b-*", "output_per_1k": 1},
			{"pattern": "a.c-*", "input_per_1k": -1, "output_per_1k": 1},
			{"pattern": "A.C-*", "input_per_1k": 1, "output_per_1k": 1}]}`,
			[]string{"prices[0] (\"\"): no pattern", "prices[1] (\"a.b-*\"): no input_per_1k", "prices[2] (\"a.c-*\"): input_per_1k -1",
				"prices[3] (\"A.C-*\"): pattern listed twice (first at prices[2])"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.json")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrices(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, phrase := range tt.want {
				if !strings.Contains(err.Error(), phrase) {
					t.Errorf("error does not hold %q:\n%v", phrase, err)
				}
			}
		})
	}
	if _, err := LoadPrices(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestPriceCost(t *testing.T) {
	claude := Price{InputPer1K: 0.003, OutputPer1K: 0.015, CacheReadPer1K: 0.0003, CacheWritePer1K: 0.00375}
	tests := []struct {
		name   string
		price  Price
		tokens tally.Tokens
		want   float64
	}{
		{"nothing", claude, tally.Tokens{}, 0},
		{"input only", claude, tally.Tokens{Input: 1000}, 0.003},
		{"output only", claude, tally.Tokens{Output: 2000}, 0.03},
		{"total is not counted again", claude, tally.Tokens{Input: 1000, Output: 1000, Total: 2000}, 0.018},
		{"cache read and write", claude, tally.Tokens{CacheRead: 10000, CacheWrite: 1000}, 0.003 + 0.00375},
		{"every kind", claude, tally.Tokens{Input: 500, Output: 250, CacheRead: 4000, CacheWrite: 2000}, 0.0015 + 0.00375 + 0.0012 + 0.0075},
		{"a million-record run", Price{InputPer1K: 0.0008, OutputPer1K: 0.004},
			tally.Tokens{Input: 300_000_000, Output: 100_000_000}, 240 + 400},
		{"free", Price{}, tally.Tokens{Input: 1 << 40, Output: 1 << 40}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.Cost(tt.tokens); math.Abs(got-tt.want) > 1e-9*math.Max(1, tt.want) {
				t.Errorf("Cost(%+v) = %.12f, want %.12f", tt.tokens, got, tt.want)
			}
		})
	}
}

func BenchmarkPricesLookup(b *testing.B) {
	prices, err := DefaultPrices()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := prices.Lookup("us.anthropic.claude-3-5-haiku-20241022-v1:0"); !ok {
			b.Fatal("not found")
		}
	}
}
