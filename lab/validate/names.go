package validate

import (
	"fmt"
	"strings"
	"unicode"

	"netlab/lab/name"
)

// MaxNameLen bounds lab and node names (name.MaxLen).
const MaxNameLen = name.MaxLen

// MaxIfNameLen is the kernel's limit on an interface name (IFNAMSIZ - 1).
const MaxIfNameLen = 15

// NameProblem says what is wrong with a lab or node name, or "" if nothing.
// It is name.Problem: the file, the command line (--lab, NODE) and every
// path builder share that one rule.
func NameProblem(s string) string { return name.Problem(s) }

// IfNameProblem says what the kernel would refuse in an interface name, or
// "" if nothing. It mirrors the kernel's dev_valid_name, and refuses the
// '%' of a name template too.
func IfNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > MaxIfNameLen:
		return fmt.Sprintf("is %d bytes, Linux allows %d", len(name), MaxIfNameLen)
	case name == "." || name == "..":
		return "is not allowed by Linux"
	}
	for _, r := range name {
		switch {
		case r == '/' || r == ':':
			return fmt.Sprintf("contains %q, which Linux does not allow", r)
		case r == '%':
			// Linux takes a name with a '%' as a template ("eth%d" is
			// the first free eth0, eth1...): the device would get
			// another name, or none.
			return "contains '%', which Linux takes as a template for a name it picks"
		case unicode.IsSpace(r) || r == 0:
			return "contains white space, which Linux does not allow"
		}
	}
	return ""
}

func (v *validator) names() {
	l := v.lab
	switch {
	case !l.Has("name"):
		v.diags.Hintf(l.Pos, "add name: followed by a short name such as my-lab", "lab has no name")
	case l.Usable("name"):
		if p := NameProblem(l.Name); p != "" {
			v.diags.Hintf(l.At("name"), "use 1 to 12 characters of a-z, 0-9 and -, starting with a letter", "lab name %q %s", clip(l.Name), p)
		}
	}
	if !l.Has("nodes") {
		v.diags.Hintf(l.Pos, "add nodes: with at least one node", "lab has no nodes")
	} else if len(l.Nodes) == 0 && l.Usable("nodes") {
		v.diags.Hintf(l.At("nodes"), "add at least one node", "lab has no nodes")
	}
	for _, n := range l.Nodes {
		if p := NameProblem(n.Name); p != "" {
			v.diags.Hintf(n.Pos, "use 1 to 12 characters of a-z, 0-9 and -, starting with a letter", "node name %q %s", clip(n.Name), p)
		}
		for _, i := range n.Interfaces {
			if p := IfNameProblem(i.Name); p != "" {
				v.diags.Hintf(i.Pos, ifNameHint(p), "interface name %q %s", clip(i.Name), p)
			}
		}
	}
}

func ifNameHint(problem string) string {
	if strings.HasPrefix(problem, "is ") && strings.Contains(problem, "bytes") {
		return "shorten it"
	}
	return "rename it"
}

// clip shortens a user's value for quoting in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
