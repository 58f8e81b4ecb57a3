package kernel

import (
	"strings"
	"testing"
)

// TestNetNSPathRefusesHostileNames feeds names that could lead out of
// NetNSDir, or that netlab never makes, to the one builder of namespace
// paths: each is refused, and so is every namespace operation on it.
func TestNetNSPathRefusesHostileNames(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"", ".", "..", "../../tmp/x", "lab.../x", "lab./x", "a/b", "lab.a/b", "lab.a b", "a b",
		"lab.HX", "HX", "lab.a\nb", "a\nb", "lab.a.b", ".a", "a.", "lab." + strings.Repeat("a", 13),
		strings.Repeat("a", 13) + ".a", strings.Repeat("x", 4096),
	} {
		if p, err := NewLinux().netnsPath(bad); err == nil {
			t.Errorf("netnsPath(%q) = %q, want a refusal", bad, p)
		}
		if err := NewLinux().NetNSExists(bad); err == nil || !strings.Contains(err.Error(), "invalid namespace name") {
			t.Errorf("NetNSExists(%q) = %v, want a refusal of the name", bad, err)
		}
	}
	for _, good := range []string{"single-ip.c1", "nltest0a1b2c.host", "nltest0a1b2c"} {
		p, err := NewLinux().netnsPath(good)
		if err != nil || p != NetNSDir+"/"+good {
			t.Errorf("netnsPath(%q) = %q, %v", good, p, err)
		}
	}
	// A rootless netlab's directory is the one its paths are in.
	if p, err := NewLinux(WithNetNSDir("/tmp/netlab-1000/netns")).netnsPath("lab.n1"); err != nil || p != "/tmp/netlab-1000/netns/lab.n1" {
		t.Errorf("netnsPath in another directory = %q, %v", p, err)
	}
}
