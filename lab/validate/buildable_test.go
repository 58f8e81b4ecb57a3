package validate_test

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"testing"

	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/reconcile"
	"netlab/lab/validate"
	"netlab/topologies"
)

// labText is one lab file to judge, by the name its diagnostics use.
type labText struct {
	name string
	data []byte
}

// everyLab returns every lab file of the repository: this package's
// testdata, valid and invalid, the shipped topologies and the exercises
// with their solutions.
func everyLab(t testing.TB) []labText {
	t.Helper()
	var out []labText
	for _, dir := range []string{"valid", "invalid"} {
		for _, p := range yamlFiles(t, dir) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, labText{dir + "/" + filepath.Base(p), data})
		}
	}
	names := topologies.Names()
	for _, dir := range topologies.Exercises() {
		names = append(names, path.Join(dir, topologies.ExerciseFile), path.Join(dir, topologies.SolutionFile))
	}
	for _, name := range names {
		data, err := topologies.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, labText{"topologies/" + name, data})
	}
	return out
}

// TestCleanMeansBuildable holds validate to its promise: a lab it passes
// is one that up does not refuse for what the file says. Every lab file of
// the repository that validates clean is planned against an empty fake
// kernel, which refuses what Linux refuses (an STP bridge, a multicast or
// all-zero MAC, a MAC on a tun) and what netlab must never do (change the
// machine's own routes, sysctls or nftables through a host node); the plan
// must apply without error, and leave the kernel as the file says. The
// files that do not validate are the other half: each of testdata/invalid
// that is about such a refusal would fail here if validate let it pass.
func TestCleanMeansBuildable(t *testing.T) {
	built := 0
	for _, lt := range everyLab(t) {
		if !valid(lt.name, lt.data) {
			continue
		}
		built++
		t.Run(lt.name, func(t *testing.T) { buildClean(t, lt.name, lt.data) })
	}
	if built < 20 {
		t.Errorf("only %d lab files validate clean: the test proves little", built)
	}
}

// FuzzCleanMeansBuildable is TestCleanMeansBuildable over lab files the
// fuzzer makes from the repository's own:
//
//	go test ./lab/validate -run '^$' -fuzz FuzzCleanMeansBuildable -fuzztime 5m
func FuzzCleanMeansBuildable(f *testing.F) {
	for _, lt := range everyLab(f) {
		f.Add(lt.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if valid("fuzz.yaml", data) {
			buildClean(t, "fuzz.yaml", data)
		}
	})
}

func valid(name string, data []byte) bool {
	l, diags := labfile.Parse(name, data)
	diags.Append(validate.Lab(l)...)
	return l != nil && !diags.HasErrors()
}

// buildClean runs up of a lab that validates clean on an empty fake
// kernel: it must succeed and leave the kernel as the file says.
func buildClean(t *testing.T, name string, data []byte) {
	t.Helper()
	l, _ := labfile.Parse(name, data)
	if len(l.Machines) == 0 {
		k := kerneltest.NewFake()
		if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{}); err != nil {
			t.Fatalf("validate passes %s, but up fails: %v", name, err)
		}
		return
	}
	// A lab over machines is built on each, a fake of its own with the
	// machine's address on its eth0.
	for _, m := range l.Machines {
		k := kerneltest.NewFake()
		bits := 24
		if m.Address.Is6() {
			bits = 64
		}
		if err := k.Seed(fmt.Sprintf("ip addr add %s/%d dev eth0", m.Address, bits)); err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Up(context.Background(), k, l, reconcile.Options{Machine: m.Name}); err != nil {
			t.Fatalf("validate passes %s, but up --machine %s fails: %v", name, m.Name, err)
		}
	}
}
