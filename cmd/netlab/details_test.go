package main

import (
	"bytes"
	"fmt"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/state"
)

// TestFailureDetails: a failed up's error is one line, and the last log
// lines of each failed process follow it, one per line, under it.
func TestFailureDetails(t *testing.T) {
	err := fmt.Errorf("lab x: %w", apply.ProcessErrors{
		{Node: "a", Name: "dies", Exited: true, Status: 3, Log: []string{"starting", "oops\tnow"}},
		{Node: "b", Name: "slow", Ready: &state.Ready{Proto: "tcp", Port: 81, Timeout: 1e9}},
	})
	var stderr bytes.Buffer
	if code := exitCodeFor(&failure{err: err}, &stderr); code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	want := "netlab: lab x: node a: process dies exited with status 3 (the last 2 lines of its log follow); " +
		"node b: process slow is not listening on tcp port 81 after 1s (its log is empty)\n" +
		"  a/dies | starting\n" +
		"  a/dies | oops now\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
}
