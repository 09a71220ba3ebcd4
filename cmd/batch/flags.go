package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// optionalFloat32 remembers whether it was set, so a set zero
// (--temperature 0) is sent and an unset value is left out.
type optionalFloat32 struct{ value *float32 }

func (o *optionalFloat32) String() string {
	if o.value == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*o.value), 'g', -1, 32)
}

func (o *optionalFloat32) Set(v string) error {
	f, err := strconv.ParseFloat(v, 32)
	if err != nil {
		return fmt.Errorf("not a number: %q", v)
	}
	f32 := float32(f)
	o.value = &f32
	return nil
}

// optionalInt32 is optionalFloat32 for integers.
type optionalInt32 struct{ value *int32 }

func (o *optionalInt32) String() string {
	if o.value == nil {
		return ""
	}
	return strconv.Itoa(int(*o.value))
}

func (o *optionalInt32) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return fmt.Errorf("not an integer: %q", v)
	}
	n32 := int32(n)
	o.value = &n32
	return nil
}

// parseInterspersed parses flags and positional arguments in any order, so a
// shell glob after --input (--input data/*.jsonl --output out) works: every
// positional argument is returned, in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
