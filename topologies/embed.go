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

//go:embed *.yaml
var files embed.FS

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

// Names lists the embedded lab files, sorted.
func Names() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// Read returns an embedded lab file by the name Names gives, with or
// without its .yaml suffix.
func Read(name string) ([]byte, error) {
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	return files.ReadFile(path.Clean(name))
}
