package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/shard"
)

// Defaults returns a Config holding every option's default.
func Defaults() Config {
	var c Config
	for i := range Options {
		if o := &Options[i]; o.Default != "" {
			if err := o.set(&c, o.Default); err != nil {
				panic(fmt.Sprintf("config: the default of --%s: %v", o.Name, err))
			}
		}
	}
	return c
}

// UsageError is a command line that cannot be run: an unknown flag, a value
// that does not parse, or options that do not go together.
type UsageError struct{ Problem string }

func (e *UsageError) Error() string { return e.Problem }

// Parse reads the options of `batch run` from a command line: the defaults,
// then the job file --job names, then the flags, each over the one before;
// arguments that are not flags are inputs. getenv expands ${NAME} in the
// job file and gives the shard of an AWS Batch array job or a Kubernetes
// Indexed Job. The result is validated. --help is ErrHelp.
func Parse(args []string, getenv func(string) string) (*Config, error) {
	c := Defaults()
	fileKeys := map[string]bool{}
	if path := findJobFlag(args); path != "" {
		var err error
		if fileKeys, err = LoadJobFileKeys(path, getenv, &c); err != nil {
			return nil, err
		}
	}
	given := map[string]bool{}
	positional, err := parseFlags(args, func(o *Option, value string) error {
		if !given[o.Name] {
			if list, ok := o.Field(&c).(*[]string); ok {
				*list = nil // the command line's list replaces the job file's
			}
			given[o.Name] = true
		}
		return o.set(&c, value)
	})
	if err != nil {
		return nil, err
	}
	if len(positional) > 0 {
		if !given["input"] {
			c.Inputs = nil
		}
		c.Inputs = append(c.Inputs, positional...)
	}
	if !given["shard"] && !fileKeys["shard"] {
		if c.Shard, err = shard.FromEnv(getenv, c.Shards); err != nil {
			return nil, &UsageError{Problem: err.Error()}
		}
	}
	if c.Demo && c.ModelID == "" {
		c.ModelID = "demo.echo-v1"
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// findJobFlag returns the value of --job among args, before the flags are
// parsed, so the job file can be loaded under them.
func findJobFlag(args []string) string {
	for i, arg := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != "job" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// ErrHelp is what Parse returns for -h, -help or --help.
var ErrHelp = errors.New("help asked for")

// parseFlags reads flags and positional arguments in any order, so a shell
// glob after --input (--input data/*.jsonl --output out) works: set gets
// every flag's option and value (a switch's "true"), and the positional
// arguments are returned in order. A flag is --name or -name, its value
// --name=value or the next argument; "--" ends the flags.
func parseFlags(args []string, set func(o *Option, value string) error) ([]string, error) {
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(positional, args[i+1:]...), nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "h" || name == "help" {
			return nil, ErrHelp
		}
		o, ok := Lookup(name)
		if !ok || o.FileOnly {
			problem := fmt.Sprintf("unknown flag --%s", name)
			if hint := suggestKey(name); hint != "" {
				problem += fmt.Sprintf(" (did you mean --%s?)", hint)
			}
			return nil, &UsageError{Problem: problem}
		}
		switch {
		case hasValue:
		case o.isSwitch():
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			return nil, &UsageError{Problem: fmt.Sprintf("--%s needs a value: --%s %s", name, name, o.Arg)}
		}
		if err := set(o, value); err != nil {
			return nil, &UsageError{Problem: fmt.Sprintf("--%s: %v", name, err)}
		}
	}
	return positional, nil
}

// ParseSome reads a command line that may hold only the named options (a
// subcommand that needs a few of run's), over their defaults. It does not
// validate: the caller checks what it needs.
func ParseSome(args []string, names ...string) (*Config, error) {
	c := Defaults()
	positional, err := parseFlags(args, func(o *Option, value string) error {
		if !slices.Contains(names, o.Name) {
			return errNotHere
		}
		return o.set(&c, value)
	})
	if err != nil {
		return nil, err
	}
	if len(positional) > 0 {
		return nil, &UsageError{Problem: fmt.Sprintf("unexpected argument %q", positional[0])}
	}
	return &c, nil
}

var errNotHere = errors.New("not an option of this command")
