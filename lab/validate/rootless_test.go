package validate_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab/labfile"
	"netlab/lab/validate"
)

// TestRootless: what a user's own user namespace cannot have is refused
// at the field that asks for it, with the file's line and column; a lab
// without any of it passes. Each lab is valid for root.
func TestRootless(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text string
		want       []string
	}{
		{"plain", `name: plain
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
      tap0: {kind: tap}
      tun0: {kind: tun}
      mv0: {kind: macvlan, macvlan: {parent: eth0}}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      mv0: {kind: macvlan, macvlan: {parent: a:eth0}}
links:
  - [a:eth0, b:eth0]
`, nil},
		{"host node and macvlan on it", `name: hosted
nodes:
  up:
    host: true
    interfaces:
      nlveth0: {}
  a:
    interfaces:
      eth0: {}
      mv0: {kind: macvlan, macvlan: {parent: up:nlveth0, mode: bridge}}
links:
  - [up:nlveth0, a:eth0]
`, []string{
			`hosted.yaml:4:11: node "up": host: true: a netlab run without root cannot change the machine's own namespace: run the lab as root (sudo netlab up), or give the node a namespace of its own`,
			`hosted.yaml:10:46: node "a": interface "mv0": a MACVLAN on up:nlveth0, an interface of the machine's: a netlab run without root cannot change the machine's own namespace: run the lab as root, or put the parent in a node of the lab`,
		}},
		{"tap of the user", `name: mine
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: 1000, group: 1000}}
      tun0: {kind: tun, tun: {owner: 1000}}
`, nil},
		{"tap of another user", `name: theirs
nodes:
  a:
    interfaces:
      tap0: {kind: tap, tap: {owner: 2000, group: 1000}}
      tun0:
        kind: tun
        tun:
          group: 2001
`, []string{
			`theirs.yaml:5:38: node "a": interface "tap0": owner 2000: a netlab run without root maps only your own user (uid 1000): give your own uid, or run the lab as root`,
			`theirs.yaml:9:18: node "a": interface "tun0": group 2001: a netlab run without root maps only your own group (gid 1000): give your own gid, or run the lab as root`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := strings.Fields(tc.text)[1] + ".yaml"
			l, diags := labfile.Parse(name, []byte(tc.text))
			diags.Append(validate.Lab(l)...)
			if diags.HasErrors() {
				t.Fatalf("the lab is not valid for root: %v", diags)
			}
			got := validate.Rootless(l, 1000, 1000)
			got.Sort()
			var text []string
			for _, d := range got {
				text = append(text, d.String())
			}
			if diff := cmp.Diff(tc.want, text); diff != "" {
				t.Errorf("Rootless (-want +got):\n%s", diff)
			}
			if got.HasErrors() != (tc.want != nil) {
				t.Errorf("HasErrors = %v", got.HasErrors())
			}
		})
	}
}
