package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"netlab/lab"
	"netlab/lab/apply"
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
	l, _, diags := loadLabText(args)
	return l, diags
}

// loadLabText is loadLab that also returns the text it parsed, read once,
// for up to keep as the lab's applied source.
func loadLabText(args []string) (*lab.Lab, []byte, diag.List) {
	if len(args) == 0 {
		return parseLab(builtinFile, topologies.Default())
	}
	display := displayPath(args[0])
	data, diags := labfile.ReadFile(args[0], display)
	if diags != nil {
		return nil, nil, diags
	}
	return parseLab(display, data)
}

// parseLab parses and validates a lab file's text; file names it in
// diagnostics.
func parseLab(file string, data []byte) (*lab.Lab, []byte, diag.List) {
	l, diags := labfile.Parse(file, data)
	diags.Append(validate.Lab(l)...)
	diags.Sort()
	return l, data, diags
}

// loadApplied loads the lab file a running lab was last brought up with
// (kept by up), for commands given only --lab NAME that need more of the
// file than the kernel holds: its checks. A copy that is no longer valid
// prints its diagnostics.
func loadApplied(e *env, name string) (*lab.Lab, error) {
	l, diags, err := appliedLab(name)
	if diags.HasErrors() {
		_ = diags.WriteText(e.stderr)
		return nil, &exitCode{exitFailure}
	}
	return l, err
}

// appliedLab parses and validates the lab file a running lab was last
// brought up with.
func appliedLab(name string) (*lab.Lab, diag.List, error) {
	data, err := apply.LoadSource(runDir, name)
	if errors.Is(err, apply.ErrNoSource) {
		return nil, nil, fmt.Errorf("lab %s has %w: it is not running, or was brought up by an older netlab; "+
			"give the lab file instead of --lab, or run netlab up FILE again", name, apply.ErrNoSource)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lab %s: read the lab file it was brought up with: %w", name, err)
	}
	l, _, diags := parseLab(apply.SourcePath(runDir, name), data)
	if diags.HasErrors() {
		return nil, diags, fmt.Errorf("%s is not a valid lab file", apply.SourcePath(runDir, name))
	}
	if l.Name != name {
		return nil, nil, fmt.Errorf("%s names lab %q, not %q: give the lab file instead of --lab", apply.SourcePath(runDir, name), l.Name, name)
	}
	return l, nil, nil
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
