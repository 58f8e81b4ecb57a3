package render

import (
	"bytes"
	"fmt"
	"strings"

	"netlab/lab"
	"netlab/lab/device"
)

// Mermaid renders the lab as a Mermaid flowchart: a subgraph per node, an
// interface per vertex, the same edges as Dot. Identifiers are generated
// (n0, n0i1, ...) and every label is quoted, so any name is safe. In a lab
// with machines, each machine is a subgraph (m0, m1, ...) around its
// nodes', and a link between two machines is a dotted line labelled
// "vxlan VNI n".
func Mermaid(l *lab.Lab) []byte {
	var b bytes.Buffer
	b.WriteString("flowchart LR\n")
	ids := make(map[*lab.Interface]string)
	nid := make(map[*lab.Node]string, len(l.Nodes))
	for x, n := range l.Nodes {
		nid[n] = fmt.Sprintf("n%d", x)
	}
	node := func(in string, n *lab.Node) { mermaidNode(&b, in, nid[n], n, ids) }
	if len(l.Machines) == 0 {
		for _, n := range l.Nodes {
			node("  ", n)
		}
	} else {
		for y, m := range l.Machines {
			fmt.Fprintf(&b, "  subgraph m%d[%s]\n", y, mermaidQuote(machineText(m)))
			for _, n := range machineNodes(l, m) {
				node("    ", n)
			}
			b.WriteString("  end\n")
		}
		for _, n := range unplaced(l) {
			node("  ", n)
		}
	}
	for _, e := range edges(l) {
		switch e.Kind {
		case edgeVeth:
			fmt.Fprintf(&b, "  %s --- %s\n", ids[e.A], ids[e.B])
		default:
			fmt.Fprintf(&b, "  %s -.-|%s| %s\n", ids[e.A], mermaidQuote(e.Label), ids[e.B])
		}
	}
	return b.Bytes()
}

// mermaidNode writes a node's subgraph, id nid, each line indented by in,
// and records its interfaces' ids.
func mermaidNode(b *bytes.Buffer, in, nid string, n *lab.Node, ids map[*lab.Interface]string) {
	label := n.Name
	if n.Host {
		label += " (host)"
	}
	fmt.Fprintf(b, "%ssubgraph %s[%s]\n", in, nid, mermaidQuote(label))
	fmt.Fprintf(b, "%s  direction TB\n", in)
	ns := notes(n)
	if len(n.Interfaces) == 0 && len(ns) == 0 {
		fmt.Fprintf(b, "%s  %se[%s]\n", in, nid, mermaidQuote("(no interfaces)"))
	}
	for y, i := range n.Interfaces {
		id := fmt.Sprintf("%si%d", nid, y)
		ids[i] = id
		open, closing := "[", "]"
		if i.Kind == device.Bridge {
			open, closing = "[[", "]]"
		}
		fmt.Fprintf(b, "%s  %s%s%s%s\n", in, id, open, mermaidQuote(strings.Join(append([]string{ifaceText(i)}, addrTexts(i)...), "\n")), closing)
	}
	if len(ns) > 0 {
		fmt.Fprintf(b, "%s  %snotes>%s]\n", in, nid, mermaidQuote(strings.Join(ns, "\n")))
	}
	for _, i := range n.Interfaces {
		if m := n.Interface(i.Master); i.Master != "" && m != nil {
			fmt.Fprintf(b, "%s  %s -.- %s\n", in, ids[i], ids[m])
		}
		if i.Kind == device.MACVLAN && i.MACVLAN != nil && i.MACVLAN.ParentNode == n.Name {
			if p := n.Interface(i.MACVLAN.Parent); p != nil {
				fmt.Fprintf(b, "%s  %s -.-|%s| %s\n", in, ids[p], mermaidQuote("macvlan"), ids[i])
			}
		}
	}
	fmt.Fprintf(b, "%send\n", in)
}

// mermaidQuote makes a Mermaid quoted label: quotes and the characters
// Mermaid treats as markup become entity codes, newlines become <br/>.
func mermaidQuote(s string) string {
	r := strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br/>", "\r", "")
	return `"` + r.Replace(s) + `"`
}
