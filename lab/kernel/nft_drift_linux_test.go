package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
	"netlab/topologies"
)

// These tests change netlab's nftables table behind its back, edit the
// rules in the lab file, and watch the kernel's nftables notifications, on
// the built-in default lab (its host masquerades the containers' traffic
// out of eth0). Hand edits go through netlink, so they run where the nft
// binary is missing; each also runs as the nft command a person would type
// when nft is installed, and skips otherwise.

// defaultMasq is the default lab's one rule, in nft syntax.
const defaultMasq = `ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade`

// defaultNAT is the host's nat section in the default lab file.
const defaultNAT = "    nat:\n      - {action: masquerade, source: 192.168.31.0/24, out: eth0}\n"

// singleIPRules is the default lab named name, with the host's nat section
// replaced by rules (YAML at the host's indentation; "" for no rules).
func singleIPRules(t *testing.T, name, rules string) *lab.Lab {
	t.Helper()
	text := string(topologies.Default())
	if !strings.Contains(text, "name: single-ip\n") || !strings.Contains(text, defaultNAT) {
		t.Fatalf("the default lab no longer has the lines \"name: single-ip\" and the host's nat section %q", defaultNAT)
	}
	text = strings.Replace(text, "name: single-ip\n", "name: "+name+"\n", 1)
	return parseLab(t, strings.Replace(text, defaultNAT, rules, 1))
}

// nftIn returns an nftables connection inside the named namespace, for the
// test's own reads and hand edits (netlab's own code is not used).
func nftIn(t *testing.T, netnsName string) *nftables.Conn {
	t.Helper()
	fd := openNS(t, netnsName)
	c, err := nftables.New(nftables.WithNetNSFd(int(fd)))
	if err != nil {
		t.Fatalf("nftables connection in %s: %v", netnsName, err)
	}
	return c
}

// nftFlush sends the hand edits batched on c.
func nftFlush(t *testing.T, c *nftables.Conn) {
	t.Helper()
	if err := c.Flush(); err != nil {
		t.Fatalf("hand edit through netlink: %v", err)
	}
}

// nftBinary returns the path of nft, or skips the test when it is not
// installed (CI machines lack it: every edit also runs through netlink).
func nftBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed: this hand edit also runs through netlink")
	}
	return path
}

// nftExec runs nft inside a namespace, as a person changing the lab by
// hand would, and returns its output.
func nftExec(t *testing.T, netnsName string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", netnsName, nftBinary(t)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft %s in %s: %v: %s", strings.Join(args, " "), netnsName, err, out)
	}
	return string(out)
}

// soleNFTChange returns the plan's one change, which must be the host's
// nftables table with the given action, and no unmanaged objects or
// conflicts.
func soleNFTChange(t *testing.T, p *plan.Plan, action plan.Action) *plan.Change {
	t.Helper()
	if len(p.Changes) != 1 || len(p.Unmanaged) > 0 || len(p.Conflicts) > 0 {
		t.Fatalf("plan has %d change(s), %d unmanaged, %d conflict(s); want only the host's nftables table:\n%s",
			len(p.Changes), len(p.Unmanaged), len(p.Conflicts), planText(p))
	}
	c := p.Changes[0]
	if c.Object != plan.NFTables || c.Node != "host" || c.Action != action {
		t.Fatalf("plan: %s %s %s of node %s; want %s of the host's nftables table:\n%s",
			c.Action.Symbol(), c.Object, c.Describe(), c.Node, action, planText(p))
	}
	return c
}

// requireDetails fails unless the change's Details hold every line of want.
func requireDetails(t *testing.T, c *plan.Change, want ...string) {
	t.Helper()
	got := c.Details()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("details of %s lack %q; got:\n  %s", c.Describe(), w, strings.Join(got, "\n  "))
		}
	}
}

