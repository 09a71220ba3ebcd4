package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

// The options that are not both a flag and a job-file key, and why: the
// job file cannot name itself, a dry run and the demo are what one command
// line asks for, and a map of quotas has no flag form (--tpm MODEL=N is).
var (
	flagOnly = []string{"job", "dry-run", "demo"}
	fileOnly = []string{"quotas"}
)

// sampleValue is a value each kind of field takes.
func sampleValue(o *Option) string {
	switch o.Field(&Config{}).(type) {
	case *bool:
		return "true"
	case *int, *int64, **int32:
		return "7"
	case **float32, *float64:
		return "0.5"
	case *time.Duration:
		return "90s"
	case *shard.Shard:
		return "1/4"
	case *map[string]ModelQuota:
		return ""
	}
	return "x"
}

func TestOptionsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for i := range Options {
		o := &Options[i]
		if seen[o.Name] {
			t.Errorf("--%s is declared twice", o.Name)
		}
		seen[o.Name] = true
		if o.Help == "" || !slices.Contains(Groups, o.Group) || o.Field == nil {
			t.Errorf("--%s: help %q, group %q, field set %v", o.Name, o.Help, o.Group, o.Field != nil)
		}
		if o.FlagOnly != slices.Contains(flagOnly, o.Name) || o.FileOnly != slices.Contains(fileOnly, o.Name) {
			t.Errorf("--%s: flag only %v, file only %v: not in the list of exceptions", o.Name, o.FlagOnly, o.FileOnly)
		}
		if !o.isSwitch() && !o.FileOnly && o.Arg == "" {
			t.Errorf("--%s takes a value but its help names none (Arg)", o.Name)
		}
		var c Config
		if v := sampleValue(o); v != "" {
			if err := o.set(&c, v); err != nil {
				t.Errorf("--%s %s: %v", o.Name, v, err)
			} else if reflect.DeepEqual(c, Config{}) {
				t.Errorf("--%s %s set nothing", o.Name, v)
			}
		}
		// Each option sets a field of its own.
		for j := range Options {
			if j != i && o.Field(&c) == Options[j].Field(&c) {
				t.Errorf("--%s and --%s set the same field", o.Name, Options[j].Name)
			}
		}
	}
}

