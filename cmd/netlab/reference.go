package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// writeReference writes the command reference, docs/reference.md, from
// the commands' own help, so that the two can never disagree: a test fails
// when the file is stale (regenerate with NETLAB_UPDATE=1 go test
// ./cmd/netlab -run TestReference).
func writeReference(w io.Writer, root *cobra.Command) {
	fmt.Fprintln(w, "# netlab command reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from `netlab --help` and each command's `--help` by")
	fmt.Fprintln(w, "`NETLAB_UPDATE=1 go test ./cmd/netlab -run TestReference`; a test fails when")
	fmt.Fprintln(w, "it is out of date. Exit codes: 0 success, 1 a failure the message explains,")
	fmt.Fprintln(w, "2 for `plan --detailed-exitcode` with changes, 64 bad usage.")
	for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n", c.CommandPath())
		fmt.Fprintf(w, "```\n%s\n```\n\n", c.UseLine())
		fmt.Fprintln(w, c.Short+".")
		if c.Long != "" {
			fmt.Fprintf(w, "\n%s\n", c.Long)
		}
		if c.Example != "" {
			fmt.Fprintf(w, "\nExamples:\n\n```\n%s\n```\n", c.Example)
		}
		if flags := strings.TrimRight(c.LocalFlags().FlagUsages(), "\n"); flags != "" {
			fmt.Fprintf(w, "\nFlags:\n\n```\n%s\n```\n", flags)
		}
	}
}
