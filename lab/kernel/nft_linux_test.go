package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// The netfilter tests send real traffic through each kind of rule and
// assert its effect: the source or destination a listener saw, a drop or a
// reject, and the rule's counter.

// natLab is the single-IP network with extra rules on the host: a port
// forward from the uplink to c1, a redirect on the bridge, an SNAT for c3
// to a second uplink address, and a filter that lets the containers out
// but nothing in.
const natLab = `
name: NAME
nodes:
  host:
    sysctls: {net.ipv4.ip_forward: 1}
    interfaces:
      br0:   {kind: bridge, addresses: [192.168.31.1/24]}
      veth1: {master: br0}
      veth2: {master: br0}
      veth3: {master: br0}
      eth0:  {addresses: [198.51.100.86/24, 198.51.100.87/24]}
    nat:
      - {action: snat, source: 192.168.31.12/32, out: eth0, to: 198.51.100.87}
      - {action: masquerade, source: 192.168.31.0/24, out: eth0}
      - {action: dnat, in: eth0, proto: tcp, dport: 8080, to: "192.168.31.10:80"}
      - {action: redirect, in: br0, proto: tcp, dport: 80, to: 8081}
    firewall:
      forward:
        policy: drop
        rules:
          - {action: accept, state: [established, related]}
          - {action: accept, in: br0, out: eth0}
          - {action: accept, in: eth0, proto: tcp, dport: 80, destination: 192.168.31.10/32}
      input:
        rules:
          - {action: reject, proto: tcp, dport: 22}
          - {action: drop, proto: tcp, dport: 23}
          - {action: log, prefix: "netlab-in: ", proto: udp, dport: 9}
          - {action: count, proto: udp, dport: 9}
  c1:
    interfaces:
      veth0: {addresses: [192.168.31.10/24]}
    routes: [{to: default, via: 192.168.31.1}]
  c2:
    interfaces:
      veth0: {addresses: [192.168.31.11/24]}
    routes: [{to: default, via: 192.168.31.1}]
  c3:
    interfaces:
      veth0: {addresses: [192.168.31.12/24]}
    routes: [{to: default, via: 192.168.31.1}]
  server:
    interfaces:
      eth0: {addresses: [198.51.100.183/24]}
    # A route to the containers, so that only the forward chain's
    # policy keeps the server out.
    routes: [{to: 192.168.31.0/24, via: 198.51.100.86}]
links:
  - [c1:veth0, host:veth1]
  - [c2:veth0, host:veth2]
  - [c3:veth0, host:veth3]
  - [host:eth0, server:eth0]
`

// tcpServer accepts connections inside a namespace and writes to each the
// address it came from, then closes it.
func tcpServer(t *testing.T, netnsName, addr string) {
	t.Helper()
	l, err := kernel.NewLinux().ListenIn(netnsName, "tcp4", addr)
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, netnsName, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s", c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr())
			c.Close()
		}
	}()
}

