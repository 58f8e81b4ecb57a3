package topologies_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/labfile"
	"netlab/lab/validate"
	"netlab/topologies"
)

// TestEmbedded requires every shipped lab to load and validate with no
// diagnostic at all: every example is a test.
func TestEmbedded(t *testing.T) {
	names := topologies.Names()
	if len(names) == 0 {
		t.Fatal("no embedded labs")
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := topologies.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			l, diags := labfile.Parse(name, data)
			diags.Append(validate.Lab(l)...)
			if len(diags) != 0 {
				t.Fatalf("want no diagnostics, got:\n%s", diags.Err())
			}
			if len(l.Nodes) == 0 {
				t.Errorf("%s has no nodes", name)
			}
		})
	}
}

// TestNames checks that Names lists exactly the lab files of this
// directory, sorted, so that none is left out of the binary.
func TestNames(t *testing.T) {
	onDisk, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(onDisk)
	got := topologies.Names()
	if diff := cmp.Diff(onDisk, got); diff != "" {
		t.Errorf("Names() (-on disk +embedded):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Names() is not sorted: %q", got)
	}
	if !slices.Contains(got, topologies.DefaultName) {
		t.Errorf("Names() = %q, lacks the default lab %q", got, topologies.DefaultName)
	}
}

func TestRead(t *testing.T) {
	want, err := os.ReadFile(topologies.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"single-ip", "single-ip.yaml", "./single-ip.yaml"} {
		got, err := topologies.Read(name)
		if err != nil {
			t.Errorf("Read(%q): %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Read(%q) differs from %s on disk", name, topologies.DefaultName)
		}
	}
	for _, name := range []string{"no-such-lab", "../go.mod", "/etc/passwd", "", "embed.go", "exercises", "exercises/no-such/exercise.yaml"} {
		if _, err := topologies.Read(name); err == nil {
			t.Errorf("Read(%q) succeeded, want an error", name)
		}
	}
}

// TestDefault checks that the built-in default lab is single-ip.yaml as it
// is on disk.
func TestDefault(t *testing.T) {
	if topologies.DefaultName != "single-ip.yaml" {
		t.Errorf("DefaultName = %q, want single-ip.yaml", topologies.DefaultName)
	}
	want, err := os.ReadFile("single-ip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(topologies.Default())); diff != "" {
		t.Errorf("Default() differs from single-ip.yaml (-disk +Default):\n%s", diff)
	}
}

// specPath is the lab file spec, kept in the repository (docs/spec/ holds
// verbatim copies of the contract) so that this test runs in any clone.
const specPath = "../docs/spec/lab-format.md"

// TestDefaultIsSpecExample checks that the default lab is, byte for byte,
// the complete example of the lab file spec, so that what the spec shows is
// what `netlab up` with no file builds.
func TestDefaultIsSpecExample(t *testing.T) {
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("%v: the spec belongs in the repository", err)
	}
	example, ok := completeExample(string(data))
	if !ok {
		t.Fatalf("%s has no \"## A complete example\" section with a yaml block", specPath)
	}
	if diff := cmp.Diff(example, string(topologies.Default())); diff != "" {
		t.Errorf("Default() differs from the complete example of %s (-spec +Default):\n%s", specPath, diff)
	}
}

// completeExample returns the first ```yaml block after the spec's
// "## A complete example" heading.
func completeExample(spec string) (string, bool) {
	_, rest, ok := strings.Cut(spec, "\n## A complete example")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "\n```yaml\n")
	if !ok {
		return "", false
	}
	block, _, ok := strings.Cut(rest, "\n```")
	if !ok {
		return "", false
	}
	return block + "\n", true
}

// TestExercises checks every exercise directory as a course author would:
// it has its task (README.md), the lab as the student gets it and the lab
// fixed; both load and validate with no diagnostic at all (the mistake of
// an exercise is one validation cannot see); both name the same lab, with
// checks; the two differ; and no two exercises, nor an exercise and a
// shipped topology, share a lab name. The directories on disk are exactly
// those embedded.
func TestExercises(t *testing.T) {
	dirs := topologies.Exercises()
	if len(dirs) < 8 {
		t.Fatalf("Exercises() = %q, want at least 8", dirs)
	}
	onDisk, err := filepath.Glob(filepath.Join(topologies.ExercisesDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(onDisk)
	if diff := cmp.Diff(onDisk, dirs); diff != "" {
		t.Errorf("Exercises() (-on disk +embedded):\n%s", diff)
	}
	labNames := make(map[string]string) // lab name -> where it is used
	for _, name := range topologies.Names() {
		data, err := topologies.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := labfile.Parse(name, data)
		labNames[l.Name] = name
	}
	for _, dir := range dirs {
		t.Run(strings.TrimPrefix(dir, topologies.ExercisesDir+"/"), func(t *testing.T) {
			task, err := topologies.Read(dir + "/" + topologies.TaskFile)
			if err != nil {
				t.Fatal(err)
			}
			if len(bytes.TrimSpace(task)) == 0 {
				t.Errorf("%s/%s is empty", dir, topologies.TaskFile)
			}
			texts := make(map[string][]byte)
			var names []string
			for _, file := range []string{topologies.ExerciseFile, topologies.SolutionFile} {
				p := dir + "/" + file
				data, err := topologies.Read(p)
				if err != nil {
					t.Fatal(err)
				}
				texts[file] = data
				if !bytes.HasPrefix(data, []byte("name: ")) {
					t.Errorf("%s does not start with its name: line", p)
				}
				l, diags := labfile.Parse(p, data)
				diags.Append(validate.Lab(l)...)
				if len(diags) != 0 {
					t.Fatalf("%s: want no diagnostics, got:\n%s", p, diags.Err())
				}
				if len(l.Checks) == 0 {
					t.Errorf("%s has no checks to grade it", p)
				}
				names = append(names, l.Name)
			}
			if names[0] != names[1] {
				t.Errorf("exercise names lab %q, solution %q: a student fixes one lab", names[0], names[1])
			}
			// The checks are the grade: the solution passes the very
			// checks the student gets.
			_, exChecks, _ := bytes.Cut(texts[topologies.ExerciseFile], []byte("\nchecks:\n"))
			_, solChecks, _ := bytes.Cut(texts[topologies.SolutionFile], []byte("\nchecks:\n"))
			if !bytes.Equal(exChecks, solChecks) {
				t.Errorf("%s: exercise and solution have different checks", dir)
			}
			if bytes.Equal(texts[topologies.ExerciseFile], texts[topologies.SolutionFile]) {
				t.Errorf("%s: exercise and solution are the same", dir)
			}
			if other, ok := labNames[names[0]]; ok {
				t.Errorf("lab name %q of %s is also the name of %s", names[0], dir, other)
			}
			labNames[names[0]] = dir
			if !bytes.Contains(task, []byte(topologies.ExerciseFile)) {
				t.Errorf("%s/%s does not tell the student to use %s", dir, topologies.TaskFile, topologies.ExerciseFile)
			}
		})
	}
}
