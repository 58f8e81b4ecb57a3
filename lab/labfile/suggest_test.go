package labfile

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		// identity and empty strings
		{"equal", "addresses", "addresses", 0},
		{"both empty", "", "", 0},
		{"empty a", "", "mtu", 3},
		{"empty b", "mtu", "", 3},

		// one edit of each kind
		{"deletion", "adresses", "addresses", 1},
		{"insertion", "mttu", "mtu", 1},
		{"substitution", "mtv", "mtu", 1},
		{"adjacent swap", "mdoe", "mode", 1},
		{"swap at end", "vin", "vni", 1},

		// several edits
		{"two substitutions", "sctp", "icmp", 2},
		{"swap and delete", "sctp", "tcp", 2},
		{"unrelated", "topology", "name", 8},
		{"symmetric", "addresses", "adresses", 1},

		// long strings are never typos of a field name
		{"long", string(make([]byte, 65)), "a", 64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	ifaceFields := []string{"kind", "addresses", "mac", "mtu", "master", "up", "bridge", "macvlan", "vxlan", "tun", "tap"}
	tests := []struct {
		name       string
		s          string
		candidates []string
		want       string
	}{
		// typos get their field
		{"missing letter", "adresses", ifaceFields, "addresses"},
		{"swapped letters", "mastre", ifaceFields, "master"},
		{"short word", "mut", []string{"endpoints", "mtu"}, "mtu"},
		{"plural", "sysctl", []string{"interfaces", "routes", "sysctls", "nat", "firewall", "host"}, "sysctls"},
		{"value typo", "masqerade", []string{"masquerade", "snat", "dnat", "redirect"}, "masquerade"},
		{"closest wins", "vxlna", ifaceFields, "vxlan"},

		// no suggestion
		{"exact match is not a typo but still nearest", "mtu", ifaceFields, "mtu"},
		{"too far", "topology", []string{"name", "description", "nodes", "links", "checks"}, ""},
		{"too far for a short word", "user", []string{"owner", "group"}, ""},
		{"tie between two candidates", "sctp", []string{"icmp", "tcp", "udp"}, ""},
		{"no candidates", "mtu", nil, ""},
		{"empty input", "", []string{"ab", "cd"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nearest(tc.s, tc.candidates); got != tc.want {
				t.Errorf("nearest(%q, %q) = %q, want %q", tc.s, tc.candidates, got, tc.want)
			}
		})
	}
}
