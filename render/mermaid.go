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
// (n0, n0i1, ...) and every label is quoted, so any name is safe.
func Mermaid(l *lab.Lab) []byte {
	var b bytes.Buffer
	b.WriteString("flowchart LR\n")
	ids := make(map[*lab.Interface]string)
	for x, n := range l.Nodes {
		nid := fmt.Sprintf("n%d", x)
		label := n.Name
		if n.Host {
			label += " (host)"
		}
		fmt.Fprintf(&b, "  subgraph %s[%s]\n", nid, mermaidQuote(label))
		b.WriteString("    direction TB\n")
		if len(n.Interfaces) == 0 && len(notes(n)) == 0 {
			fmt.Fprintf(&b, "    %se[%s]\n", nid, mermaidQuote("(no interfaces)"))
		}
		for y, i := range n.Interfaces {
			id := fmt.Sprintf("%si%d", nid, y)
			ids[i] = id
			open, closing := "[", "]"
			if i.Kind == device.Bridge {
				open, closing = "[[", "]]"
			}
			fmt.Fprintf(&b, "    %s%s%s%s\n", id, open, mermaidQuote(strings.Join(append([]string{ifaceText(i)}, addrTexts(i)...), "\n")), closing)
		}
		if ns := notes(n); len(ns) > 0 {
			fmt.Fprintf(&b, "    %snotes>%s]\n", nid, mermaidQuote(strings.Join(ns, "\n")))
		}
		for _, i := range n.Interfaces {
			if m := n.Interface(i.Master); i.Master != "" && m != nil {
				fmt.Fprintf(&b, "    %s -.- %s\n", ids[i], ids[m])
			}
			if i.Kind == device.MACVLAN && i.MACVLAN != nil && i.MACVLAN.ParentNode == n.Name {
				if p := n.Interface(i.MACVLAN.Parent); p != nil {
					fmt.Fprintf(&b, "    %s -.-|%s| %s\n", ids[p], mermaidQuote("macvlan"), ids[i])
				}
			}
		}
		b.WriteString("  end\n")
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

// mermaidQuote makes a Mermaid quoted label: quotes and the characters
// Mermaid treats as markup become entity codes, newlines become <br/>.
func mermaidQuote(s string) string {
	r := strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br/>", "\r", "")
	return `"` + r.Replace(s) + `"`
}
