package reader

import (
	"bytes"
	"math"
	"strconv"
)

// The functions in this file read a record's own model and inference
// parameters. Only the types and the ranges every model shares are checked
// (max_tokens ≥ 1, temperature and top_p ≥ 0): a model's own upper bounds
// are Bedrock's to enforce, per model, and would go stale here.

// inferenceNames are the member names of an inference configuration: our
// JSONL and Anthropic bodies use snake_case, Converse camelCase.
type inferenceNames struct {
	maxTokens, temperature, topP, stopSequences string
}

var (
	snakeInference = inferenceNames{"max_tokens", "temperature", "top_p", "stop_sequences"}
	camelInference = inferenceNames{"maxTokens", "temperature", "topP", "stopSequences"}
)

// parseModel reads a "model" value: a non-empty string.
func parseModel(v []byte, scratch *[]byte) (string, *fieldError) {
	if v[0] != '"' {
		return "", &fieldError{"", "must be a string (a model id or ARN), got " + kindOf(v)}
	}
	s := unquote(v, scratch)
	if s == "" {
		return "", &fieldError{"", "must not be empty"}
	}
	return s, nil
}

// parseInference reads an inference configuration object into inf; a member
// it does not know is an error, because a misspelt parameter would
// otherwise be silently dropped.
func parseInference(v []byte, names inferenceNames, inf *Inference, scratch *[]byte) *fieldError {
	if v[0] != '{' {
		return &fieldError{"", "must be an object, got " + kindOf(v)}
	}
	var bad *fieldError
	forEachMember(v, func(key, val []byte) bool {
		var known bool
		known, bad = inferenceMember(key, val, names, inf, scratch)
		if bad == nil && !known {
			name := string(appendUnescaped(nil, key))
			bad = &fieldError{"." + name, "unknown inference parameter: want " +
				names.maxTokens + ", " + names.temperature + ", " + names.topP + " or " + names.stopSequences}
		}
		return bad == nil
	})
	return bad
}

// inferenceMember applies one member of an inference configuration to inf.
// known is false when key is not an inference parameter. A null value
// leaves the parameter unset.
func inferenceMember(key, val []byte, names inferenceNames, inf *Inference, scratch *[]byte) (known bool, err *fieldError) {
	switch {
	case keyIs(key, names.maxTokens):
		if !isNull(val) {
			inf.MaxTokens, err = parseMaxTokens(val)
		}
		return true, err.under("." + names.maxTokens)
	case keyIs(key, names.temperature):
		if !isNull(val) {
			inf.Temperature, err = parseNonNegative(val)
		}
		return true, err.under("." + names.temperature)
	case keyIs(key, names.topP):
		if !isNull(val) {
			inf.TopP, err = parseNonNegative(val)
		}
		return true, err.under("." + names.topP)
	case keyIs(key, names.stopSequences):
		if !isNull(val) {
			inf.StopSequences, err = parseStopSequences(val, false, scratch)
		}
		return true, err.under("." + names.stopSequences)
	}
	return false, nil
}

// parseMaxTokens reads a JSON integer from 1 to math.MaxInt32.
func parseMaxTokens(v []byte) (*int32, *fieldError) {
	if kindOf(v) != "a number" || !isInteger(v) {
		return nil, &fieldError{"", "must be an integer, got " + describe(v)}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return nil, &fieldError{"", "must be from 1 to 2147483647, got " + string(v)}
	}
	m := int32(n)
	return &m, nil
}

// checkMaxTokens checks a max_tokens value of any numeric type.
func checkMaxTokens(f float64) (*int32, *fieldError) {
	if f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
		return nil, &fieldError{"", "must be an integer from 1 to 2147483647, got " + strconv.FormatFloat(f, 'g', -1, 64)}
	}
	n := int32(f)
	return &n, nil
}

// parseNonNegative reads a JSON number that is ≥ 0 and finite as a float32.
func parseNonNegative(v []byte) (*float32, *fieldError) {
	if kindOf(v) != "a number" {
		return nil, &fieldError{"", "must be a number, got " + describe(v)}
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return nil, &fieldError{"", "must be a finite number ≥ 0, got " + string(v)}
	}
	return checkNonNegative(f)
}

// checkNonNegative checks a temperature or top_p of any numeric type.
func checkNonNegative(f float64) (*float32, *fieldError) {
	g := float32(f)
	if math.IsNaN(f) || math.IsInf(float64(g), 0) || f < 0 {
		return nil, &fieldError{"", "must be a finite number ≥ 0, got " + strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return &g, nil
}

// parseStopSequences reads an array of non-empty strings, or, when one is
// allowed (OpenAI's "stop"), a single string.
func parseStopSequences(v []byte, single bool, scratch *[]byte) ([]string, *fieldError) {
	if single && v[0] == '"' {
		s := unquote(v, scratch)
		if s == "" {
			return nil, &fieldError{"", "must not be empty"}
		}
		return []string{s}, nil
	}
	if v[0] != '[' {
		want := "an array of strings"
		if single {
			want = "a string or " + want
		}
		return nil, &fieldError{"", "must be " + want + ", got " + kindOf(v)}
	}
	seqs := []string{} // set, even when empty
	var bad *fieldError
	forEachElement(v, func(i int, s []byte) bool {
		switch {
		case s[0] != '"':
			bad = &fieldError{index(i), "must be a string, got " + kindOf(s)}
		case len(s) == 2:
			bad = &fieldError{index(i), "must not be empty"}
		default:
			seqs = append(seqs, unquote(s, scratch))
		}
		return bad == nil
	})
	return seqs, bad
}

// parseObject keeps a JSON object value as it is.
func parseObject(v []byte) ([]byte, *fieldError) {
	if v[0] != '{' {
		return nil, &fieldError{"", "must be a JSON object, got " + kindOf(v)}
	}
	return bytes.Clone(v), nil
}

// describe names a JSON value for an error: a number as itself, anything
// else by its kind.
func describe(v []byte) string {
	if k := kindOf(v); k != "a number" {
		return k
	}
	return string(v)
}
