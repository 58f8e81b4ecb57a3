package name_test

import (
	"strings"
	"testing"

	"netlab/lab/name"
)

// hostile are names a user or an attacker could pass on the command line
// or plant in /run: each must be refused, since each would reach a path.
var hostile = []string{
	"", "../../tmp/x", "a/b", ".", "..", "a.b", "a b", "HX", "a\nb", "a\x00b",
	"-a", "1a", "a_b", "é", strings.Repeat("a", name.MaxLen+1), strings.Repeat("x", 4096),
}

func TestParseRefusesHostileNames(t *testing.T) {
	for _, s := range hostile {
		n, err := name.Parse("lab", s)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", s, n)
			continue
		}
		if !n.IsZero() {
			t.Errorf("Parse(%q) returned the non-zero Name %q with its error", s, n)
		}
		if !strings.Contains(err.Error(), "lab name ") {
			t.Errorf("Parse(%q): error %q does not say which name is wrong", s, err)
		}
	}
}

func TestParseKeepsValidNames(t *testing.T) {
	for _, s := range []string{"a", "single-ip", "nltest0a1b2c", "r1", "a-"} {
		n, err := name.Parse("node", s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if n.String() != s || n.IsZero() {
			t.Errorf("Parse(%q) = %q (zero %v)", s, n, n.IsZero())
		}
	}
}

func TestProblem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "is empty"},
		{"abcdefghijklm", "is 13 characters, at most 12 are allowed"},
		{"Ab", "must start with a lowercase letter"},
		{"a.b", `contains '.'`},
		{"a\nb", `contains '\n'`},
		{"ok-1", ""},
	}
	for _, tc := range tests {
		if got := name.Problem(tc.in); got != tc.want {
			t.Errorf("Problem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
