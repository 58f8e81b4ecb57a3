package plan

import (
	"fmt"
	"io"
	"strings"

	"netlab/lab/device"
	"netlab/lab/state"
)

// WriteText prints the plan as people read it: drift first, then the
// changes, then unmanaged objects, each grouped by node, one object a line
// with its equivalent ip command, and a summary line.
func (p *Plan) WriteText(w io.Writer) {
	for _, c := range p.Conflicts {
		fmt.Fprintf(w, "! %s\n", c.Error())
	}
	if len(p.Conflicts) > 0 {
		fmt.Fprintln(w)
	}
	var drift, edits []*Change
	for _, c := range p.Changes {
		if c.Action == Create && c.replacing {
			continue // printed with its Replace half
		}
		if c.Drift {
			drift = append(drift, c)
		} else {
			edits = append(edits, c)
		}
	}
	if len(drift) > 0 {
		fmt.Fprintln(w, "Changed outside netlab (up repairs it):")
		writeGroup(w, drift)
		fmt.Fprintln(w)
	}
	if len(edits) > 0 {
		fmt.Fprintln(w, "Changes:")
		writeGroup(w, edits)
		fmt.Fprintln(w)
	}
	if len(p.Unmanaged) > 0 && !hasPruned(p) {
		fmt.Fprintln(w, "Not declared in the lab file (left alone; up --prune removes them):")
		var nodes []string
		byNode := make(map[string][]*Change)
		for _, c := range p.Unmanaged {
			if _, ok := byNode[c.Node]; !ok {
				nodes = append(nodes, c.Node)
			}
			byNode[c.Node] = append(byNode[c.Node], c)
		}
		for _, n := range nodes {
			fmt.Fprintf(w, "  node %s:\n", n)
			for _, c := range byNode[n] {
				fmt.Fprintf(w, "    ? %s\n", c.Describe())
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, p.Summary())
}

func hasPruned(p *Plan) bool {
	for _, c := range p.Changes {
		if c.Unmanaged {
			return true
		}
	}
	return false
}

// Summary is the plan's last line.
func (p *Plan) Summary() string {
	// With conflicts the lab does not match the file, whatever the plan.
	stop := ""
	if len(p.Conflicts) > 0 {
		stop = fmt.Sprintf(" %d conflict(s) above stop up.", len(p.Conflicts))
	}
	if p.Empty() {
		s := "No changes: the lab matches the file."
		if stop != "" {
			s = "No changes planned."
		}
		if len(p.Unmanaged) > 0 {
			s += fmt.Sprintf(" %d unmanaged object(s) left alone.", len(p.Unmanaged))
		}
		return s + stop
	}
	create, update, replace, del := p.Counts()
	create -= p.replacingCreates()
	return fmt.Sprintf("Plan: %d to create, %d to change, %d to replace, %d to delete.", create, update, replace, del) + stop
}

func (p *Plan) replacingCreates() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == Create && c.replacing {
			n++
		}
	}
	return n
}

// writeGroup prints changes grouped by node, in plan order within a node.
func writeGroup(w io.Writer, changes []*Change) {
	var nodes []string
	byNode := make(map[string][]*Change)
	for _, c := range changes {
		if _, ok := byNode[c.Node]; !ok {
			nodes = append(nodes, c.Node)
		}
		byNode[c.Node] = append(byNode[c.Node], c)
	}
	for _, n := range nodes {
		fmt.Fprintf(w, "  node %s:\n", n)
		for _, c := range byNode[n] {
			for _, l := range c.Lines() {
				fmt.Fprintf(w, "    %s\n", l)
			}
			for _, d := range c.Details() {
				fmt.Fprintf(w, "        %s\n", d)
			}
		}
	}
}

// Line is one change on one line, as up's progress shows it: symbol,
// object, and the first equivalent command after a #.
func (c *Change) Line() string { return c.Lines()[0] }

// Lines is one change as the plan prints it: Line, then each further
// command the change runs, under the first, so that the plan shows every
// command up runs (several fdb entries of a vxlan, a veth's two ends). Of
// an nft script only its first line is shown; Details lists its rules.
func (c *Change) Lines() []string {
	sym := c.Action.Symbol()
	if c.Unmanaged && c.Action != Delete && c.Action != Replace {
		sym = "?"
	}
	text := sym + " " + c.Describe()
	if c.Reason != "" && (c.Action == Replace || c.Unmanaged || c.Object == Process) {
		text += " [" + c.Reason + "]"
	}
	cmds := c.Cmds()
	if len(cmds) == 0 {
		return []string{text}
	}
	col := max(52, len(text)+2)
	lines := make([]string, len(cmds))
	for i, cmd := range cmds {
		first, _, _ := strings.Cut(cmd, "\n") // an nft script runs on
		lead := strings.Repeat(" ", col)
		if i == 0 {
			lead = text + strings.Repeat(" ", col-len(text))
		}
		lines[i] = lead + "# " + first
	}
	return lines
}