// masqRule reads the host's masquerade rule, with its counters.
func masqRule(t *testing.T, k *kernel.Linux, labName string) *state.NFRule {
	t.Helper()
	s, err := k.Observe(context.Background(), labName, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := s.Nodes["host"]
	if n == nil || n.NFT.Chain("nat_postrouting") == nil {
		t.Fatal("the host has no chain nat_postrouting")
	}
	tag := state.RuleTag(defaultMasq)
	for _, r := range n.NFT.Chain("nat_postrouting").Rules {
		if r.Tag == tag {
			return r
		}
	}
	t.Fatalf("chain nat_postrouting of the host has no rule %q", defaultMasq)
	return nil
}

// netlabTable is netlab's table as the test's own netlink edits name it.
var netlabTable = &nftables.Table{Name: state.NFTableName, Family: nftables.TableFamilyINet}

// nftPolicy returns a pointer to a chain policy.
func nftPolicy(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

// TestNFTDriftRepaired changes netlab's table by hand in each way a person
// might: each time the plan holds exactly one change of the host's table,
// labelled drift, that names the rule; up repairs it, after which the plan
// is empty and the containers' traffic is masqueraded again.
func TestNFTDriftRepaired(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)
		l := singleIP(t, name)
		upLab(t, k, l)
		host := state.NetNSName(name, "host")
		// Traffic, on the real kernel only.
		var server netip.AddrPort
		var c2 netns.NsHandle
		if k.linux {
			server = udpEchoServer(t, openNS(t, state.NetNSName(name, "server")), netip.MustParseAddr("198.51.100.183"))
			c2 = openNS(t, state.NetNSName(name, "c2"))
		}
		masqueraded := func(t *testing.T, when string) {
			t.Helper()
			if !k.linux {
				return
			}
			got, err := udpProbe(c2, server, 10*time.Second)
			if err != nil || got != "from 198.51.100.86" {
				t.Fatalf("%s: c2 -> server: the server saw %q, %v; want \"from 198.51.100.86\" (masqueraded)", when, got, err)
			}
		}
		masqueraded(t, "after up")

		natChain := &nftables.Chain{Name: "nat_postrouting", Table: netlabTable}
		edits := []struct {
			name    string
			nft     []string               // the edit as typed: nft ARGS
			netlink func(c *nftables.Conn) // the same edit through netlink
			action  plan.Action            // of the change that repairs it
			detail  string                 // a line of that change's Details
		}{
			{
				name:    "table deleted",
				nft:     []string{"delete", "table", "inet", "netlab"},
				netlink: func(c *nftables.Conn) { c.DelTable(netlabTable) },
				action:  plan.Create,
				detail:  "+ nat_postrouting: " + defaultMasq,
			},
			{
				name:    "table flushed",
				nft:     []string{"flush", "table", "inet", "netlab"},
				netlink: func(c *nftables.Conn) { c.FlushTable(netlabTable) },
				action:  plan.Update,
				detail:  "+ nat_postrouting: " + defaultMasq,
			},
			{
				name: "rule added",
				nft:  []string{"add", "rule", "inet", "netlab", "nat_postrouting", "counter"},
				netlink: func(c *nftables.Conn) {
					c.AddRule(&nftables.Rule{Table: netlabTable, Chain: natChain, Exprs: []expr.Any{&expr.Counter{}}})
				},
				action: plan.Update,
				detail: "- nat_postrouting: a rule netlab did not write",
			},
			{
				name: "chain policy changed",
				nft:  []string{"add", "chain", "inet", "netlab", "nat_postrouting", "{ type nat hook postrouting priority 100 ; policy drop ; }"},
				netlink: func(c *nftables.Conn) {
					c.AddChain(&nftables.Chain{Name: "nat_postrouting", Table: netlabTable, Type: nftables.ChainTypeNAT,
						Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: nftPolicy(nftables.ChainPolicyDrop)})
				},
				action: plan.Update,
				detail: "~ chain nat_postrouting policy drop -> accept",
			},
		}
		// The fake takes the nft command line only (Seed), the same edit.
		hows := []string{"nft"}
		if k.linux {
			hows = []string{"netlink", "nft"}
		}
		for _, e := range edits {
			for _, how := range hows {
				t.Run(e.name+"/"+how, func(t *testing.T) {
					if how == "nft" && !k.linux {
						k.hand(t, "ip netns exec "+host+" nft "+strings.Join(e.nft, " "))
					} else if how == "nft" {
						nftExec(t, host, e.nft...)
					} else {
						c := nftIn(t, host)
						e.netlink(c)
						nftFlush(t, c)
					}
					_, p := planLab(t, k, l)
					c := soleNFTChange(t, p, e.action)
					if !c.Drift {
						t.Errorf("the change is not labelled drift, though the file still asks for what the last up applied:\n%s", planText(p))
					}
					requireDetails(t, c, e.detail)
					applyPlanned(t, k, l, p)
					if _, p := planLab(t, k, l); !p.Empty() || len(p.Unmanaged) > 0 {
						t.Fatalf("plan after the repair is not empty:\n%s", planText(p))
					}
					masqueraded(t, "after the repair")
				})
			}
		}
	})
}

