package render

import (
	"bytes"
	"fmt"
	"strings"

	"netlab/lab"
	"netlab/lab/device"
)

// Dot renders the lab as a Graphviz graph: a cluster per node, an
// interface per graph node, veth pairs as solid edges, VXLAN tunnels as
// dashed edges labelled with their VNI, a bridge's ports and a MACVLAN's
// parent as dotted edges. In a lab with machines, each machine is a
// cluster around its nodes' clusters, labelled with its address, and a
// link between two machines is a dashed edge labelled "vxlan VNI n".
// Every identifier is quoted, so node names with
// dots, dashes or leading digits are safe.
func Dot(l *lab.Lab) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "graph %s {\n", dotQuote(l.Name))
	b.WriteString("  graph [rankdir=LR, fontname=\"monospace\", fontsize=12];\n")
	b.WriteString("  node [shape=box, fontname=\"monospace\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"monospace\", fontsize=10];\n")
	if len(l.Machines) == 0 {
		for _, n := range l.Nodes {
			dotNode(&b, "  ", n)
		}
	} else {
		for _, m := range l.Machines {
			fmt.Fprintf(&b, "  subgraph %s {\n", dotQuote("cluster_machine_"+m.Name))
			fmt.Fprintf(&b, "    label=%s;\n", dotQuote(machineText(m)))
			for _, n := range machineNodes(l, m) {
				dotNode(&b, "    ", n)
			}
			b.WriteString("  }\n")
		}
		for _, n := range unplaced(l) {
			dotNode(&b, "  ", n)
		}
	}
	for _, e := range edges(l) {
		attrs := ""
		switch e.Kind {
		case edgeVXLAN, edgeCross:
			attrs = fmt.Sprintf(" [style=dashed, label=%s]", dotQuote(e.Label))
		case edgeMACVLAN:
			attrs = fmt.Sprintf(" [style=dotted, label=%s]", dotQuote(e.Label))
		}
		fmt.Fprintf(&b, "  %s -- %s%s;\n", dotQuote(e.A.Ref()), dotQuote(e.B.Ref()), attrs)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// dotNode writes a node's cluster, each line indented by in.
func dotNode(b *bytes.Buffer, in string, n *lab.Node) {
	fmt.Fprintf(b, "%ssubgraph %s {\n", in, dotQuote("cluster_"+n.Name))
	label := n.Name
	if n.Host {
		label += " (host)"
	}
	for _, s := range notes(n) {
		label += "\n" + s
	}
	fmt.Fprintf(b, "%s  label=%s;\n", in, dotQuote(label))
	if len(n.Interfaces) == 0 {
		fmt.Fprintf(b, "%s  %s [label=%s, shape=plaintext];\n", in, dotQuote(n.Name), dotQuote(n.Name))
	}
	for _, i := range n.Interfaces {
		attrs := ""
		if i.Kind == device.Bridge {
			attrs = ", shape=box3d"
		}
		fmt.Fprintf(b, "%s  %s [label=%s%s];\n", in, dotQuote(i.Ref()), dotQuote(strings.Join(append([]string{ifaceText(i)}, addrTexts(i)...), "\n")), attrs)
	}
	for _, i := range n.Interfaces {
		if i.Master != "" && n.Interface(i.Master) != nil {
			fmt.Fprintf(b, "%s  %s -- %s [style=dotted];\n", in, dotQuote(i.Ref()), dotQuote(n.Name+":"+i.Master))
		}
		if i.Kind == device.MACVLAN && i.MACVLAN != nil && i.MACVLAN.ParentNode == n.Name && n.Interface(i.MACVLAN.Parent) != nil {
			fmt.Fprintf(b, "%s  %s -- %s [style=dotted, label=\"macvlan\"];\n", in, dotQuote(n.Name+":"+i.MACVLAN.Parent), dotQuote(i.Ref()))
		}
	}
	fmt.Fprintf(b, "%s}\n", in)
}

// dotQuote makes a DOT double-quoted string: backslashes and quotes are
// escaped, and a newline becomes \n (a centred line break).
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")
	return `"` + r.Replace(s) + `"`
}