// Describe is the change's object and what happens to it, without the
// action symbol: "link veth0 (veth, peer host:veth1)".
func (c *Change) Describe() string {
	var b strings.Builder
	switch c.Object {
	case NetNS:
		fmt.Fprintf(&b, "netns %s", c.NetNS)
	case Link:
		l := c.Link
		if l == nil {
			l = c.OldLink
		}
		fmt.Fprintf(&b, "link %s", c.Name)
		if c.Action == Create || c.Action == Delete {
			fmt.Fprintf(&b, " (%s", l.Kind)
			if l.Peer != "" {
				fmt.Fprintf(&b, ", peer %s", l.Peer)
			}
			if l.Master != "" {
				fmt.Fprintf(&b, ", master %s", l.Master)
			}
			if l.Kind == device.VLAN {
				fmt.Fprintf(&b, ", id %d on %s", l.VLANID, l.VLANParent)
			}
			if !l.Egress.IsZero() {
				fmt.Fprintf(&b, ", %s", l.Egress)
			}
			b.WriteString(")")
		}
	case Addr:
		fmt.Fprintf(&b, "addr %s dev %s", c.Prefix, c.LinkName)
	case Route:
		r := c.Route
		if c.Action == Delete {
			r = c.OldRoute
		}
		b.WriteString("route " + state.RouteText(r))
	case Rule:
		r := c.Rule
		if c.Action == Delete {
			r = c.OldRule
		}
		b.WriteString("rule " + r.Text())
	case NFTables:
		t := c.NFT
		if t == nil {
			t = c.OldNFT
		}
		rules := 0
		for _, ch := range t.Chains {
			rules += len(ch.Rules)
		}
		fmt.Fprintf(&b, "nftables table inet %s (%d chain(s), %d rule(s))", c.Name, len(t.Chains), rules)
	case Process:
		p := c.Proc
		if p == nil {
			p = c.OldProc
		}
		if p.Name == "" {
			fmt.Fprintf(&b, "process %s %s (%s)", c.Node, c.Name, ShortCommand(p))
		} else {
			fmt.Fprintf(&b, "process %s/%s (%s)", c.Node, c.Name, ShortCommand(p))
		}
	case Hosts:
		fmt.Fprintf(&b, "hosts %s", c.Node)
		if c.Action == Update {
			fmt.Fprintf(&b, " (%d names)", HostsNames(c.Hosts))
		}
		return b.String() // its lines are Details
	case Sysctl:
		fmt.Fprintf(&b, "sysctl %s", c.Name)
		if c.Action == Create {
			fmt.Fprintf(&b, " = %s", c.Value)
		}
	}
	if len(c.Attrs) > 0 && c.Object != NFTables {
		parts := make([]string, len(c.Attrs))
		for i, a := range c.Attrs {
			parts[i] = a.String()
		}
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	return b.String()
}

// Details are the lines printed under a change of an nftables table: each
// rule added (+) or removed (-), in nft syntax, with its chain; and under
// an update of a hosts file, each line added or removed.
func (c *Change) Details() []string {
	if c.Object == Hosts {
		var out []string
		for _, a := range c.Attrs {
			if a.Old == "(none)" {
				out = append(out, "+ "+a.New)
			} else {
				out = append(out, "- "+a.Old)
			}
		}
		return out
	}
	if c.Object != NFTables {
		return nil
	}
	var out []string
	switch c.Action {
	case Create:
		for _, ch := range c.NFT.Chains {
			out = append(out, fmt.Sprintf("+ chain %s (%s hook %s priority %d; policy %s)", ch.Name, ch.Type, ch.Hook, ch.Priority, ch.Policy))
			for _, r := range ch.Rules {
				out = append(out, fmt.Sprintf("+ %s: %s", ch.Name, r.Text()))
			}
		}
	case Delete:
		for _, ch := range c.OldNFT.Chains {
			out = append(out, fmt.Sprintf("- chain %s (%d rule(s))", ch.Name, len(ch.Rules)))
		}
	default:
		for _, a := range c.Attrs {
			switch {
			case a.Old == "(none)":
				out = append(out, fmt.Sprintf("+ %s: %s", strings.TrimPrefix(strings.TrimSuffix(a.Name, " rule"), "chain "), a.New))
			case a.New == "(none)":
				out = append(out, fmt.Sprintf("- %s: %s", strings.TrimPrefix(strings.TrimSuffix(a.Name, " rule"), "chain "), a.Old))
			default:
				out = append(out, "~ "+a.String())
			}
		}
	}
	return out
}

// commandMax is how much of a command the plan shows, in characters.
const commandMax = 40

// ShortCommand is a process's command as the plan shows it, on one line:
// the file's text, or the argv /proc shows, cut at a word after
// commandMax characters ("python3 -m http.server 80 ...").
func ShortCommand(p *state.Process) string {
	text := p.Display
	if text == "" {
		text = strings.Join(p.Argv, " ")
	}
	words := strings.Fields(text)
	var b strings.Builder
	for i, w := range words {
		if i > 0 && b.Len()+1+len(w) > commandMax {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	s := b.String()
	if r := []rune(s); len(r) > commandMax+4 { // one long word
		s = string(r[:commandMax]) + "..."
	}
	return s
}
