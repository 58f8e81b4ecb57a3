package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"netlab/lab"
	"netlab/render"
)

// renderFormats maps each --format to its renderer.
var renderFormats = map[string]func(*lab.Lab) []byte{
	"svg":     render.SVG,
	"dot":     render.Dot,
	"mermaid": render.Mermaid,
	"script":  render.Script,
}

func newRenderCmd(e *env) *cobra.Command {
	var format, outPath string
	cmd := &cobra.Command{
		Use:   "render [FILE]",
		Short: "Draw the lab (svg, dot, mermaid) or print the ip and nft commands that build it",
		Long: `render turns a lab file into a picture or a script, without root and without
touching the kernel. --format svg draws the topology as a self-contained SVG;
dot and mermaid write the same graph for Graphviz and Mermaid; script writes
the bash script of ip and nft commands that builds the lab by hand, in the
order netlab up would run them (the commands netlab plan shows). The output
goes to standard output, or to the file -o names. With no FILE it renders the
built-in default lab.`,
		Example: `  netlab render lab.yaml -o lab.svg
  netlab render lab.yaml --format dot | dot -Tpng -o lab.png
  netlab render --format script > build-lab.sh`,
		Args: maxArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			fn, ok := renderFormats[format]
			if !ok {
				return usagef("unknown format %q: use svg, dot, mermaid or script", format)
			}
			l, diags := loadLab(args)
			if diags.HasErrors() {
				_ = diags.WriteText(e.stderr)
				return &exitCode{exitFailure}
			}
			_ = diags.WriteText(e.stderr) // warnings
			data := fn(l)
			if outPath == "" || outPath == "-" {
				_, err := e.stdout.Write(data)
				return err
			}
			if err := os.WriteFile(outPath, data, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", outPath, err)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&format, "format", "svg", "svg, dot, mermaid or script")
	cmd.Flags().StringVarP(&outPath, "output", "o", "", "write to this file instead of standard output")
	return cmd
}
