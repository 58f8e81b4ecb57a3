package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands is netlab and every command below it, but help.
func allCommands() []*cobra.Command {
	root := newRootCmd(&env{})
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.Name() != "help" && !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// TestFlagHelpSaysDefaultOnce: pflag prints a flag's default after its
// help; a help that gives the default too says it twice (up --help said
// "(default: no limit) (default -1ns)").
func TestFlagHelpSaysDefaultOnce(t *testing.T) {
	for _, c := range allCommands() {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			one := pflag.NewFlagSet("", pflag.ContinueOnError)
			one.AddFlag(f)
			line := strings.TrimSpace(one.FlagUsages())
			if n := strings.Count(strings.ToLower(line), "default"); n > 1 {
				t.Errorf("%s --%s says its default %d times: %s", c.CommandPath(), f.Name, n, line)
			}
			if strings.Contains(line, "-1ns") {
				t.Errorf("%s --%s shows a meaningless default: %s", c.CommandPath(), f.Name, line)
			}
			if f.Usage == "" || strings.HasSuffix(f.Usage, ".") {
				t.Errorf("%s --%s: help %q: want a phrase, with no final period (pflag appends the default)", c.CommandPath(), f.Name, f.Usage)
			}
		})
	}
}

// TestOutputFlagIsFormat: -o is the output format in every command that
// has it, and only --file (or capture's -w, tcpdump's spelling) names a
// file to write, with PATH in its help.
func TestOutputFlagIsFormat(t *testing.T) {
	for _, c := range allCommands() {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			switch {
			case f.Shorthand == "o" && (f.Name != "output" || name != "FORMAT"):
				t.Errorf("%s: -o is --%s %s (%q), want --output FORMAT", c.CommandPath(), f.Name, name, f.Usage)
			case f.Name == "output" && f.Shorthand != "o":
				t.Errorf("%s: --output has no -o", c.CommandPath())
			case name == "PATH" && f.Name != "file" && f.Name != "junit" && f.Name != "write":
				t.Errorf("%s --%s writes a file: name it --file", c.CommandPath(), f.Name)
			}
		})
	}
}

// TestHelpTeaches: every command says what it does, in a sentence that
// starts with its name, and shows how it is run.
func TestHelpTeaches(t *testing.T) {
	for _, c := range allCommands() {
		if c.Short == "" || strings.HasSuffix(c.Short, ".") {
			t.Errorf("%s: short help %q: want one phrase, no final period", c.CommandPath(), c.Short)
		}
		if !strings.HasPrefix(c.Long, c.Name()+" ") {
			t.Errorf("%s: long help does not start with %q: %q", c.CommandPath(), c.Name()+" ", firstLine(c.Long))
		}
		if !strings.Contains(c.Example, c.CommandPath()) && c != c.Root() {
			t.Errorf("%s: no example runs it", c.CommandPath())
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestFlagValuesNamed: every flag that takes a value names what it takes
// in its help, in capitals (--wait DURATION, -c N), as --lab NAME and -o
// FORMAT do, never by the Go type pflag falls back to ("--wait duration",
// "--port uint16").
func TestFlagValuesNamed(t *testing.T) {
	for _, c := range allCommands() {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if f.Value.Type() == "bool" || f.Name == "help" {
				return
			}
			if name == "" || strings.ToUpper(name) != name {
				t.Errorf("%s --%s: its help names its value %q: put the value's name in `CAPITALS` in the usage text", c.CommandPath(), f.Name, name)
			}
		})
	}
}
