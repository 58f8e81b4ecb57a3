// Package name holds the one rule for lab and node names, and the type a
// name has once it passed that rule. Lab and node names end up in
// namespace names (/run/netns/LAB.NODE) and file names (/run/netlab/LAB.lock),
// so code that builds a path takes a Name, never a bare string: a Name
// can only be made by Parse.
package name

import "fmt"

// MaxLen bounds lab and node names, so that the namespace name built from
// them (LAB "." NODE) stays short and readable.
const MaxLen = 12

// Problem says what is wrong with a lab or node name, or "" if nothing.
// Names are 1 to 12 characters of a-z, 0-9 and '-', starting with a
// letter, so that no name can carry a path separator, a dot, white space
// or a NUL into a namespace name or a file path.
func Problem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > MaxLen:
		return fmt.Sprintf("is %d characters, at most %d are allowed", len(s), MaxLen)
	case s[0] < 'a' || s[0] > 'z':
		return "must start with a lowercase letter"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("contains %q", r)
		}
	}
	return ""
}

// Name is a lab or node name that passed Problem. The zero Name is no
// name: code that takes a Name refuses it (see IsZero).
type Name struct{ s string }

// Parse returns s as a Name, or an error that quotes s and says what is
// wrong with it ("lab name %q must start with a lowercase letter"). what
// says what kind of name it is ("lab", "node"), for the message.
func Parse(what, s string) (Name, error) {
	if p := Problem(s); p != "" {
		return Name{}, fmt.Errorf("%s name %q %s: use 1 to %d characters of a-z, 0-9 and -, starting with a letter", what, s, p, MaxLen)
	}
	return Name{s}, nil
}

// String returns the name as text.
func (n Name) String() string { return n.s }

// IsZero reports whether n is the zero Name, which Parse never returns.
func (n Name) IsZero() bool { return n.s == "" }
