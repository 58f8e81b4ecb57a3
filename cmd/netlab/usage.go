package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line's bad usage, said once for every command: an empty
// value (refuseEmpty) and a flag value that does not parse (flagError).

// refuseEmpty refuses an empty argument or flag value, before the command
// runs: "$VAR" with VAR unset must not quietly mean something, neither
// the default lab (up ""), nor standard output (render --file ""), nor no
// report (check --junit ""), nor no filter (capture --host ""). The
// arguments after exec's -- are the command's own, which may well take
// an empty argument; only their first, the command's name, must not be
// empty.
func refuseEmpty(cmd *cobra.Command, args []string) error {
	if cmd.DisableFlagParsing {
		return nil // the launcher's arguments are not the user's
	}
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil && f.Value.Type() == "string" && f.Value.String() == "" {
			what, _ := pflag.UnquoteUsage(f)
			err = usagef("%s is empty (an unset variable?): give %s, or leave %s out", flagName(f), article(what), flagName(f))
		}
	})
	if err != nil {
		return err
	}
	own := args
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		own = args[:dash]
		if dash < len(args) && args[dash] == "" {
			return usagef("%s: the command after -- is empty (an unset variable?)", cmd.CommandPath())
		}
	}
	for i, a := range own {
		if a == "" {
			return usagef("%s: argument %d is empty (an unset variable?): usage: %s", cmd.CommandPath(), i+1, cmd.UseLine())
		}
	}
	return nil
}

// article puts "a" before a flag's value name (a PATH, a FORMAT), or says
// "a value" for a flag that names none.
func article(what string) string {
	if what == "" || what == "string" {
		return "a value"
	}
	return "a " + what
}

// flagName is how a message names a flag: -c/--count, or --port.
func flagName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// flagError is bad usage for an error of flag parsing. A value that does
// not parse is said in netlab's words, by what the flag takes, rather
// than in those of Go's parsers (strconv.ParseInt: parsing "x": invalid
// syntax); a value a flag of netlab's refused keeps that flag's reason.
func flagError(cmd *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if !errors.As(err, &bad) {
		return &usageError{msg: err.Error()}
	}
	f, value := bad.GetFlag(), bad.GetValue()
	var num *strconv.NumError
	isNum := errors.As(err, &num)
	switch typ := f.Value.Type(); {
	case typ == "bool" && isNum:
		return usagef("%s takes true or false (or nothing, for true), got %q", flagName(f), value)
	case isNum && numRange[typ] != "":
		return usagef("%s takes a whole number from %s, got %q", flagName(f), numRange[typ], value)
	case isNum:
		return usagef("%s takes a whole number, got %q", flagName(f), value)
	case typ == "duration" && strings.HasPrefix(errors.Unwrap(err).Error(), "time: "):
		return usagef("%s takes a duration (500ms, 2s, 1m), got %q", flagName(f), value)
	default:
		return usagef("%s: %v", flagName(f), errors.Unwrap(err))
	}
}

// numRange is the range of the numeric flag types whose range a user
// cannot guess.
var numRange = map[string]string{
	"uint8":  "0 to 255",
	"uint16": "0 to 65535",
}

// fileError says that what (a report, a pcap file) could not be written
// to the user's path: "write the JUnit report out/r.xml: no such file or
// directory", rather than Go's "open out/r.xml: ..." after the path again.
func fileError(what, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return fmt.Errorf("write %s %s: %w", what, path, err)
}