// TestREADMENamesEveryFlag keeps the README's flag table and the options
// the same set.
func TestREADMENamesEveryFlag(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	flagName := regexp.MustCompile("`--([a-z0-9-]+)")
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cell := strings.Split(strings.ReplaceAll(line, `\|`, "/"), "|")[1]
		for _, m := range flagName.FindAllStringSubmatch(cell, -1) {
			inTable[m[1]] = true
		}
	}
	for _, o := range Options {
		if !o.FileOnly && !inTable[o.Name] {
			t.Errorf("README.md's flag table does not list --%s", o.Name)
		}
		delete(inTable, o.Name)
	}
	for name := range inTable {
		t.Errorf("README.md's flag table lists --%s, which no option is", name)
	}
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	job := dir + "/job.yaml"
	if err := os.WriteFile(job, []byte("input: [file-a.jsonl, file-b.jsonl]\noutput: out/\nmodel: from-file\nstop: [X]\nconcurrency: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "2", "AWS_BATCH_JOB_ARRAY_SIZE": "5"})
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c *Config)
		err   string
	}{
		{"defaults", []string{"--input", "a.jsonl", "--output", "o", "--model", "m"}, func(t *testing.T, c *Config) {
			if c.Concurrency != 16 || c.OutputFormat != FormatJSONL || c.RequestTimeout != 5*time.Minute || c.Route != RouteOnDemand {
				t.Errorf("defaults not applied: %+v", c)
			}
			if c.Shard != (shard.Shard{Index: 2, Count: 5}) {
				t.Errorf("shard %v, want 2/5 from AWS_BATCH_JOB_ARRAY_*", c.Shard)
			}
		}, ""},
		{"flags over the job file; a list on the command line replaces the file's", []string{"--job", job, "--model", "from-flag", "--stop", "A", "--stop=B", "--concurrency=9"}, func(t *testing.T, c *Config) {
			if c.ModelID != "from-flag" || !slices.Equal(c.StopSequences, []string{"A", "B"}) || c.Concurrency != 9 {
				t.Errorf("got model %q stop %q concurrency %d", c.ModelID, c.StopSequences, c.Concurrency)
			}
			if !slices.Equal(c.Inputs, []string{"file-a.jsonl", "file-b.jsonl"}) || c.JobFile != job {
				t.Errorf("inputs %q, job %q: the file's are kept", c.Inputs, c.JobFile)
			}
		}, ""},
		{"positional arguments are inputs and replace the file's", []string{"--job", job, "x.jsonl", "-stream", "y.jsonl"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Inputs, []string{"x.jsonl", "y.jsonl"}) || !c.Stream {
				t.Errorf("inputs %q, stream %v", c.Inputs, c.Stream)
			}
		}, ""},
		{"a value may start with a dash", []string{"--input", "a", "--output", "o", "--model", "m", "--system", "-be brief-"}, func(t *testing.T, c *Config) {
			if c.System != "-be brief-" {
				t.Errorf("system %q", c.System)
			}
		}, ""},
		{"quotas per model", []string{"--input", "a", "--output", "o", "--model", "m", "--tpm", "1000", "--tpm", "m=5_000"}, func(t *testing.T, c *Config) {
			if c.TokensPerMinute != 1000 || c.Quotas["m"].TokensPerMinute != 5000 {
				t.Errorf("tpm %d, quotas %v", c.TokensPerMinute, c.Quotas)
			}
		}, ""},
		{"the shard flag wins over the environment", []string{"--input", "a", "--output", "o", "--model", "m", "--shard", "0/3"}, func(t *testing.T, c *Config) {
			if c.Shard != (shard.Shard{Index: 0, Count: 3}) {
				t.Errorf("shard %v", c.Shard)
			}
		}, ""},
		{"a typo", []string{"--concurency", "4"}, nil, "unknown flag --concurency (did you mean --concurrency?)"},
		{"a job-file-only key", []string{"--quotas", "x"}, nil, "unknown flag --quotas"},
		{"no value", []string{"--input", "a", "--model"}, nil, "--model needs a value"},
		{"a duration without a unit", []string{"--request-timeout", "5"}, nil, "--request-timeout: want a duration with a unit, such as 5s or 5m"},
		{"a bad number", []string{"--temperature", "warm"}, nil, `--temperature: want a number, got "warm"`},
		{"validation", []string{"--input", "a", "--output", "o"}, nil, "no model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args, getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one holding %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	if _, err := Parse([]string{"--model", "m", "-h"}, getenv); !errors.Is(err, ErrHelp) {
		t.Errorf("-h: %v, want ErrHelp", err)
	}
	c, err := ParseSome([]string{"--output", "s3://b/o/", "--region", "eu-west-1"}, "output", "region")
	if err != nil || c.Output != "s3://b/o/" || c.Region != "eu-west-1" {
		t.Errorf("ParseSome: %+v, %v", c, err)
	}
	if _, err := ParseSome([]string{"--model", "m"}, "output"); err == nil {
		t.Error("ParseSome took an option it was not given")
	}
}

// TestManifestOptionsRoundTrip: the options a manifest records read back
// as the same configuration, prompts and the command line's own choices
// left out.
func TestManifestOptionsRoundTrip(t *testing.T) {
	in := fullConfig()
	in.DryRun, in.Demo, in.JobFile = true, true, "job.yaml"
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "terse") {
		t.Errorf("the system prompt is in the manifest's options: %s", data)
	}
	var out Config
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	want := fullConfig()
	want.System = ""
	if !reflect.DeepEqual(out, want) {
		t.Errorf("read back\n got %+v\nwant %+v\nfrom %s", out, want, data)
	}
}