// TestNFTOtherTablesUntouched makes a table of another name in the host,
// through netlink and with nft: netlab neither lists it as unmanaged nor
// touches it, when it applies its own table and when it deletes it because
// the file dropped every rule.
func TestNFTOtherTablesUntouched(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	bare := singleIPRules(t, name, "")
	k := newLinux(t)
	upLab(t, k, l)
	host := state.NetNSName(name, "host")
	other := &nftables.Table{Name: "other", Family: nftables.TableFamilyINet}

	// otherIntact checks that the table "other" still has its chain c,
	// with the rule it was made with.
	otherIntact := func(t *testing.T, when string) {
		t.Helper()
		c := nftIn(t, host)
		if _, err := c.ListTableOfFamily("other", nftables.TableFamilyINet); err != nil {
			t.Fatalf("%s: table inet other: %v", when, err)
		}
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(chains, func(ch *nftables.Chain) bool { return ch.Table.Name == "other" && ch.Name == "c" })
		if i < 0 {
			t.Fatalf("%s: table inet other lost its chain c", when)
		}
		ch := chains[i]
		if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookInput || ch.Priority == nil || *ch.Priority != 0 || ch.Type != nftables.ChainTypeFilter {
			t.Errorf("%s: chain c of table other changed: %+v", when, ch)
		}
		rules, err := c.GetRules(other, ch)
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != 1 {
			t.Errorf("%s: chain c of table other has %d rule(s), want the 1 it was made with", when, len(rules))
		}
		if _, err := exec.LookPath("nft"); err == nil {
			if out := nftExec(t, host, "list", "tables"); !strings.Contains(out, "table inet other\n") {
				t.Errorf("%s: nft list tables does not show table inet other:\n%s", when, out)
			}
		}
	}
	// noMention checks that a plan neither changes nor lists the table.
	noMention := func(t *testing.T, p *plan.Plan) {
		t.Helper()
		if len(p.Unmanaged) > 0 {
			t.Errorf("plan lists unmanaged objects:\n%s", planText(p))
		}
		if text := planText(p); strings.Contains(text, "other") {
			t.Errorf("plan mentions the table other:\n%s", text)
		}
	}

	makeOther := map[string]func(t *testing.T){
		"netlink": func(t *testing.T) {
			c := nftIn(t, host)
			c.AddTable(other)
			ch := c.AddChain(&nftables.Chain{Name: "c", Table: other, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: nftPolicy(nftables.ChainPolicyAccept)})
			c.AddRule(&nftables.Rule{Table: other, Chain: ch, Exprs: []expr.Any{&expr.Counter{}}})
			nftFlush(t, c)
		},
		"nft": func(t *testing.T) {
			nftExec(t, host, "add", "table", "inet", "other")
			nftExec(t, host, "add", "chain", "inet", "other", "c", "{ type filter hook input priority 0 ; }")
			nftExec(t, host, "add", "rule", "inet", "other", "c", "counter")
		},
	}
	for _, how := range []string{"netlink", "nft"} {
		t.Run("made with "+how, func(t *testing.T) {
			makeOther[how](t)
			t.Cleanup(func() {
				c := nftIn(t, host)
				c.DelTable(other)
				nftFlush(t, c)
			})

			_, p := planLab(t, k, l)
			if !p.Empty() {
				t.Errorf("plan after a table of another name was made is not empty:\n%s", planText(p))
			}
			noMention(t, p)
			applyPlanned(t, k, l, p)
			otherIntact(t, "after up")

			// The file drops every rule: netlab deletes its own table only.
			_, p = planSince(t, k, bare, plan.Desired(l))
			noMention(t, p)
			c := soleNFTChange(t, p, plan.Delete)
			requireDetails(t, c, "- chain nat_postrouting (1 rule(s))")
			applyPlanned(t, k, bare, p)
			if got, err := kernel.ObserveNFT(host, nil); err != nil || got != nil {
				t.Errorf("after the rules were dropped: netlab's table %v, %v; want none", got, err)
			}
			otherIntact(t, "after the rules were dropped")
			if _, p := planLab(t, k, bare); !p.Empty() {
				t.Errorf("plan after the rules were dropped is not empty:\n%s", planText(p))
			} else {
				noMention(t, p)
			}

			// And back.
			upLab(t, k, l)
			otherIntact(t, "after the rules came back")
		})
	}
}

