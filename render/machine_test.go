package render

import (
	"context"
	"slices"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
)

// machineLabs are the labs of labs() that have machines.
func machineLabs(t *testing.T) []testLab {
	t.Helper()
	var out []testLab
	for _, tl := range labs(t) {
		if len(tl.lab.Machines) > 0 {
			out = append(out, tl)
		}
	}
	if len(out) == 0 {
		t.Fatal("no lab with machines in testdata/labs")
	}
	return out
}

// roundTripMachines is the round trip of a lab with machines, one machine
// at a time on the fake kernel: each machine's part of the script, run
// on a fake machine with that machine's address, leaves nothing for
// plan --machine to do there. The real kernel has none of the machines'
// addresses, and a part run on it would build VXLANs in this machine's
// own namespace: the fake alone runs it.
func roundTripMachines(t *testing.T, tl *lab.Lab) {
	t.Helper()
	l := *tl
	l.Name = kerneltest.LabName(t)
	for _, m := range l.Machines {
		t.Run(m.Name, func(t *testing.T) {
			script := string(ScriptOn(&l, m.Name))
			if strings.Contains(script, " nft ") {
				t.Skip("the script has nftables rules, which the fake cannot read as nft does")
			}
			k := kerneltest.NewFake()
			k.MustSeed(t, "ip link set eth0 mtu 1500 up", "ip addr add "+m.Address.String()+"/24 dev eth0")
			var cmds []string
			for line := range strings.Lines(script) {
				if strings.TrimSpace(line) != "set -euo pipefail" {
					cmds = append(cmds, line)
				}
			}
			if err := k.Seed(cmds...); err != nil {
				t.Fatalf("%v\nscript:\n%s", err, script)
			}
			planned, err := reconcile.Plan(context.Background(), k, &l, reconcile.Options{Machine: m.Name})
			if err != nil {
				t.Fatal(err)
			}
			if p := planned.Plan; !p.Empty() || len(p.Conflicts) > 0 {
				var b strings.Builder
				p.WriteText(&b)
				t.Errorf("after machine %s's part of the script, plan --machine %s is not empty:\n%s\nscript:\n%s", m.Name, m.Name, b.String(), script)
			}
		})
	}
}