// tcpProbe connects from a namespace and returns what the server wrote.
func tcpProbe(netnsName, addr string, wait time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := kernel.NewLinux().DialIn(ctx, netnsName, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	return string(b), err
}

// ruleCounter returns the packets counted by the rule with that text in
// the node's netlab table.
func ruleCounter(t *testing.T, k *kernel.Linux, labName, node, chain, text string) uint64 {
	t.Helper()
	s, err := k.Observe(context.Background(), labName, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := s.Nodes[node]
	if n == nil || n.NFT == nil || n.NFT.Chain(chain) == nil {
		t.Fatalf("node %s has no chain %s", node, chain)
	}
	tag := state.RuleTag(text)
	for _, r := range n.NFT.Chain(chain).Rules {
		if r.Tag == tag {
			return r.Packets
		}
	}
	t.Fatalf("chain %s of node %s has no rule %q", chain, node, text)
	return 0
}

func TestNetfilterTraffic(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	k := newLinux(t)
	l := parseLab(t, strings.Replace(natLab, "name: NAME", "name: "+name, 1))
	upLab(t, k, l)
	ns := func(node string) string { return state.NetNSName(name, node) }

	// The server tells each client the source address it saw.
	tcpServer(t, ns("server"), "198.51.100.183:7000")
	t.Run("masquerade", func(t *testing.T) {
		before := ruleCounter(t, k, name, "host", "nat_postrouting", `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`)
		got, err := tcpProbe(ns("c1"), "198.51.100.183:7000", 2*time.Second)
		if err != nil || got != "198.51.100.86" {
			t.Fatalf("c1 -> server: saw %q, %v; want the host's address 198.51.100.86", got, err)
		}
		after := ruleCounter(t, k, name, "host", "nat_postrouting", `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`)
		if after <= before {
			t.Errorf("masquerade counter did not move: %d -> %d", before, after)
		}
	})
	t.Run("snat", func(t *testing.T) {
		got, err := tcpProbe(ns("c3"), "198.51.100.183:7000", 2*time.Second)
		if err != nil || got != "198.51.100.87" {
			t.Fatalf("c3 -> server: saw %q, %v; want the SNAT address 198.51.100.87", got, err)
		}
	})

	// c1 serves port 80; the host forwards its uplink's 8080 there.
	tcpServer(t, ns("c1"), "192.168.31.10:80")
	t.Run("dnat", func(t *testing.T) {
		got, err := tcpProbe(ns("server"), "198.51.100.86:8080", 2*time.Second)
		if err != nil || got != "198.51.100.183" {
			t.Fatalf("server -> host:8080: c1 saw %q, %v; want the server's own address", got, err)
		}
	})
	t.Run("dnat of the node's own traffic", func(t *testing.T) {
		got, err := tcpProbe(ns("host"), "198.51.100.86:8080", 2*time.Second)
		if err != nil || !strings.HasPrefix(got, "198.51.100.86") && !strings.HasPrefix(got, "192.168.31.1") {
			t.Fatalf("host -> its own :8080: got %q, %v; want c1 to answer", got, err)
		}
	})

	// The host serves 8081; the bridge redirects port 80 there.
	tcpServer(t, ns("host"), "0.0.0.0:8081")
	t.Run("redirect", func(t *testing.T) {
		got, err := tcpProbe(ns("c2"), "192.168.31.1:80", 2*time.Second)
		if err != nil || got != "192.168.31.11" {
			t.Fatalf("c2 -> host:80: got %q, %v; want the host's 8081 listener to see c2", got, err)
		}
	})

	t.Run("forward policy drop", func(t *testing.T) {
		tcpServer(t, ns("c2"), "192.168.31.11:7001")
		_, err := tcpProbe(ns("server"), "192.168.31.11:7001", 500*time.Millisecond)
		if err == nil {
			t.Fatal("server reached c2 directly through a forward chain whose policy is drop")
		}
	})
	t.Run("reject", func(t *testing.T) {
		_, err := tcpProbe(ns("c1"), "192.168.31.1:22", 2*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("c1 -> host:22: %v; want connection refused by the reject rule", err)
		}
	})
	t.Run("drop", func(t *testing.T) {
		_, err := tcpProbe(ns("c1"), "192.168.31.1:23", 500*time.Millisecond)
		if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("c1 -> host:23: %v; want a time-out, the packet silently dropped", err)
		}
	})
	t.Run("log and count", func(t *testing.T) {
		logText := `udp dport 9 counter log prefix "netlab-in: "`
		countText := `udp dport 9 counter`
		// A listener, so that no port unreachable makes the client's
		// later sends fail.
		sink, err := kernel.NewLinux().ListenPacketIn(ns("host"), "udp", "192.168.31.1:9")
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		before := ruleCounter(t, k, name, "host", "filter_input", countText)
		beforeLog := ruleCounter(t, k, name, "host", "filter_input", logText)
		c, err := kernel.NewLinux().DialIn(context.Background(), ns("c1"), "udp", "192.168.31.1:9")
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c.Write([]byte("x"))
		}
		c.Close()
		deadline := time.Now().Add(2 * time.Second)
		for ruleCounter(t, k, name, "host", "filter_input", countText) < before+3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := ruleCounter(t, k, name, "host", "filter_input", countText); got < before+3 {
			t.Errorf("count rule: %d packets, want at least %d", got, before+3)
		}
		if got := ruleCounter(t, k, name, "host", "filter_input", logText); got < beforeLog+3 {
			t.Errorf("log rule: %d packets, want at least %d", got, beforeLog+3)
		}
	})

	// A second up sends no nftables message: the plan is empty.
	if _, p := planLab(t, k, l); !p.Empty() {
		t.Errorf("plan after up is not empty:\n%s", planText(p))
	}
}

// TestNFTableAtomic proves that a table the kernel refuses leaves the old
// rules in place, and that the error names the rule.
func TestNFTableAtomic(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		if err := k.NetNSAdd(context.Background(), name, "a"); err != nil {
			t.Fatal(err)
		}
		netnsName := state.NetNSName(name, "a")
		// The table as the kernel has it: ObserveNFT on the real kernel
		// (which reads it alone), Observe on the fake.
		observeNFT := func() (*state.NFTable, error) {
			if k.linux {
				return kernel.ObserveNFT(netnsName, nil)
			}
			s, err := k.Observe(context.Background(), name, nil)
			if err != nil {
				return nil, err
			}
			return s.Nodes["a"].NFT, nil
		}
		good := &state.NFTable{Chains: []*state.NFChain{{
			Name: "filter_input", Type: "filter", Hook: "input", Priority: 0, Policy: "accept",
			Rules: []*state.NFRule{{Proto: "tcp", DPort: 22, Action: "drop"}},
		}}}
		for _, c := range good.Chains {
			for _, r := range c.Rules {
				r.Tag = state.RuleTag(r.Text())
			}
		}
		if err := k.NFTableSet(context.Background(), netnsName, good); err != nil {
			t.Fatal(err)
		}
		// Masquerade belongs in a nat chain: the kernel refuses it in a filter
		// chain, and with it the whole transaction.
		bad := &state.NFTable{Chains: []*state.NFChain{{
			Name: "filter_input", Type: "filter", Hook: "input", Priority: 0, Policy: "drop",
			Rules: []*state.NFRule{
				{Proto: "tcp", DPort: 80, Action: "accept", Origin: "lab.yaml:10:9"},
				{Action: "masquerade", Origin: "lab.yaml:11:9"},
			},
		}}}
		for _, c := range bad.Chains {
			for _, r := range c.Rules {
				r.Tag = state.RuleTag(r.Text())
			}
		}
		err := k.NFTableSet(context.Background(), netnsName, bad)
		if err == nil {
			t.Fatal("the kernel accepted masquerade in a filter chain")
		}
		if !strings.Contains(err.Error(), "lab.yaml:11:9") || !strings.Contains(err.Error(), "masquerade") {
			t.Errorf("error %q does not name the refused rule and its position lab.yaml:11:9", err)
		}
		got, err := observeNFT()
		if err != nil {
			t.Fatal(err)
		}
		if got.Signature() != good.Signature() {
			t.Errorf("after a refused transaction the table is\n%s\nwant the old one\n%s", got.Signature(), good.Signature())
		}
		if err := k.NFTableSet(context.Background(), netnsName, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := observeNFT(); err != nil || got != nil {
			t.Errorf("after delete: table %v, %v; want none", got, err)
		}
	})
}
