package kernel_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// familyLab is a dual-stack gateway that forwards its port 8080 to the
// server, once per family: the IPv6 rule first, so that an IPv4 packet
// meets it before its own.
const familyLab = `name: LAB
nodes:
  gw:
    sysctls: {net.ipv4.ip_forward: 1, net.ipv6.conf.all.forwarding: 1}
    interfaces:
      eth0: {addresses: [10.70.0.1/24, "fd70:1::1/64"]}
      eth1: {addresses: [10.71.0.1/24, "fd70:2::1/64"]}
    nat:
      - {action: dnat, in: eth0, proto: tcp, dport: 8080, to: "[fd70:2::2]:80"}
      - {action: dnat, in: eth0, proto: tcp, dport: 8080, to: "10.71.0.2:80"}
  c:
    interfaces:
      eth0: {addresses: [10.70.0.2/24, "fd70:1::2/64"]}
  s:
    interfaces:
      eth0: {addresses: [10.71.0.2/24, "fd70:2::2/64"]}
    routes:
      - {to: default, via: 10.71.0.1}
      - {to: "::/0", via: "fd70:2::1"}
links:
  - [gw:eth0, c:eth0]
  - [gw:eth1, s:eth0]
`

// TestNATFamilyCounters sends IPv4 and then IPv6 connections through a
// gateway with a dnat rule of each family on the same port: each rule's
// counter counts its own family only. Before rules of one family matched
// it, the IPv6 rule counted every IPv4 packet it saw first.
func TestNATFamilyCounters(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	l := parseLab(t, strings.Replace(familyLab, "name: LAB", "name: "+name, 1))
	upLab(t, k, l)

	var v4, v6 string // the rules' texts, as the plan compiles them
	for _, r := range plan.NodeNFT(l.Node("gw")).Chain("nat_prerouting").Rules {
		if r.ToAddr.Is6() {
			v6 = r.Text()
		} else {
			v4 = r.Text()
		}
	}
	counters := func() (uint64, uint64) {
		return ruleCounter(t, k, name, "gw", "nat_prerouting", v4), ruleCounter(t, k, name, "gw", "nat_prerouting", v6)
	}

	ln, err := kernel.NewLinux().ListenIn(state.NetNSName(name, "s"), "tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "s")
			c.Close()
		}
	}()
	// probe connects from c to the gateway's 8080, retrying while IPv6
	// duplicate address detection may still hold the addresses back.
	probe := func(addr string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := kernel.NewLinux().DialIn(ctx, state.NetNSName(name, "c"), "tcp", addr)
			cancel()
			if err == nil {
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				b, err := io.ReadAll(c)
				c.Close()
				if err != nil || string(b) != "s" {
					t.Fatalf("%s: read %q, %v; want the server's answer", addr, b, err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	v4Before, v6Before := counters()
	for range 3 {
		probe(net.JoinHostPort("10.70.0.1", "8080"))
	}
	v4After, v6After := counters()
	if v4After < v4Before+3 {
		t.Errorf("IPv4 dnat counted %d packets for 3 IPv4 connections", v4After-v4Before)
	}
	if v6After != v6Before {
		t.Errorf("IPv6 dnat (%s) counted %d packets of IPv4 traffic", v6, v6After-v6Before)
	}

	probe(net.JoinHostPort("fd70:1::1", "8080"))
	v4Final, v6Final := counters()
	if v6Final <= v6After {
		t.Errorf("IPv6 dnat counted no packet of an IPv6 connection")
	}
	if v4Final != v4After {
		t.Errorf("IPv4 dnat (%s) counted %d packets of IPv6 traffic", v4, v4Final-v4After)
	}
}
