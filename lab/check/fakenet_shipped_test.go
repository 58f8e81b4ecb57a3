package check_test

import (
	"context"
	"path"
	"strings"
	"testing"

	"netlab/lab/check"
	"netlab/topologies"
)

// notOnFake are the shipped labs whose checks prove what the fake network
// does not simulate (see kerneltest.Net), with why: TestShippedLabChecks
// runs them on the real kernel only.
var notOnFake = map[string]string{
	"macvlan.yaml":         "a macvlan cannot reach its parent's address: link-layer isolation",
	"macvlan-modes.yaml":   "private and vepa modes isolate at the link layer",
	"netfilter-hooks.yaml": "its checks depend on the firewall rules of the lab",
}

// exercisesNotOnFake are the exercises whose mistake lies where the fake
// network does not look, with why; TestExercises runs them on the real
// kernel.
var exercisesNotOnFake = map[string]string{
	"03-ip-forward":        "the mistake is a sysctl: the fake forwards through every router, ip_forward or not",
	"04-bridge-port":       "the mistake is a bridge port: the fake has no link layer",
	"07-stateful-firewall": "the mistake and its fix are firewall rules, which the fake does not read",
	"08-vxlan-vni":         "the mistake is a VXLAN VNI: the fake has no link layer",
}

// TestExercisesFake runs, on the fake network, each exercise whose
// mistake is in addresses, routes or NAT: as shipped, at least one of its
// checks fails, saying why; its solution passes every check.
func TestExercisesFake(t *testing.T) {
	t.Parallel()
	for _, dir := range topologies.Exercises() {
		short := strings.TrimPrefix(dir, topologies.ExercisesDir+"/")
		if exercisesNotOnFake[short] != "" {
			continue
		}
		t.Run(short, func(t *testing.T) {
			t.Parallel()
			for _, file := range []string{topologies.ExerciseFile, topologies.SolutionFile} {
				data, err := topologies.Read(path.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				l := parseLab(t, string(data))
				failed := 0
				for _, r := range check.Run(context.Background(), fakeNet(l), l, l.Checks) {
					switch {
					case r.Err != nil:
						t.Errorf("%s: %s: %v", file, r.Name, r.Err)
					case !r.Passed && file == topologies.SolutionFile:
						t.Errorf("%s: %s: %s", file, r.Name, r.Detail())
					case !r.Passed:
						failed++
						if r.Reason == "" {
							t.Errorf("%s: %s fails without a reason", file, r.Name)
						}
					}
				}
				if file == topologies.ExerciseFile && failed == 0 {
					t.Errorf("%s: every check passes as shipped", file)
				}
			}
		})
	}
}
