package check_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
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

// exerciseReasons are, for the exercises whose every failing check fails
// for one reason, that reason's start: a check that fails otherwise (a
// server that did not start, a timeout) proves nothing about the mistake.
var exerciseReasons = map[string]string{
	"10-bind-address":  "refused by ", // the SYN reaches web, where nothing listens on its address
	"11-firewall-path": "path ",       // every probe is answered: only its path is wrong
}

// TestExercises brings every exercise of topologies/exercises up under a
// test name, as the student gets it, and runs its checks: at least one
// fails, saying why, or there is nothing to fix. Then it applies the
// solution to the same running lab, as the student who fixed the file and
// ran up again (the lab is changed in place: no namespace is created or
// deleted), and runs the solution's checks: every one passes. It runs on
// the fake kernel and network (but for the exercises of
// exercisesNotOnFake, whose mistake lies where the fake does not look)
// and, as root, on the real kernel (skipped when a program the
// exercise's nodes run is not installed).
func TestExercises(t *testing.T) {
	t.Parallel()
	onBothNets(t, testExercises)
}

func testExercises(t *testing.T, n *network) {
	dirs := topologies.Exercises()
	if len(dirs) == 0 {
		t.Fatal("no exercises embedded")
	}
	for _, dir := range dirs {
		short := strings.TrimPrefix(dir, topologies.ExercisesDir+"/")
		if n.fake != nil && exercisesNotOnFake[short] != "" {
			continue
		}
		t.Run(short, func(t *testing.T) {
			t.Parallel()
			n := n.own()
			name := kerneltest.LabName(t)

			ex := exerciseLab(t, dir, topologies.ExerciseFile, name)
			if n.fake == nil {
				requirePrograms(t, ex)
			}
			n.up(t, ex)
			failed, arp := 0, false
			for _, r := range n.run(t, ex) {
				if r.Err != nil {
					// A check that cannot run proves nothing about
					// the mistake.
					t.Errorf("%s/%s: %s: %v", dir, topologies.ExerciseFile, r.Name, r.Err)
				} else if !r.Passed {
					failed++
					arp = arp || strings.HasPrefix(r.Reason, "no ARP reply")
					if r.Reason == "" {
						t.Errorf("%s/%s: %s fails without a reason", dir, topologies.ExerciseFile, r.Name)
					}
					if want := exerciseReasons[short]; want != "" && !strings.HasPrefix(r.Reason, want) {
						t.Errorf("%s/%s: %s fails for another reason than the exercise's mistake: %q, want %q...", dir, topologies.ExerciseFile, r.Name, r.Reason, want)
					}
				}
			}
			if failed == 0 {
				t.Errorf("%s/%s: every check passes as shipped; the exercise has nothing to fix", dir, topologies.ExerciseFile)
			}
			if arp && n.fake == nil {
				// The kernel gives up on an address 3 seconds after
				// its first ARP request, about when a 3s check ends,
				// and drops what is queued for it then with "host
				// unreachable". A student takes longer than that to
				// edit the file; wait as long.
				time.Sleep(1500 * time.Millisecond)
			}

			sol := exerciseLab(t, dir, topologies.SolutionFile, name)
			p := n.upEdited(t, sol)
			if p.Empty() {
				t.Errorf("%s: up of the solution changed nothing", dir)
			}
			for _, c := range p.Changes {
				if c.Object == plan.NetNS {
					t.Errorf("%s: up of the solution touches a namespace, not only the lab's objects: %s", dir, c.Line())
				}
			}
			for _, r := range n.run(t, sol) {
				if !r.Passed {
					t.Errorf("%s/%s: %s: failed: %s", dir, topologies.SolutionFile, r.Name, r.Detail())
				}
			}
		})
	}
}
