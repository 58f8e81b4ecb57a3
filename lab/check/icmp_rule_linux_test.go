package check_test

import (
	"testing"

	"netlab/lab/kernel/kerneltest"
)

// TestICMPRuleBothFamilies: a firewall rule with proto icmp and no
// address matches ICMPv4 and ICMPv6 alike (meta l4proto { icmp,
// ipv6-icmp }), so both pings through the gateway are dropped; before, it
// matched ICMPv4 only and the IPv6 ping went through. TCP to the same
// server proves both paths are up before the pings.
func TestICMPRuleBothFamilies(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := parseLab(t, `name: `+name+`
nodes:
  c:
    interfaces:
      eth0: {addresses: [10.74.0.2/24, "fd74:1::2/64"]}
    routes: [{to: default, via: 10.74.0.1}, {to: "::/0", via: "fd74:1::1"}]
  gw:
    sysctls: {net.ipv4.ip_forward: 1, net.ipv6.conf.all.forwarding: 1}
    interfaces:
      eth0: {addresses: [10.74.0.1/24, "fd74:1::1/64"]}
      eth1: {addresses: [10.75.0.1/24, "fd74:2::1/64"]}
    firewall:
      forward:
        rules:
          - {action: drop, proto: icmp, in: eth0}
  s:
    interfaces:
      eth0: {addresses: [10.75.0.2/24, "fd74:2::2/64"]}
    routes: [{to: default, via: 10.75.0.1}, {to: "::/0", via: "fd74:2::1"}]
links:
  - [c:eth0, gw:eth0]
  - [gw:eth1, s:eth0]
checks:
  - {from: c, to: s, address: "fd74:2::2", proto: tcp, port: 80, timeout: 5s}
  - {from: c, to: s, address: 10.75.0.2, proto: tcp, port: 80, timeout: 5s}
  - {from: c, ping: "fd74:2::2", expect: fail}
  - {from: c, ping: 10.75.0.2, expect: fail}
`)
	up(t, l)
	passInTurn(t, l, l.Checks[:2], l.Checks[2:])
}
