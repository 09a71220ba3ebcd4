package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

// set parses text into the option's field of c. Flags and job files both
// come here, so a value means the same wherever it is given.
func (o *Option) set(c *Config, text string) error {
	if o.Set != nil {
		return o.Set(c, text)
	}
	return setField(o.Field(c), text)
}

// setField parses text into the field p points to; a list gets one more
// item.
func setField(p any, text string) error {
	s := strings.TrimSpace(text)
	switch f := p.(type) {
	case *string:
		*f = text
	case *[]string:
		*f = append(*f, text)
	case *int:
		v, err := parseInt(s, strconv.IntSize)
		if err != nil {
			return err
		}
		*f = int(v)
	case *int64:
		v, err := parseInt(s, 64)
		if err != nil {
			return err
		}
		*f = v
	case **int32:
		v, err := parseInt(s, 32)
		if err != nil {
			return err
		}
		v32 := int32(v)
		*f = &v32
	case **float32:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("want a number, got %q", text)
		}
		v32 := float32(v)
		*f = &v32
	case *float64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("want a number, got %q", text)
		}
		*f = v
	case *time.Duration:
		v, err := time.ParseDuration(s)
		if err != nil {
			if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
				return fmt.Errorf("want a duration with a unit, such as %ss or %sm, got %q", s, s, text)
			}
			return fmt.Errorf(`want a duration such as "90s" or "5m", got %q`, text)
		}
		*f = v
	case *bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			*f = true
		case "false", "no", "off", "0":
			*f = false
		default:
			return fmt.Errorf("want true or false, got %q", text)
		}
	case *shard.Shard:
		v, err := parseShard(s)
		if err != nil {
			return err
		}
		*f = v
	default:
		panic(fmt.Sprintf("config: a field of type %T cannot be set from text", p))
	}
	return nil
}

// parseInt parses a decimal integer; YAML's digit separators (2_000_000)
// are allowed.
func parseInt(s string, bits int) (int64, error) {
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, bits)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s is out of range", s)
	}
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %q", s)
	}
	return v, nil
}

// parseShard parses "I/N" with 0 <= I < N, or says what is wrong with it.
func parseShard(s string) (shard.Shard, error) {
	index, count, ok := strings.Cut(s, "/")
	if !ok {
		return shard.Shard{}, fmt.Errorf(`want "I/N" such as "2/8" (shard I of N, counting from 0), got %q`, s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(index))
	n, err2 := strconv.Atoi(strings.TrimSpace(count))
	switch {
	case err1 != nil || err2 != nil:
		return shard.Shard{}, fmt.Errorf(`want "I/N" with whole numbers, such as "2/8", got %q`, s)
	case n < 1:
		return shard.Shard{}, fmt.Errorf("%q: the count N must be at least 1", s)
	case i < 0 || i >= n:
		return shard.Shard{}, fmt.Errorf("%q: the index must be from 0 to %d (shards count from 0)", s, n-1)
	}
	return shard.Shard{Index: i, Count: n}, nil
}

// isList reports whether the option takes a list: it may be given more
// than once, and the command line's values replace the job file's.
func (o *Option) isList(c *Config) bool {
	if o.Set != nil {
		return true // quotas: N, or MODEL=N again and again
	}
	_, ok := o.Field(c).(*[]string)
	return ok
}

// want says what kind of value the option takes, for "want X, got Y".
func (o *Option) want() string {
	switch o.Field(&Config{}).(type) {
	case *[]string:
		return "a string or a list of strings"
	case *bool:
		return "true or false"
	case *int, *int64, **int32:
		if o.Set != nil {
			return "N or MODEL_ID=N, or a list of them"
		}
		return "an integer"
	case **float32, *float64:
		return "a number"
	case *time.Duration:
		return `a duration such as "90s"`
	case *shard.Shard:
		return `"I/N" such as "2/8"`
	}
	return "a string"
}

// isSwitch reports whether the option is a flag without a value.
func (o *Option) isSwitch() bool {
	_, ok := o.Field(&Config{}).(*bool)
	return ok
}

// Text is the value of an option's field (Option.Field) as text, "" when
// it is unset.
func Text(p any) string { return text(p) }

// text is the value of the option's field as text, "" when it is unset.
func text(p any) string {
	switch f := p.(type) {
	case *string:
		return *f
	case *[]string:
		return strings.Join(*f, ",")
	case *int:
		if *f == 0 {
			return ""
		}
		return strconv.Itoa(*f)
	case *int64:
		if *f == 0 {
			return ""
		}
		return strconv.FormatInt(*f, 10)
	case **int32:
		if *f == nil {
			return ""
		}
		return strconv.Itoa(int(**f))
	case **float32:
		if *f == nil {
			return ""
		}
		return strconv.FormatFloat(float64(**f), 'g', -1, 32)
	case *float64:
		if *f == 0 {
			return ""
		}
		return strconv.FormatFloat(*f, 'g', -1, 64)
	case *time.Duration:
		if *f == 0 {
			return ""
		}
		return f.String()
	case *bool:
		if !*f {
			return ""
		}
		return "true"
	case *shard.Shard:
		if !f.Sharded() {
			return ""
		}
		return f.String()
	}
	return ""
}
