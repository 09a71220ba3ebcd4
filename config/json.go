package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// MarshalJSON writes the options a run used, as the manifest records them:
// each option that is set, by its name, as its field holds it (strings,
// numbers, lists, booleans; durations in seconds; the shard as I/N). Secret
// options (prompts) are left out, and so are the command line's own
// choices (FlagOnly).
func (c Config) MarshalJSON() ([]byte, error) {
	out := make(map[string]any)
	for i := range Options {
		o := &Options[i]
		if o.Secret || o.FlagOnly {
			continue
		}
		p := o.Field(&c)
		if o.Set != nil { // a quota: the default for every model
			if n := reflect.ValueOf(p).Elem().Int(); n != 0 {
				out[o.Name] = n
			}
			continue
		}
		if q, ok := p.(*map[string]ModelQuota); ok {
			if len(*q) > 0 {
				out[o.Name] = *q
			}
			continue
		}
		if t := text(p); t != "" {
			out[o.Name] = jsonValue(p, t)
		}
	}
	return json.Marshal(out)
}

// jsonValue is a field's value for JSON: numbers and booleans as they are,
// lists as lists, the rest as their text.
func jsonValue(p any, t string) any {
	switch f := p.(type) {
	case *[]string:
		return *f
	case *int, *int64, *bool:
		return reflect.ValueOf(p).Elem().Interface()
	case **int32:
		return **f
	case **float32:
		return **f
	case *time.Duration:
		return f.Seconds()
	}
	return t
}

// UnmarshalJSON reads options as MarshalJSON wrote them (a manifest read
// back by status), through the same parsing as flags and job files.
func (c *Config) UnmarshalJSON(data []byte) error {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	for name, raw := range in {
		o, ok := Lookup(name)
		if !ok {
			continue // an option of another version
		}
		if q, ok := o.Field(c).(*map[string]ModelQuota); ok {
			if err := json.Unmarshal(raw, q); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // 2000000 stays 2000000, not 2e+06
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		values, isList := v.([]any)
		if !isList {
			values = []any{v}
		}
		for _, v := range values {
			if d, ok := o.Field(c).(*time.Duration); ok {
				if n, isNumber := v.(json.Number); isNumber {
					seconds, err := n.Float64()
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					*d = time.Duration(seconds * float64(time.Second))
					continue
				}
			}
			if err := o.set(c, fmt.Sprint(v)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