// TestNFTEditsInPlace edits the host's rules in the file, one step at a
// time: each up changes only the host's table, whose Details say rule by
// rule what changes, and the traffic follows.
func TestNFTEditsInPlace(t *testing.T) {
	t.Parallel()
	eachKernel(t, func(t *testing.T, k *testKernel) {
		name := kerneltest.LabName(t)

		// The forward chain lets c1 out, and answers back in; with policy
		// accept, c2 gets out too, until a rule or the policy stops it.
		forward := func(policy string, rules ...string) string {
			s := "    firewall:\n      forward:\n        policy: " + policy + "\n        rules:\n"
			for _, r := range rules {
				s += "          - " + r + "\n"
			}
			return s
		}
		const (
			established = "{action: accept, state: [established, related]}"
			c1Out       = "{action: accept, source: 192.168.31.10/32}"
			c2Drop      = "{action: drop, source: 192.168.31.11/32}"

			establishedText = "ct state established,related counter accept"
			c1OutText       = "ip saddr 192.168.31.10 counter accept"
			c2DropText      = "ip saddr 192.168.31.11 counter drop"
		)
		base := singleIPRules(t, name, defaultNAT+forward("accept", established, c1Out))
		desired := upLabState(t, k, base)

		// Traffic, on the real kernel only.
		var server netip.AddrPort
		var c1, c2 netns.NsHandle
		if k.linux {
			server = udpEchoServer(t, openNS(t, state.NetNSName(name, "server")), netip.MustParseAddr("198.51.100.183"))
			c1, c2 = openNS(t, state.NetNSName(name, "c1")), openNS(t, state.NetNSName(name, "c2"))
		}
		reaches := func(t *testing.T, from string, want bool) {
			t.Helper()
			if !k.linux {
				return
			}
			fd := c1
			if from == "c2" {
				fd = c2
			}
			if want {
				if got, err := udpProbe(fd, server, 10*time.Second); err != nil || got != "from 198.51.100.86" {
					t.Errorf("%s -> server: saw %q, %v; want \"from 198.51.100.86\"", from, got, err)
				}
				return
			}
			if got, err := udpProbe(fd, server, time.Second); !errors.Is(err, errNoAnswer) {
				t.Errorf("%s -> server: got %q, %v; want no answer", from, got, err)
			}
		}
		reaches(t, "c1", true)
		reaches(t, "c2", true)

		steps := []struct {
			name    string
			rules   string
			action  plan.Action
			details []string
			c1, c2  bool // reach the server after the step
		}{
			{
				name:    "add a rule",
				rules:   defaultNAT + forward("accept", established, c1Out, c2Drop),
				action:  plan.Update,
				details: []string{"+ filter_forward: " + c2DropText},
				c1:      true,
			},
			{
				name:    "remove a rule",
				rules:   defaultNAT + forward("accept", established, c1Out),
				action:  plan.Update,
				details: []string{"- filter_forward: " + c2DropText},
				c1:      true, c2: true,
			},
			{
				name:    "change a policy",
				rules:   defaultNAT + forward("drop", established, c1Out),
				action:  plan.Update,
				details: []string{"~ chain filter_forward policy accept -> drop"},
				c1:      true,
			},
			{
				// Without masquerade the server sees 192.168.31.x, which it has
				// no route back to.
				name:    "remove all rules of the node",
				rules:   "",
				action:  plan.Delete,
				details: []string{"- chain filter_forward (2 rule(s))", "- chain nat_postrouting (1 rule(s))"},
			},
			{
				name:   "add them back",
				rules:  defaultNAT + forward("accept", established, c1Out),
				action: plan.Create,
				details: []string{
					"+ filter_forward: " + establishedText, "+ filter_forward: " + c1OutText,
					"+ nat_postrouting: " + defaultMasq,
				},
				c1: true, c2: true,
			},
		}
		for _, st := range steps {
			ok := t.Run(st.name, func(t *testing.T) {
				l := singleIPRules(t, name, st.rules)
				want, p := planSince(t, k, l, desired)
				c := soleNFTChange(t, p, st.action)
				if c.Drift {
					t.Errorf("an edit of the file is labelled drift:\n%s", planText(p))
				}
				requireDetails(t, c, st.details...)
				for _, d := range c.Details() {
					if !strings.HasPrefix(d, "+ ") && !strings.HasPrefix(d, "- ") && !strings.HasPrefix(d, "~ ") {
						t.Errorf("detail %q is not a +, - or ~ line", d)
					}
				}
				applyPlanned(t, k, l, p)
				desired = want
				if _, p := planLab(t, k, l); !p.Empty() {
					t.Fatalf("plan after the edit was applied is not empty:\n%s", planText(p))
				}
				got := observeAll(t, k, name).Nodes["host"].NFT
				if k.linux {
					var err error
					if got, err = kernel.ObserveNFT(state.NetNSName(name, "host"), nil); err != nil {
						t.Fatal(err)
					}
				}
				if got.Signature() != want.Nodes["host"].NFT.Signature() {
					t.Errorf("the host's table is\n%s\nwant\n%s", got.Signature(), want.Nodes["host"].NFT.Signature())
				}
				reaches(t, "c1", st.c1)
				reaches(t, "c2", st.c2)
			})
			if !ok {
				break // later steps start from this one's result
			}
		}
	})
}

