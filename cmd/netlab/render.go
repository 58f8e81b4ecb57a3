package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/render"
)

// renderFormats maps each output format of render (-o, or its synonym
// --format) to its renderer.
var renderFormats = map[string]func(*lab.Lab) []byte{
	"svg":     render.SVG,
	"dot":     render.Dot,
	"mermaid": render.Mermaid,
	"script":  render.Script,
}

func newRenderCmd(e *env) *cobra.Command {
	var output, format, file, machine string
	cmd := &cobra.Command{
		Use:   "render [FILE] [-o svg|dot|mermaid|script] [--file PATH] [--machine NAME]",
		Short: "Draw the lab (svg, dot, mermaid) or print the ip and nft commands that build it",
		Long: `render turns a lab file into a picture or a script, without root and without
touching the kernel. -o svg (the default) draws the topology as a
self-contained SVG; -o dot and -o mermaid write the same graph for Graphviz
and Mermaid; -o script writes the bash script of ip and nft commands that
builds the lab by hand, in the order netlab up would run them (the commands
netlab plan shows). --format is a synonym of -o. The output goes to standard
output, or to the file --file names. With no FILE it renders the built-in
default lab.

For a lab spread over machines (see docs/machines.md), the pictures draw
each machine around its nodes and each link between two machines as a
dashed line labelled with its VXLAN VNI, and the script has one part per
machine, headed by the machine to run it on. --machine NAME renders only
that machine's part: for -o script, the commands to run on it; for the
pictures, its nodes and, of the other machines, the nodes at the far end of
its links to them. A machine the file does not have, or --machine for a lab
without machines, is bad usage.`,
		Example: `  netlab render lab.yaml --file lab.svg
  netlab render lab.yaml -o dot | dot -Tpng -o lab.png
  netlab render -o script > build-lab.sh
  netlab render spread.yaml -o script --machine m1 > build-m1.sh`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("format") {
				if cmd.Flags().Changed("output") && format != output {
					return usagef("-o %s and --format %s disagree: --format is a synonym of -o, give one", output, format)
				}
				output = format
			}
			fn, ok := renderFormats[output]
			if !ok {
				return usagef("%s", unknownRenderFormat(output))
			}
			l, diags := loadLab(args)
			if diags.HasErrors() {
				_ = diags.WriteText(e.stderr)
				return &exitCode{exitFailure}
			}
			_ = diags.WriteText(e.stderr) // warnings
			if err := checkMachine(l, machine); err != nil {
				return err
			}
			var data []byte
			if output == "script" {
				data = render.ScriptOn(l, machine)
			} else {
				data = fn(render.MachinePart(l, machine))
			}
			if file == "" || file == "-" {
				_, err := e.stdout.Write(data)
				return err
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return fileError("the "+output+" file", file, err)
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&output, "output", "o", "svg", "output `FORMAT`: "+renderFormatList())
	cmd.Flags().StringVar(&format, "format", "", "a synonym of -o: the output `FORMAT`")
	cmd.Flags().StringVar(&file, "file", "", "write to the file `PATH` instead of standard output")
	cmd.Flags().Var(machineValue{&machine}, "machine", "for a lab with machines: render only machine `NAME`'s part (the script to run on it; its nodes and their far ends)")
	return cmd
}

// renderFormatList names the formats in the order --help teaches them.
func renderFormatList() string { return "svg, dot, mermaid or script" }

// unknownRenderFormat explains a bad -o. Before -o meant the format, it
// named the file to write: a value that looks like a path gets the new
// spelling.
func unknownRenderFormat(output string) string {
	msg := fmt.Sprintf("unknown output format %q: use %s", output, renderFormatList())
	if strings.ContainsAny(output, "./") {
		msg += fmt.Sprintf("; -o is the format, to write a file use --file %s", output)
	}
	return msg
}
