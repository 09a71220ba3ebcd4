package config

import (
	"fmt"
	"io"
	"strings"
)

// PrintOptions writes the help of every option, section by section: the
// flag with its value's name, then its help and default, wrapped.
func PrintOptions(w io.Writer) {
	for _, group := range Groups {
		fmt.Fprintf(w, "\n%s:\n", group)
		for i := range Options {
			if o := &Options[i]; o.Group == group {
				o.printHelp(w)
			}
		}
	}
}

// PrintSome writes the help of the named options only, in the order given.
func PrintSome(w io.Writer, names ...string) {
	for _, name := range names {
		if o, ok := Lookup(name); ok {
			o.printHelp(w)
		}
	}
}

// helpColumn is where help text starts; helpWidth where it wraps.
const (
	helpColumn = 30
	helpWidth  = 100
)

func (o *Option) printHelp(w io.Writer) {
	head := "  --" + o.Name
	if o.FileOnly {
		head = "  " + o.Name + ": (job file)"
	} else if o.Arg != "" {
		head += " " + o.Arg
	}
	help := o.Help
	if o.Default != "" {
		help += " (default " + o.Default + ")"
	}
	lines := wrap(help, helpWidth-helpColumn)
	if len(head) >= helpColumn-1 {
		fmt.Fprintln(w, head)
		head = ""
	}
	for i, line := range lines {
		if i > 0 {
			head = ""
		}
		fmt.Fprintf(w, "%-*s%s\n", helpColumn, head, line)
	}
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