// upLabState brings l up and returns its desired state.
func upLabState(t *testing.T, k kernel.Kernel, l *lab.Lab) *state.State {
	t.Helper()
	upLab(t, k, l)
	return plan.Desired(l)
}

// TestNFTSecondUpSilent watches the nftables notifications of every
// namespace of the default lab during a second up: none may come before
// the test's own sentinel, a table it adds in each namespace afterwards.
func TestNFTSecondUpSilent(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	k := newLinux(t)
	upLab(t, k, l)

	type watch struct {
		node   string
		netns  string
		events chan *nftables.MonitorEvent
	}
	var watches []watch
	for _, n := range l.Nodes {
		netnsName := state.NetNSName(name, n.Name)
		watches = append(watches, watch{node: n.Name, netns: netnsName, events: nftMonitor(t, netnsName)})
	}

	// The second up, watched.
	secondUp(t, k, l)

	// The sentinel: the first event of each namespace must be its table.
	for _, w := range watches {
		c := nftIn(t, w.netns)
		c.AddTable(&nftables.Table{Name: "nlsentinel", Family: nftables.TableFamilyINet})
		nftFlush(t, c)
		select {
		case ev, ok := <-w.events:
			switch {
			case !ok:
				t.Errorf("node %s: the nftables monitor closed before the sentinel came", w.node)
			case ev.Error != nil:
				t.Errorf("node %s: nftables monitor: %v", w.node, ev.Error)
			case ev.Type != nftables.MonitorEventTypeNewTable || nftEventText(ev) != "table nlsentinel":
				t.Errorf("node %s: nftables event during the second up: %s", w.node, nftEventText(ev))
			}
		case <-time.After(10 * time.Second):
			t.Errorf("node %s: the sentinel's nftables event never came", w.node)
		}
	}
}

// nftMonitor subscribes to the nftables notifications of a namespace until
// the test ends.
func nftMonitor(t *testing.T, netnsName string) chan *nftables.MonitorEvent {
	t.Helper()
	mon := nftables.NewMonitor(nftables.WithMonitorEventBuffer(64))
	events, err := nftIn(t, netnsName).AddMonitor(mon)
	if err != nil {
		t.Fatalf("monitor nftables in %s: %v", netnsName, err)
	}
	t.Cleanup(func() {
		mon.Close()
		// The monitor's goroutines end once every event is read.
		deadline := time.After(10 * time.Second)
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
			case <-deadline:
				t.Errorf("the nftables monitor of %s did not close", netnsName)
				return
			}
		}
	})
	return events
}

// nftEventText names what an nftables event is about.
func nftEventText(ev *nftables.MonitorEvent) string {
	switch d := ev.Data.(type) {
	case *nftables.Table:
		return "table " + d.Name
	case *nftables.Chain:
		return "chain " + d.Name + " of table " + d.Table.Name
	case *nftables.Rule:
		return "rule in chain " + d.Chain.Name + " of table " + d.Table.Name
	}
	return fmt.Sprintf("event type %d: %T", ev.Type, ev.Data)
}

// TestNFTCounters sends traffic through the host's masquerade rule: the
// rule's packet and byte counters, as Observe reads them, are above zero
// and grow with more traffic.
func TestNFTCounters(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := singleIP(t, name)
	k := newLinux(t)
	upLab(t, k, l)
	server := udpEchoServer(t, openNS(t, state.NetNSName(name, "server")), netip.MustParseAddr("198.51.100.183"))
	c1 := openNS(t, state.NetNSName(name, "c1"))
	probe := func() {
		t.Helper()
		// Each probe is a new socket, so a new connection: a nat chain
		// sees the first packet of each.
		if got, err := udpProbe(c1, server, 10*time.Second); err != nil || got != "from 198.51.100.86" {
			t.Fatalf("c1 -> server: saw %q, %v; want \"from 198.51.100.86\"", got, err)
		}
	}

	probe()
	first := masqRule(t, k, name)
	if first.Packets == 0 || first.Bytes == 0 {
		t.Fatalf("after traffic the masquerade rule counted %d packets, %d bytes; want both above 0", first.Packets, first.Bytes)
	}
	for range 3 {
		probe()
	}
	then := masqRule(t, k, name)
	if then.Packets < first.Packets+3 || then.Bytes <= first.Bytes {
		t.Errorf("after 3 more connections the masquerade rule counted %d packets, %d bytes; want at least %d packets and more than %d bytes",
			then.Packets, then.Bytes, first.Packets+3, first.Bytes)
	}
}