// scriptBody is a script's lines after set -euo pipefail, without the
// blank lines and the headings of machines, steps and nodes.
func scriptBody(script string) []string {
	_, body, _ := strings.Cut(script, "set -euo pipefail\n")
	var out []string
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "# machine ") || strings.HasPrefix(line, "# --- ") || strings.HasPrefix(line, "# node ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// TestScriptMachines: the script of a lab with machines is one part per
// machine, in file order, each headed by the machine; the part of each is
// what --machine writes; and together the parts are the commands of the
// whole lab's plan (plan.Desired), no more and no fewer.
func TestScriptMachines(t *testing.T) {
	for _, tl := range machineLabs(t) {
		t.Run(tl.name, func(t *testing.T) {
			l := tl.lab
			script := string(Script(l))
			at := 0
			for _, m := range l.Machines {
				head := "\n# machine " + m.Name + " (" + m.Address.String() + "): run this part on " + m.Name + "\n"
				k := strings.Index(script, head)
				if k < at {
					t.Fatalf("machine %s's heading %q is missing or out of order:\n%s", m.Name, head, script)
				}
				at = k
				_, part, _ := strings.Cut(string(ScriptOn(l, m.Name)), "set -euo pipefail\n")
				if !strings.HasPrefix(part, head) || !strings.Contains(script, part) {
					t.Errorf("--machine %s's script is not its part of the whole script:\n%s", m.Name, part)
				}
				if strings.Count(part, "# machine ") != 1 {
					t.Errorf("--machine %s's script has another machine's part:\n%s", m.Name, part)
				}
			}
			var want []string
			for _, c := range plan.Diff(plan.Desired(l), nil, plan.Options{}).Changes {
				for _, cmd := range c.Cmds() {
					want = append(want, strings.Split(cmd, "\n")...)
				}
			}
			got := scriptBody(script)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("the machines' parts are not the commands of the whole lab's plan:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestScriptWithoutMachines: a lab without machines has no machine
// parts, and ScriptOn of no machine is Script.
func TestScriptWithoutMachines(t *testing.T) {
	for _, tl := range labs(t) {
		if len(tl.lab.Machines) > 0 {
			continue
		}
		s := string(Script(tl.lab))
		if strings.Contains(s, "\n# machine ") {
			t.Errorf("%s: a lab without machines has a machine's part:\n%s", tl.name, s)
		}
		if s != string(ScriptOn(tl.lab, "")) {
			t.Errorf("%s: ScriptOn(l, \"\") differs from Script(l)", tl.name)
		}
	}
}

// TestPicturesMachines: each picture of a lab with machines draws each
// machine around its nodes and labels every link between two machines
// with its VNI, dashed or dotted.
func TestPicturesMachines(t *testing.T) {
	for _, tl := range machineLabs(t) {
		l := tl.lab
		dot, mermaid, svg := string(Dot(l)), string(Mermaid(l)), string(SVG(l))
		for _, m := range l.Machines {
			if !strings.Contains(dot, "subgraph \"cluster_machine_"+m.Name+"\" {\n    label=\"machine "+m.Name+"\\n"+m.Address.String()+"\";\n") {
				t.Errorf("%s: dot has no cluster for machine %s:\n%s", tl.name, m.Name, dot)
			}
			if !strings.Contains(mermaid, "[\"machine "+m.Name+"<br/>"+m.Address.String()+"\"]\n") {
				t.Errorf("%s: mermaid has no subgraph for machine %s:\n%s", tl.name, m.Name, mermaid)
			}
			if !strings.Contains(svg, ">machine "+m.Name+" "+m.Address.String()+"</text>") || !strings.Contains(svg, " "+m.Name+" "+m.Address.String()) {
				t.Errorf("%s: the SVG neither frames nor lists machine %s", tl.name, m.Name)
			}
		}
		crosses := 0
		for _, lk := range l.Links {
			if !l.CrossesMachines(lk) {
				continue
			}
			crosses++
			vni := crossText(l, lk)
			a, b := lk.Ends[0].String(), lk.Ends[1].String()
			if !strings.Contains(dot, dotQuote(a)+" -- "+dotQuote(b)+" [style=dashed, label="+dotQuote(vni)+"];\n") {
				t.Errorf("%s: dot lacks the dashed edge %s -- %s labelled %s", tl.name, a, b, vni)
			}
			if !strings.Contains(mermaid, " -.-|"+mermaidQuote(vni)+"| ") {
				t.Errorf("%s: mermaid lacks the dotted line labelled %s", tl.name, vni)
			}
			if !strings.Contains(svg, ">"+vni+"</text>") || !strings.Contains(svg, "<path class=\"vxlan cross\"") {
				t.Errorf("%s: the SVG lacks the dashed line labelled %s", tl.name, vni)
			}
		}
		if crosses == 0 {
			t.Errorf("%s has no link between two machines to draw", tl.name)
		}
	}
}

// TestMachinePart: a picture of one machine shows its nodes and the far
// ends of its links to other machines, and of the links only those with
// an end on it.
func TestMachinePart(t *testing.T) {
	l := parse(t, "part.yaml", []byte(`name: part
machines:
  m1: {address: 203.0.113.1}
  m2: {address: 203.0.113.2}
  m3: {address: 203.0.113.3}
nodes:
  a: {machine: m1, interfaces: {eth0: {addresses: [10.9.0.1/24]}}}
  b: {machine: m2, interfaces: {eth0: {addresses: [10.9.0.2/24]}, eth1: {addresses: [10.9.1.1/24]}}}
  c: {machine: m3, interfaces: {eth0: {addresses: [10.9.1.2/24]}}}
links:
  - [a:eth0, b:eth0]
  - [b:eth1, c:eth0]
`))
	names := func(p *lab.Lab) (nodes, machines []string, links int) {
		for _, n := range p.Nodes {
			nodes = append(nodes, n.Name)
		}
		return nodes, p.MachineNames(), len(p.Links)
	}
	for _, c := range []struct {
		machine         string
		nodes, machines []string
		links           int
	}{
		{"m1", []string{"a", "b"}, []string{"m1", "m2"}, 1},
		{"m2", []string{"a", "b", "c"}, []string{"m1", "m2", "m3"}, 2},
		{"m3", []string{"b", "c"}, []string{"m2", "m3"}, 1},
		{"", []string{"a", "b", "c"}, []string{"m1", "m2", "m3"}, 2},
	} {
		p := MachinePart(l, c.machine)
		nodes, machines, links := names(p)
		if !slices.Equal(nodes, c.nodes) || !slices.Equal(machines, c.machines) || links != c.links {
			t.Errorf("MachinePart(%q): nodes %v machines %v %d links, want %v %v %d", c.machine, nodes, machines, links, c.nodes, c.machines, c.links)
		}
		if c.machine == "m1" && (p.Node("c") != nil || p.LinkOf("b", "eth1") != nil) {
			t.Errorf("MachinePart(m1) still finds node c or the link b:eth1")
		}
	}
	if len(l.Nodes) != 3 || len(l.Links) != 2 {
		t.Error("MachinePart changed the lab")
	}
}
