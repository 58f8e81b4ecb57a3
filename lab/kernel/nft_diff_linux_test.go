package kernel_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
)

// TestNFTDifferential compares, where the nft binary is installed, the
// table netlab writes through netlink with the table nft builds from the
// script netlab prints for the same rules (render --format script and the
// plan show that script). Both are listed by nft, so any difference in the
// expressions netlab compiles shows up as text.
func TestNFTDifferential(t *testing.T) {
	kerneltest.RequireRoot(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed; .ci/run installs it for this test")
	}
	t.Parallel()
	l := parseLab(t, strings.Replace(natLab, "name: NAME", "name: nltestdiff", 1))
	l6 := parseLab(t, ipv6RulesLab)
	for _, node := range append(l.Nodes, l6.Nodes...) {
		table := plan.NodeNFT(node)
		if table == nil {
			continue
		}
		t.Run(node.Name, func(t *testing.T) {
			viaNetlink, viaScript := kerneltest.NewTestNS(t), kerneltest.NewTestNS(t)
			k := newLinux(t)
			if err := k.NFTableSet(context.Background(), viaNetlink, table); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("ip", "netns", "exec", viaScript, nft, "-f", "-")
			cmd.Stdin = strings.NewReader(table.Script())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft -f of netlab's script: %v\n%s\nscript:\n%s", err, out, table.Script())
			}
			list := func(ns string) string {
				out, err := exec.Command("ip", "netns", "exec", ns, nft, "list", "table", "inet", "netlab").CombinedOutput()
				if err != nil {
					t.Fatalf("nft list in %s: %v\n%s", ns, err, out)
				}
				return string(out)
			}
			got, want := list(viaNetlink), list(viaScript)
			if got != want {
				t.Errorf("netlab's table differs from nft's build of the same script\nnetlab:\n%s\nnft:\n%s", got, want)
			}
			// And netlab reads back, as its own, what nft built.
			back, err := kernel.ObserveNFT(viaScript, table)
			if err != nil {
				t.Fatal(err)
			}
			if back.Signature() != table.Signature() {
				t.Errorf("netlab reads nft's table as\n%s\nwant\n%s", back.Signature(), table.Signature())
			}
			own, err := kernel.ObserveNFT(viaNetlink, table)
			if err != nil {
				t.Fatal(err)
			}
			if own.Signature() != table.Signature() {
				t.Errorf("netlab reads its own table as\n%s\nwant\n%s", own.Signature(), table.Signature())
			}
		})
	}
}

// ipv6RulesLab has IPv6 matches and translations, ICMP, every conntrack
// state and dnat to several targets, for the differential test.
const ipv6RulesLab = `
name: nltestdiff6
nodes:
  gw:
    interfaces:
      br0: {kind: bridge, addresses: ["2001:db8:1::1/64"]}
      up0: {kind: bridge, addresses: ["2001:db8:2::1/64"]}
    nat:
      - {action: masquerade, source: "2001:db8:1::/64", out: up0}
      - {action: snat, source: "2001:db8:1::5/128", to: "2001:db8:2::9"}
      - {action: dnat, destination: "2001:db8:2::1/128", proto: udp, dport: 53, to: "[2001:db8:1::53]:5353"}
      - {action: dnat, in: br0, proto: tcp, dport: 8080, to: ["2001:db8:1::10", "2001:db8:1::11"]}
    firewall:
      output:
        policy: drop
        rules:
          - {action: accept, state: [new, invalid, untracked]}
          - {action: accept, proto: icmp, out: br0}
          - {action: log}
          - {action: reject, destination: "2001:db8:2::/48"}
  gw4:
    interfaces:
      br0: {kind: bridge, addresses: [10.9.0.1/24]}
    nat:
      # A service spread over three backends, as kube-proxy does it.
      - {action: dnat, destination: 10.96.0.10/32, proto: tcp, dport: 80, to: ["10.9.0.10:8080", "10.9.0.11:8080", "10.9.0.12:8080"]}
    firewall:
      input:
        rules:
          - {action: reject, source: 10.9.0.0/24, proto: tcp, dport: 25}
          - {action: drop, proto: udp}
`
