package main

import (
	"os"
	"path/filepath"

	"netlab/lab"
	"netlab/lab/diag"
	"netlab/lab/labfile"
	"netlab/lab/validate"
	"netlab/topologies"
)

// builtinFile is how diagnostics name the built-in default lab.
const builtinFile = "(built-in) " + topologies.DefaultName

// loadLab loads and validates the lab named by args: the file args[0], or
// the built-in default lab when args is empty. It returns every problem
// found; the lab is usable only when the list has no errors.
func loadLab(args []string) (*lab.Lab, diag.List) {
	var l *lab.Lab
	var diags diag.List
	if len(args) == 0 {
		l, diags = labfile.Parse(builtinFile, topologies.Default())
	} else {
		l, diags = labfile.Load(args[0], displayPath(args[0]))
	}
	diags.Append(validate.Lab(l)...)
	diags.Sort()
	return l, diags
}

// displayPath shows a file relative to the working directory when it lies
// below it, as users expect in FILE:LINE:COL.
func displayPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	return diag.RelFile(wd, abs)
}
