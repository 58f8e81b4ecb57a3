package check_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/topologies"
)

// exerciseNameLine is the name: line a lab file starts with.
var exerciseNameLine = regexp.MustCompile(`(?m)^name: .*$`)

// exerciseLab reads one file of an exercise directory and loads it under
// the lab name name, as the test's own lab.
func exerciseLab(t *testing.T, dir, file, name string) *lab.Lab {
	t.Helper()
	data, err := topologies.Read(dir + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if loc := exerciseNameLine.FindStringIndex(text); loc == nil || loc[0] != 0 {
		t.Fatalf("%s/%s does not start with its name: line", dir, file)
	}
	return parseLab(t, exerciseNameLine.ReplaceAllLiteralString(text, "name: "+name))
}

// upEdited applies l to a lab that is running already, as netlab up does
// after the student edited the file, and returns the plan: the lab is
// changed in place, so no namespace is created or deleted.
func upEdited(t *testing.T, l *lab.Lab) *plan.Plan {
	t.Helper()
	k := kernel.NewLinux()
	defer k.Close()
	res, err := reconcile.Up(context.Background(), k, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return res.Plan
}

// TestExercises brings every exercise of topologies/exercises up on the
// kernel under a test name, as the student gets it, and runs its checks:
// at least one fails, or there is nothing to fix. Then it applies the
// solution to the same running lab, as the student who fixed the file and
// ran up again, and runs the solution's checks: every one passes.
func TestExercises(t *testing.T) {
	kerneltest.RequireRoot(t)
	dirs := topologies.Exercises()
	if len(dirs) == 0 {
		t.Fatal("no exercises embedded")
	}
	for _, dir := range dirs {
		t.Run(strings.TrimPrefix(dir, topologies.ExercisesDir+"/"), func(t *testing.T) {
			t.Parallel()
			name := kerneltest.LabName(t)

			ex := exerciseLab(t, dir, topologies.ExerciseFile, name)
			up(t, ex)
			failed, arp := 0, false
			for _, r := range run(t, ex) {
				if r.Err != nil {
					// A check that cannot run proves nothing about
					// the mistake.
					t.Errorf("%s/%s: %s: %v", dir, topologies.ExerciseFile, r.Name, r.Err)
				} else if !r.Passed {
					failed++
					arp = arp || strings.HasPrefix(r.Reason, "no ARP reply")
				}
			}
			if failed == 0 {
				t.Errorf("%s/%s: every check passes as shipped; the exercise has nothing to fix", dir, topologies.ExerciseFile)
			}
			if arp {
				// The kernel gives up on an address 3 seconds after
				// its first ARP request, about when a 3s check ends,
				// and drops what is queued for it then with "host
				// unreachable". A student takes longer than that to
				// edit the file; wait as long.
				time.Sleep(1500 * time.Millisecond)
			}

			sol := exerciseLab(t, dir, topologies.SolutionFile, name)
			p := upEdited(t, sol)
			if p.Empty() {
				t.Errorf("%s: up of the solution changed nothing", dir)
			}
			for _, c := range p.Changes {
				if c.Object == plan.NetNS {
					t.Errorf("%s: up of the solution touches a namespace, not only the lab's objects: %s", dir, c.Line())
				}
			}
			for _, r := range run(t, sol) {
				if !r.Passed {
					t.Errorf("%s/%s: %s: failed: %s", dir, topologies.SolutionFile, r.Name, r.Detail())
				}
			}
		})
	}
}
