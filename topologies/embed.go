// Package topologies holds the lab files that ship inside the netlab
// binary: the default lab, the example labs of the course, and the
// exercises with their solutions.
package topologies

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed *.yaml exercises
var files embed.FS

// ExercisesDir holds the exercises: one directory each, NN-topic, with the
// task (README.md), the lab as the student gets it (exercise.yaml) and the
// lab fixed (solution.yaml).
const ExercisesDir = "exercises"

// The files of every exercise directory.
const (
	ExerciseFile = "exercise.yaml"
	SolutionFile = "solution.yaml"
	TaskFile     = "README.md"
)

// DefaultName is the file name of the built-in default lab: the single-IP
// container network of the lab file spec.
const DefaultName = "single-ip.yaml"

// Default returns the text of the built-in default lab.
func Default() []byte {
	data, err := files.ReadFile(DefaultName)
	if err != nil {
		panic("topologies: default lab missing from the binary: " + err.Error())
	}
	return data
}

// Names lists the shipped topologies, the lab files at the top of this
// directory, sorted. The exercises are not among them (see Exercises).
func Names() []string {
	var names []string
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Exercises lists the exercise directories, as "exercises/NN-topic",
// sorted.
func Exercises() []string {
	var dirs []string
	entries, _ := fs.ReadDir(files, ExercisesDir)
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, path.Join(ExercisesDir, e.Name()))
		}
	}
	sort.Strings(dirs)
	return dirs
}

// Read returns an embedded lab file by the name Names gives, with or
// without its .yaml suffix, or a file of an exercise by its path,
// "exercises/NN-topic/exercise.yaml" (or solution.yaml, README.md).
func Read(name string) ([]byte, error) {
	if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".md") {
		name += ".yaml"
	}
	return files.ReadFile(path.Clean(name))
}
