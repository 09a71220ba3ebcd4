package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// env is a getenv over a fixed map.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func ptr[T any](v T) *T { return &v }

// fullConfig is what full.yaml and full.json hold.
func fullConfig() Config {
	return Config{
		Inputs:            []string{"prompts/a.jsonl", "prompts/b-*.jsonl"},
		InputFormat:       FormatJSONL,
		Output:            "s3://results/run-1/",
		OutputFormat:      FormatParquet,
		ModelID:           "us.anthropic.claude-3-5-haiku-20241022-v1:0",
		System:            "You are terse.\nAnswer in one line.\n",
		MaxTokens:         ptr(int32(512)),
		Temperature:       ptr(float32(0.2)),
		TopP:              ptr(float32(0.9)),
		StopSequences:     []string{"###", "END"},
		Concurrency:       64,
		RequestsPerMinute: 2000,
		TokensPerMinute:   2000000,
		MaxAttempts:       12,
		RequestTimeout:    90 * time.Second,
		Grace:             25 * time.Second,
		SyncInterval:      100 * time.Millisecond,
		OutputGrace:       5 * time.Minute,
		Wait:              true,
		PartRows:          500_000,
		PartBytes:         128 << 20,
		Region:            "eu-west-1",
		BedrockEndpoint:   "http://127.0.0.1:8080",
		S3Endpoint:        "http://127.0.0.1:9000",
		S3PathStyle:       true,
		Shard:             shard.Shard{Index: 2, Count: 8},
		RetryErrors:       true,
		PricesFile:        "my-prices.json",
		AdditionalFields:  `{"top_k": 50}`,
		Stream:            true,
		TemplateFile:      "prompt.tmpl",
		IDField:           "doc_id",
		PromptField:       "question",
		DocumentFields:    []string{"pdf"},
		ImageFields:       []string{"scan", "photo"},
		SystemFile:        "system.txt",
		CacheSystem:       true,
		ServiceTier:       "flex",
		Latency:           "optimized",
		Guardrail:         "abc123xyz:2",
		GuardrailTrace:    true,
		JSONSchemaFile:    "schema.json",
		SchemaAttempts:    4,
		S3LocationModels:  []string{"amazon.nova-*"},
		OutputStyle:       "bedrock-batch",
		TokensPerDay:      2880000000,
		Quotas: map[string]ModelQuota{
			"us.anthropic.claude-sonnet-4-20250514-v1:0": {TokensPerMinute: 200000, TokensPerDay: 144000000},
			"us.amazon.nova-pro-v1:0":                    {RequestsPerMinute: 500},
		},
		Burndown:             []string{"anthropic.claude-3-5-*=2"},
		StopAfterErrors:      50,
		CountTokens:          true,
		Route:                "auto",
		RoleARN:              "arn:aws:iam::111122223333:role/BedrockBatch",
		Staging:              "s3://staging-bucket/bedrock-batch/",
		Deadline:             "6h",
		DeadlineMargin:       10 * time.Minute,
		BatchMinRecords:      200,
		BatchMaxRecords:      20000,
		BatchPoll:            time.Minute,
		BatchMaxBytes:        500_000_000,
		Shards:               8,
		AllowChangedOptions:  true,
		ProgressInterval:     time.Minute,
		LogFormat:            LogJSON,
		ParquetRowGroupRows:  50_000,
		ParquetRowGroupBytes: 32 << 20,
		BatchResubmit:        true,
		ControlEndpoint:      "http://127.0.0.1:8080",
		// Locked-down accounts (issue 19).
		S3SSE:               "aws:kms",
		S3KMSKeyID:          "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		ExpectedBucketOwner: "111122223333",
		BatchSubnets:        []string{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210,subnet-11112222"},
		BatchSecurityGroups: []string{"sg-0123456789abcdef0"},
		Tags:                []string{"team=evals", "cost-center=4711"},
		// Issue 17.
		QuotaShare:            0.5,
		NoOnDemand:            true,
		ServiceQuotasEndpoint: "http://127.0.0.1:8081",
	}
}

// defaults is a Config as the caller holds it before the job file: flag
// defaults and a value of its own.
func defaults() Config {
	return Config{
		LogFormat:            LogText,
		ProgressInterval:     30 * time.Second,
		ParquetRowGroupRows:  100_000,
		ParquetRowGroupBytes: 64 << 20,
		Inputs:               []string{"caller.jsonl"},
		OutputFormat:         FormatJSONL,
		Concurrency:          16,
		MaxAttempts:          20,
		RequestTimeout:       5 * time.Minute,
		Grace:                10 * time.Second,
		Region:               "us-east-1",
	}
}

func TestLoadJobFile(t *testing.T) {
	allKeys := jobFileKeys()
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    func(*Config) // changes to defaults() the file makes
		wantSet []string      // nil: check nothing
	}{
		{"every key, list forms", "full.yaml", nil, func(c *Config) { *c = fullConfig() }, allKeys},
		{"every key, JSON", "full.json", nil, func(c *Config) { *c = fullConfig() }, allKeys},
		{"scalar forms of input and stop", "scalars.yaml", nil, func(c *Config) {
			c.Inputs = []string{"prompts/only.jsonl"}
			c.StopSequences = []string{"\n\nHuman:"}
			c.ModelID = "amazon.nova-micro-v1:0"
		}, []string{"input", "model", "stop"}},
		{"environment expansion", "env.yaml", map[string]string{
			"DATA": "/data", "BUCKET": "results", "RUN": "n1", "CONCURRENCY": "48",
			"AWS_BATCH_JOB_ARRAY_INDEX": "3", "AWS_BATCH_JOB_ARRAY_SIZE": "10",
		}, func(c *Config) {
			c.Inputs = []string{"/data/part-1.jsonl", "/data/part-2.jsonl"}
			c.Output = "s3://results/runs/n1/"
			c.ModelID = "amazon.nova-lite-v1:0"
			c.Concurrency = 48
			c.Shard = shard.Shard{Index: 3, Count: 10}
			c.System = "Fill in ${name} yourself."
		}, []string{"concurrency", "input", "model", "output", "shard", "system"}},
		{"environment overrides a default", "env.yaml", map[string]string{
			"DATA": "d", "BUCKET": "b", "RUN": "r", "CONCURRENCY": "1", "MODEL": "amazon.nova-pro-v1:0",
			"AWS_BATCH_JOB_ARRAY_INDEX": "0", "AWS_BATCH_JOB_ARRAY_SIZE": "1",
		}, func(c *Config) {
			c.Inputs = []string{"d/part-1.jsonl", "d/part-2.jsonl"}
			c.Output = "s3://b/runs/r/"
			c.ModelID = "amazon.nova-pro-v1:0"
			c.Concurrency = 1
			c.Shard = shard.Shard{Index: 0, Count: 1}
			c.System = "Fill in ${name} yourself."
		}, nil},
		{"values the file does not set are kept", "partial.yaml", nil, func(c *Config) {
			c.ModelID = "mistral.mistral-large-2407-v1:0"
		}, []string{"model"}},
		{"zero is set, not left out", "temperature-zero.yaml", nil, func(c *Config) {
			c.Temperature = ptr(float32(0))
			c.TopP = ptr(float32(0))
			c.MaxTokens = ptr(int32(1))
		}, []string{"max-tokens", "temperature", "top-p"}},
		{"aliases are followed", "anchors.yaml", nil, func(c *Config) {
			c.Grace = 25 * time.Second
			c.RequestTimeout = 25 * time.Second
			c.StopSequences = []string{"###"}
		}, []string{"grace", "request-timeout", "stop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			set, err := LoadJobFileKeys(filepath.Join("testdata", "jobfiles", tt.file), env(tt.env), &cfg)
			if err != nil {
				t.Fatalf("LoadJobFileKeys: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("config\n got %+v\nwant %+v", cfg, want)
			}
			if tt.wantSet != nil {
				var got []string
				for k := range set {
					got = append(got, k)
				}
				sort.Strings(got)
				wantSet := append([]string(nil), tt.wantSet...)
				sort.Strings(wantSet)
				if !reflect.DeepEqual(got, wantSet) {
					t.Errorf("keys set\n got %v\nwant %v", got, wantSet)
				}
			}
		})
	}
}

func TestLoadJobFileTemperatureZeroPointer(t *testing.T) {
	var cfg Config
	if err := LoadJobFile(filepath.Join("testdata", "jobfiles", "temperature-zero.yaml"), env(nil), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Temperature == nil || *cfg.Temperature != 0 {
		t.Fatalf("Temperature = %v, want a pointer to 0", cfg.Temperature)
	}
}

// TestLoadJobFileErrors compares each bad file's error with its golden
// file (FILE.err); go test -run TestLoadJobFileErrors -update rewrites them.
func TestLoadJobFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
	}{
		{"undefined and malformed variables", "env-undefined.yaml", map[string]string{"BUCKET": "b"}},
		{"unknown keys with suggestions", "unknown-key.yaml", nil},
		{"wrong types", "wrong-types.yaml", nil},
		{"wrong types in JSON", "wrong-types.json", nil},
		{"empty file", "empty.yaml", nil},
		{"only comments", "comments-only.yaml", nil},
		{"not a mapping", "list-root.yaml", nil},
		{"syntax error", "syntax.yaml", nil},
		{"unquoted glob", "glob-unquoted.yaml", nil},
		{"two documents", "two-documents.yaml", nil},
		{"duplicate key", "duplicate.yaml", nil},
		{"missing file", "no-such-file.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			err := LoadJobFile(filepath.Join("testdata", "jobfiles", tt.file), env(tt.env), &cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !IsConfigError(err) {
				t.Fatalf("error %T %v, want a *ConfigError", err, err)
			}
			if !reflect.DeepEqual(cfg, defaults()) {
				t.Errorf("a failed load changed the config: %+v", cfg)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, filepath.Join("testdata", "jobfiles", tt.file)+":") {
					t.Errorf("problem does not start with FILE: %q", line)
				}
			}
			golden := filepath.Join("testdata", "jobfiles", tt.file+".err")
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update to create it)", rerr)
			}
			if got != string(want) {
				t.Errorf("error\n got:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestLoadJobFileMessages(t *testing.T) {
	// The messages of the brief, spelled out: these are what users see.
	tests := []struct {
		name, file, want string
	}{
		{"unknown key", "unknown-key.yaml", `testdata/jobfiles/unknown-key.yaml:7: unknown key "concurency" (did you mean "concurrency"?)`},
		{"snake case", "unknown-key.yaml", `testdata/jobfiles/unknown-key.yaml:8: unknown key "max_tokens" (did you mean "max-tokens"?)`},
		{"no suggestion", "unknown-key.yaml", `testdata/jobfiles/unknown-key.yaml:10: unknown key "favourite-colour"` + "\n"},
		{"wrong type", "wrong-types.yaml", `testdata/jobfiles/wrong-types.yaml:9: max-tokens: want an integer, got "lots"`},
		{"undefined variable", "env-undefined.yaml", `testdata/jobfiles/env-undefined.yaml:5: input: environment variable MISSING_DIR is not set`},
		{"JSON line numbers", "wrong-types.json", `testdata/jobfiles/wrong-types.json:3: max-tokens: want an integer, got "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			err := LoadJobFile("testdata/jobfiles/"+tt.file, env(nil), &cfg)
			if err == nil || !strings.Contains(err.Error()+"\n", tt.want) {
				t.Errorf("error does not hold %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestJobFileShard(t *testing.T) {
	tests := []struct {
		value   string
		want    shard.Shard
		problem string // in the error; "" = valid
	}{
		{`"0/1"`, shard.Shard{Index: 0, Count: 1}, ""},
		{`2/8`, shard.Shard{Index: 2, Count: 8}, ""},
		{`" 7 / 8 "`, shard.Shard{Index: 7, Count: 8}, ""},
		{`8/8`, shard.Shard{}, `shard: "8/8": the index must be from 0 to 7`},
		{`-1/8`, shard.Shard{}, `shard: "-1/8": the index must be from 0 to 7`},
		{`2/0`, shard.Shard{}, `shard: "2/0": the count N must be at least 1`},
		{`2`, shard.Shard{}, `shard: want "I/N" such as "2/8" (shard I of N, counting from 0), got "2"`},
		{`a/b`, shard.Shard{}, `shard: want "I/N" with whole numbers, such as "2/8", got "a/b"`},
		{`2/8/9`, shard.Shard{}, `shard: want "I/N" with whole numbers, such as "2/8", got "2/8/9"`},
		{`[2, 8]`, shard.Shard{}, `shard: want "I/N" such as "2/8", got a list`},
		{`${I}/${N}`, shard.Shard{}, `shard: environment variable I is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			var cfg Config
			_, err := parseJobFile("job.yaml", []byte("model: m\nshard: "+tt.value+"\n"), env(nil), &cfg)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.Shard != tt.want {
					t.Errorf("Shard = %+v, want %+v", cfg.Shard, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "job.yaml:2: "+tt.problem) {
				t.Errorf("error %v, want it to hold %q", err, "job.yaml:2: "+tt.problem)
			}
		})
	}
}

func TestExpandEnv(t *testing.T) {
	vars := env(map[string]string{"A": "alpha", "B_2": "beta"})
	tests := []struct {
		in, want, problem string
	}{
		{"plain", "plain", ""},
		{"${A}", "alpha", ""},
		{"x-${A}-${B_2}-y", "x-alpha-beta-y", ""},
		{"$A and $ and {A}", "$A and $ and {A}", ""},
		{"${C:-fallback}", "fallback", ""},
		{"${A:-fallback}", "alpha", ""},
		{"${C:-}", "", ""},
		{"$${A}", "${A}", ""},
		{"costs $5 in ${A}", "costs $5 in alpha", ""},
		{"${C}", "", "environment variable C is not set"},
		{"${A", "", "unterminated"},
		{"${}", "", "not a variable name"},
		{"${a-b}", "", "not a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expandEnv(tt.in, vars)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("expandEnv(%q) = %q, %v; want an error holding %q", tt.in, got, err, tt.problem)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expandEnv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSuggestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"concurency", "concurrency"},
		{"max_tokens", "max-tokens"},
		{"Model", "model"},
		{"inputs", "input"},
		{"retry_errors", "retry-errors"},
		{"temprature", "temperature"},
		{"topp", "top-p"},
		{"favourite-colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := suggestKey(tt.in); got != tt.want {
			t.Errorf("suggestKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// jobFileKeys are the keys a job file may hold.
func jobFileKeys() []string {
	var keys []string
	for _, o := range Options {
		if !o.FlagOnly {
			keys = append(keys, o.Name)
		}
	}
	return keys
}

// TestDeployJobFile keeps the example job file of deploy/ loadable and
// valid.
func TestDeployJobFile(t *testing.T) {
	var cfg Config
	set, err := LoadJobFileKeys(filepath.Join("..", "deploy", "job.yaml"), env(map[string]string{"RUN_NAME": "test"}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("deploy/job.yaml is not a valid job:\n%v", err)
	}
	for _, key := range []string{"input", "output", "model", "max-tokens", "rpm", "tpm", "concurrency", "grace"} {
		if !set[key] {
			t.Errorf("deploy/job.yaml does not show %s", key)
		}
	}
	if cfg.Output != "s3://my-bedrock-results/runs/test/" {
		t.Errorf("output %q: RUN_NAME not expanded", cfg.Output)
	}
}

func BenchmarkLoadJobFile(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "jobfiles", "full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var cfg Config
		if _, err := parseJobFile("full.yaml", data, env(nil), &cfg); err != nil {
			b.Fatal(err)
		}
	}
}
