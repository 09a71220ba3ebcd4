package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// optionsName is the output's record of the options that shape its
// answers, written by the first run into it.
const optionsName = "_options.json"

// answerOptions are the options that shape an answer or the rows that hold
// it: a resume with any of them changed would mix answers of two jobs in
// one output. Texts and files (system prompt, template, schema) are kept
// as hashes, never as text.
var answerOptions = []string{
	"model", "system", "system-file", "template", "json-schema", "max-tokens", "temperature", "top-p", "stop",
	"additional-fields", "guardrail", "id-field", "prompt-field", "document-field", "image-field",
	"output-format", "output-style",
}

// optionsRecord is what _options.json holds.
type optionsRecord struct {
	RunID   string            `json:"run_id"`
	Options map[string]string `json:"options"`
}

// fingerprint is the value of each answer option, files by their
// contents' hash.
func fingerprint(cfg *config.Config) (map[string]string, error) {
	out := make(map[string]string)
	for _, name := range answerOptions {
		o, ok := config.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("run: no option %q", name)
		}
		value := config.Text(o.Field(cfg))
		switch name {
		case "system":
			value = hashOf(value)
		case "system-file", "template", "json-schema":
			if value != "" {
				data, err := os.ReadFile(value)
				if err != nil {
					return nil, fmt.Errorf("--%s: %w", name, err)
				}
				value = hashOf(string(data))
			}
		}
		if value != "" {
			out[name] = value
		}
	}
	return out, nil
}

// hashOf names a text by its SHA-256, "" for none.
func hashOf(text string) string {
	if text == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// checkOptions compares the run's answer options with those the output
// was made with, and refuses a run that would mix them unless
// --allow-changed-options. It returns what to record, nil when the output
// already records the same.
func (r *Run) checkOptions(ctx context.Context) (*optionsRecord, error) {
	mine, err := fingerprint(r.cfg)
	if err != nil {
		return nil, setup(err)
	}
	data, err := r.out.Get(ctx, optionsName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &optionsRecord{Options: mine}, nil
	case err != nil:
		return nil, err
	}
	var theirs optionsRecord
	if err := json.Unmarshal(data, &theirs); err != nil {
		return nil, setup(fmt.Errorf("%s: %w", r.out.URI(optionsName), err))
	}
	diffs := differences(theirs.Options, mine)
	if len(diffs) == 0 {
		return nil, nil
	}
	if !r.cfg.AllowChangedOptions {
		return nil, setup(fmt.Errorf("%s holds rows made with other options (run %s): %s; give a new --output, or --allow-changed-options to mix them",
			r.out.URI(""), theirs.RunID, strings.Join(diffs, "; ")))
	}
	r.deps.Logger.Warn("the output holds rows made with other options; --allow-changed-options mixes them", "changed", strings.Join(diffs, "; "))
	return &optionsRecord{Options: mine}, nil
}

// differences says which options differ, and how.
func differences(was, now map[string]string) []string {
	names := make([]string, 0, len(was)+len(now))
	for name := range was {
		names = append(names, name)
	}
	for name := range now {
		if _, ok := was[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var diffs []string
	for _, name := range slices.Compact(names) {
		a, b := was[name], now[name]
		switch {
		case a == b:
		case strings.HasPrefix(a, "sha256:") || strings.HasPrefix(b, "sha256:"):
			diffs = append(diffs, fmt.Sprintf("--%s changed", name))
		default:
			diffs = append(diffs, fmt.Sprintf("--%s %s, was %s", name, orNone(b), orNone(a)))
		}
	}
	return diffs
}

func orNone(s string) string {
	if s == "" {
		return "(not given)"
	}
	return s
}

// recordOptions writes the run's answer options into the output.
func recordOptions(ctx context.Context, out storage.Dir, rec *optionsRecord, runID string) error {
	if rec == nil {
		return nil
	}
	rec.RunID = runID
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return out.Put(ctx, optionsName, append(data, '\n'))
}
