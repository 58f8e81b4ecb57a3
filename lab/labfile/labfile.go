// Package labfile turns the YAML text of a lab file into a lab.Lab. It
// reports every problem of form (YAML syntax, unknown fields, wrong types,
// malformed addresses) with the line and column of the offending key or
// value, fills in defaults, and never touches the kernel. The rules that
// relate one part of a lab to another live in package validate.
package labfile

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
	"netlab/lab/device"
	"netlab/lab/diag"
)

// MaxFileSize is the largest lab file netlab reads. A lab of a thousand
// nodes is well under a megabyte.
const MaxFileSize = 16 << 20

// Load reads and parses the lab file at path. Positions in diagnostics name
// the file as display, which callers usually set to path relative to the
// working directory.
func Load(path, display string) (*lab.Lab, diag.List) {
	data, diags := ReadFile(path, display)
	if diags != nil {
		return nil, diags
	}
	return Parse(display, data)
}

// ReadFile reads the lab file at path, as Load does, for a caller that
// keeps the text it parsed (up records the file it applied).
func ReadFile(path, display string) ([]byte, diag.List) {
	f, err := os.Open(path)
	if err != nil {
		return nil, diag.List{{Pos: diag.Pos{File: display}, Msg: "cannot read lab file", Hint: unwrapPathError(err)}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, diag.List{{Pos: diag.Pos{File: display}, Msg: "cannot read lab file", Hint: unwrapPathError(err)}}
	}
	return data, nil
}

func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses a lab file's bytes. file names it in diagnostics. It returns
// as much of the lab as could be read, even when there are errors, so that
// validation can report its problems in the same run; callers must not use
// a lab whose list has errors for anything else.
func Parse(file string, data []byte) (l *lab.Lab, diags diag.List) {
	d := &decoder{file: file}
	if len(data) > MaxFileSize {
		d.diags.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "file is larger than %d MiB", MaxFileSize>>20)
		return nil, d.diags
	}
	root, ok := d.document(data)
	if !ok {
		return nil, d.diags
	}
	l = d.lab(root)
	l.Index()
	setDefaults(l)
	d.diags.Sort()
	return l, d.diags
}

// yamlLine finds the line number in a go.yaml.in/yaml/v3 error message.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses the YAML text into one document's root node.
func (d *decoder) document(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// The yaml library has panicked on malformed input before; a bad file must
		// never crash netlab, so turn any panic into a diagnostic.
		if r := recover(); r != nil {
			d.diags.Errorf(diag.Pos{File: d.file, Line: 1}, "YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.diags.Hintf(diag.Pos{File: d.file, Line: 1, Col: 1}, "start with name: and nodes:", "lab file is empty")
			return nil, false
		}
		d.syntaxErr(err, data)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.diags.Hintf(d.pos(&extra), "put each lab in its own file", "lab file has more than one YAML document")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		d.syntaxErr(err, data)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.diags.Hintf(diag.Pos{File: d.file, Line: 1, Col: 1}, "start with name: and nodes:", "lab file is empty")
		return nil, false
	}
	return doc.Content[0], true
}

// syntaxErr keeps a go.yaml.in/yaml/v3 syntax error as a diagnostic with the only
// position it gives, its line.
func (d *decoder) syntaxErr(err error, data []byte) {
	msg := err.Error()
	pos := diag.Pos{File: d.file, Line: 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if yamlParserProblems[msg] {
			pos.Line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if m := yamlUnknownAnchor.FindStringSubmatch(msg); m != nil {
			if p, ok := aliasPos(data, m[1]); ok {
				pos.Line, pos.Col = p.Line, p.Col
			}
		}
	}
	if tabIndented(data, pos.Line) {
		d.diags.Hintf(pos, "indent with spaces, not tabs", "YAML syntax: %s", msg)
		return
	}
	if hint := yamlSyntaxHints[msg]; hint != "" {
		d.diags.Hintf(pos, hint, "YAML syntax: %s", msg)
		return
	}
	d.diags.Errorf(pos, "YAML syntax: %s", msg)
}

// yamlSyntaxHints say how to fix the commonest YAML mistakes.
var yamlSyntaxHints = map[string]string{
	"did not find expected ',' or ']'": "close every [ list with ] and separate its items with commas",
	"did not find expected ',' or '}'": "close every { mapping with } and separate its entries with commas",
	"did not find expected key":        "check the indentation: the keys of one mapping must line up",
}

// tabIndented reports whether the 1-based line of data is indented with a
// tab, the commonest cause of a YAML syntax error in a hand-written file.
func tabIndented(data []byte, line int) bool {
	lines := strings.SplitN(string(data), "\n", line+1)
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	return strings.Contains(indent, "\t")
}

// yamlParserProblems are the messages of the yaml parser errors, as
// opposed to its scanner errors. go.yaml.in/yaml/v3 (v3.0.6, decode.go parser.fail)
// adds one to the 0-based line of a scanner error but not of a parser
// error, so the line of these is one too small.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlUnknownAnchor matches the one go.yaml.in/yaml/v3 error that carries no line.
var yamlUnknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// aliasPos finds the first alias *name in a file's text, for the error of
// an alias with no anchor, which the yaml library reports without a position.
func aliasPos(data []byte, name string) (diag.Pos, bool) {
	text := string(data)
	for off := 0; ; {
		i := strings.Index(text[off:], "*"+name)
		if i < 0 {
			return diag.Pos{}, false
		}
		start, end := off+i, off+i+1+len(name)
		off = start + 1
		if start > 0 && !strings.ContainsRune(" \t\n\r[{,:", rune(text[start-1])) {
			continue
		}
		if end < len(text) && !strings.ContainsRune(" \t\n\r,]}", rune(text[end])) {
			continue
		}
		lineStart := strings.LastIndexByte(text[:start], '\n') + 1
		return diag.Pos{
			Line: strings.Count(text[:start], "\n") + 1,
			Col:  utf8.RuneCountInString(text[lineStart:start]) + 1,
		}, true
	}
}

func (d *decoder) lab(root *yaml.Node) *lab.Lab {
	l := &lab.Lab{File: d.file}
	l.Pos = d.pos(root)
	var nodesNode *yaml.Node
	d.fields(root, "the lab", &l.Src, Fields["lab"], func(key string, v *yaml.Node) {
		switch key {
		case "name":
			l.Name, _ = d.str(v, "lab name")
		case "description":
			l.Description, _ = d.str(v, "description")
		case "nodes":
			nodesNode = v
		case "machines":
			d.entries(v, "machines", "machine", func(name string, k, v *yaml.Node) {
				l.Machines = append(l.Machines, d.machine(name, k, v))
			})
		case "links":
			for _, item := range d.list(v, "links") {
				if lk := d.link(item); lk != nil {
					l.Links = append(l.Links, lk)
				}
			}
		case "checks":
			for _, item := range d.list(v, "checks") {
				if c := d.check(item); c != nil {
					l.Checks = append(l.Checks, c)
				}
			}
		}
	})
	if nodesNode != nil {
		before := len(d.diags)
		d.entries(nodesNode, "nodes", "node", func(name string, k, v *yaml.Node) {
			l.Nodes = append(l.Nodes, d.node(name, k, v))
		})
		if len(l.Nodes) == 0 && len(d.diags) > before {
			l.MarkBroken("nodes") // reported: not also "lab has no nodes"
		}
	}
	return l
}

func (d *decoder) node(name string, k, v *yaml.Node) *lab.Node {
	n := &lab.Node{Name: name}
	n.Pos = d.pos(k)
	what := fmt.Sprintf("node %q", name)
	d.fields(v, what, &n.Src, Fields["node"], func(key string, v *yaml.Node) {
		switch key {
		case "interfaces":
			d.entries(v, "interfaces of "+what, "interface", func(ifname string, k, v *yaml.Node) {
				n.Interfaces = append(n.Interfaces, d.iface(name, ifname, k, v))
			})
		case "routes":
			for _, item := range d.list(v, "routes of "+what) {
				if r := d.route(item, what); r != nil {
					n.Routes = append(n.Routes, r)
				}
			}
		case "rules":
			for _, item := range d.list(v, "rules of "+what) {
				if r := d.rule(item, what); r != nil {
					n.Rules = append(n.Rules, r)
				}
			}
		case "sysctls":
			d.entries(v, "sysctls of "+what, "sysctl", func(key string, k, v *yaml.Node) {
				s := &lab.Sysctl{Key: key}
				s.Pos = d.pos(k)
				s.SetField("value", d.pos(v))
				var ok bool
				if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
					// The kernel's boolean sysctls take 1 and 0: "true"
					// would fail half-way through up.
					d.diags.Hintf(d.pos(v), "write 1 or 0", "sysctl %q must be a number or string, not %s", key, describe(v))
					s.MarkBroken("value")
				} else if s.Value, ok = d.text(v, fmt.Sprintf("sysctl %q", key)); !ok {
					s.MarkBroken("value")
				}
				n.Sysctls = append(n.Sysctls, s)
			})
		case "nat":
			for _, item := range d.list(v, "nat rules of "+what) {
				if r := d.natRule(item, what); r != nil {
					n.NAT = append(n.NAT, r)
				}
			}
		case "firewall":
			n.Firewall = d.firewall(v, what)
		case "host":
			n.Host, _ = d.boolean(v, "host")
		case "machine":
			n.Machine, _ = d.str(v, "machine")
		case "run":
			n.Run = d.run(v, name, what)
		}
	})
	return n
}

func (d *decoder) iface(node, name string, k, v *yaml.Node) *lab.Interface {
	i := &lab.Interface{Node: node, Name: name, Up: true}
	i.Pos = d.pos(k)
	what := fmt.Sprintf("interface %q of node %q", name, node)
	d.fields(v, what, &i.Src, Fields["interface"], func(key string, v *yaml.Node) {
		switch key {
		case "kind":
			kinds := make([]string, len(lab.Kinds))
			for j, kd := range lab.Kinds {
				kinds[j] = string(kd)
			}
			if s, ok := d.oneOf(v, "kind", kinds); ok {
				i.Kind = device.Kind(s)
			}
		case "addresses":
			for _, a := range d.list(v, "addresses") {
				if p, ok := d.prefix(a, "address"); ok {
					i.Addresses = append(i.Addresses, lab.Address{Prefix: p, Pos: d.pos(a)})
				}
			}
		case "mac":
			i.MAC, _ = d.mac(v, "mac")
		case "mtu":
			mtu, _ := d.integer(v, "mtu", 68, 65535)
			i.MTU = int(mtu)
		case "master":
			i.Master, _ = d.str(v, "master")
		case "up":
			if b, ok := d.boolean(v, "up"); ok {
				i.Up = b
			}
		case "bridge":
			i.Bridge = &lab.BridgeOptions{}
			i.Bridge.Pos = d.pos(v)
			d.fields(v, "bridge options of "+what, &i.Bridge.Src, Fields["bridge"], func(key string, v *yaml.Node) {
				d.bridgeOption(i.Bridge, key, v)
			})
		case "port":
			i.Port = &lab.PortOptions{}
			i.Port.Pos = d.pos(v)
			d.fields(v, "port flags of "+what, &i.Port.Src, Fields["port"], func(key string, v *yaml.Node) {
				b, ok := d.boolean(v, key)
				if !ok {
					return
				}
				*portFlag(i.Port, key) = &b
			})
		case "neighbors":
			for _, item := range d.list(v, "neighbors") {
				nb := &lab.Neighbor{}
				nb.Pos = d.pos(item)
				d.fields(item, "neighbor of "+what, &nb.Src, Fields["neighbor"], func(key string, v *yaml.Node) {
					switch key {
					case "ip":
						nb.IP, _ = d.addr(v, "neighbor ip")
					case "mac":
						nb.MAC, _ = d.mac(v, "neighbor mac")
					}
				})
				i.Neighbors = append(i.Neighbors, nb)
			}
		case "macvlan":
			i.MACVLAN = d.macvlan(v, node, what)
		case "vxlan":
			i.VXLAN = d.vxlan(v, what)
		case "tun", "tap":
			i.Tun = d.tun(v, key+" options of "+what)
		case "vlan":
			i.VLAN = d.vlan(v, what)
		case "rate", "delay", "loss":
			d.impairment(key, v, &i.Egress)
		}
	})
	return i
}

func (d *decoder) macvlan(v *yaml.Node, node, what string) *lab.MACVLANOptions {
	m := &lab.MACVLANOptions{Mode: lab.MACVLANBridge}
	m.Pos = d.pos(v)
	d.fields(v, "macvlan options of "+what, &m.Src, Fields["macvlan"], func(key string, v *yaml.Node) {
		switch key {
		case "parent":
			s, ok := d.str(v, "macvlan parent")
			if !ok {
				return
			}
			m.ParentNode, m.Parent = node, s
			if before, after, found := strings.Cut(s, ":"); found {
				m.ParentNode, m.Parent = before, after
			}
		case "mode":
			if s, ok := d.oneOf(v, "macvlan mode", lab.MACVLANModes); ok {
				m.Mode = s
			}
		case "source-macs":
			for _, item := range d.list(v, "source-macs") {
				if mac, ok := d.mac(item, "source MAC"); ok {
					m.SourceMACs = append(m.SourceMACs, mac)
				}
			}
		}
	})
	return m
}

func (d *decoder) vxlan(v *yaml.Node, what string) *lab.VXLANOptions {
	x := &lab.VXLANOptions{Port: lab.DefaultVXLANPort, Learning: true}
	x.Pos = d.pos(v)
	d.fields(v, "vxlan options of "+what, &x.Src, Fields["vxlan"], func(key string, v *yaml.Node) {
		switch key {
		case "vni":
			vni, _ := d.integer(v, "vni", 1, 1<<24-1)
			x.VNI = uint32(vni)
		case "remote":
			x.Remote, _ = d.addr(v, "vxlan remote")
		case "group":
			x.Group, _ = d.addr(v, "vxlan group")
		case "local":
			x.Local, _ = d.addr(v, "vxlan local")
		case "dev":
			x.Dev, _ = d.str(v, "vxlan dev")
		case "port":
			if p, ok := d.port(v, "vxlan port"); ok {
				x.Port = p
			}
		case "learning":
			if b, ok := d.boolean(v, "learning"); ok {
				x.Learning = b
			}
		case "proxy":
			x.Proxy, _ = d.boolean(v, "proxy")
		case "l2miss":
			x.L2Miss, _ = d.boolean(v, "l2miss")
		case "l3miss":
			x.L3Miss, _ = d.boolean(v, "l3miss")
		case "fdb":
			for _, item := range d.list(v, "fdb") {
				e := lab.FDBEntry{}
				e.Pos = d.pos(item)
				d.fields(item, "fdb entry", &e.Src, Fields["fdb entry"], func(key string, v *yaml.Node) {
					switch key {
					case "mac":
						e.MAC, _ = d.mac(v, "fdb mac")
					case "dst":
						e.Dst, _ = d.addr(v, "fdb dst")
					}
				})
				x.FDB = append(x.FDB, e)
			}
		}
	})
	return x
}

func (d *decoder) tun(v *yaml.Node, what string) *lab.TunOptions {
	t := &lab.TunOptions{}
	t.Pos = d.pos(v)
	d.fields(v, what, &t.Src, Fields["tun and tap"], func(key string, v *yaml.Node) {
		id, ok := d.integer(v, key, 0, 1<<32-2)
		if !ok {
			return
		}
		u := uint32(id)
		if key == "owner" {
			t.Owner = &u
		} else {
			t.Group = &u
		}
	})
	return t
}

// link reads a veth pair, written [a:x, b:y] or {endpoints: [a:x, b:y], mtu: N}.
func (d *decoder) link(v *yaml.Node) *lab.Link {
	lk := &lab.Link{}
	lk.Pos = d.pos(v)
	var ends *yaml.Node
	switch v.Kind {
	case yaml.SequenceNode:
		ends = v
	case yaml.MappingNode:
		d.fields(v, "link", &lk.Src, Fields["link"], func(key string, v *yaml.Node) {
			switch key {
			case "endpoints":
				ends = v
			case "mtu":
				mtu, _ := d.integer(v, "link mtu", 68, 65535)
				lk.MTU = int(mtu)
			case "vni":
				vni, _ := d.integer(v, "link vni", lab.MinVNI, lab.MaxVNI)
				lk.VNI = uint32(vni)
			}
		})
		if ends == nil && !lk.Has("endpoints") {
			d.diags.Hintf(d.pos(v), "add endpoints: [NODE:IFNAME, NODE:IFNAME]", "link has no endpoints")
			return nil
		}
	default:
		d.typeErr(v, "a list of two NODE:IFNAME ends or a mapping with endpoints", "link")
		return nil
	}
	if ends == nil {
		return nil
	}
	if ends.Kind != yaml.SequenceNode {
		d.diags.Hintf(d.pos(ends), "write endpoints: [NODE:IFNAME, NODE:IFNAME]", "link endpoints must be a list, not %s", describe(ends))
		return nil
	}
	items := d.list(ends, "link endpoints")
	if len(items) != 2 {
		noun := "ends"
		if len(items) == 1 {
			noun = "end"
		}
		d.diags.Hintf(d.pos(ends), "a veth pair has exactly two ends: [NODE:IFNAME, NODE:IFNAME]", "link has %d %s", len(items), noun)
		return nil
	}
	for j, item := range items {
		s, ok := d.str(item, "link end")
		if !ok {
			return nil
		}
		node, ifname, found := strings.Cut(s, ":")
		if !found || node == "" || ifname == "" {
			d.diags.Hintf(d.pos(item), "write NODE:IFNAME, like host:veth1", "link end %q is not NODE:IFNAME", clip(s))
			return nil
		}
		lk.Ends[j] = lab.LinkEnd{Pos: d.pos(item), Node: node, IfName: ifname}
	}
	return lk
}

func (d *decoder) route(v *yaml.Node, nodeWhat string) *lab.Route {
	r := &lab.Route{}
	r.Pos = d.pos(v)
	isDefault := false
	ok := d.fields(v, "route of "+nodeWhat, &r.Src, Fields["route"], func(key string, v *yaml.Node) {
		switch key {
		case "to":
			s, isStr := d.str(v, "route to")
			switch {
			case !isStr:
			case s == "default":
				isDefault = true // the family comes from via, below
			case nearest(s, []string{"default"}) != "":
				d.diags.Hintf(d.pos(v), `did you mean "default"?`, "route to %q is not a valid CIDR", clip(s))
			default:
				r.To, _ = d.network(v, "route to")
			}
		case "via":
			r.Via, _ = d.addr(v, "route via")
		case "dev":
			r.Dev, _ = d.str(v, "route dev")
		case "metric":
			m, _ := d.integer(v, "route metric", 0, 1<<32-1)
			r.Metric = uint32(m)
		case "table":
			r.Table, _ = d.table(v, "route table")
		}
	})
	if !ok {
		return nil
	}
	if isDefault {
		// "default": IPv6 when the gateway is IPv6, IPv4 otherwise.
		if r.Via.Is6() {
			r.To = netipPrefixZero6
		} else {
			r.To = netipPrefixZero4
		}
	}
	return r
}

func (d *decoder) match(key string, v *yaml.Node, m *lab.Match) {
	switch key {
	case "source":
		m.Source, _ = d.network(v, "source")
	case "destination":
		m.Destination, _ = d.network(v, "destination")
	case "in":
		m.In, _ = d.str(v, "in")
	case "out":
		m.Out, _ = d.str(v, "out")
	case "proto":
		m.Proto, _ = d.oneOf(v, "proto", []string{"tcp", "udp", "icmp"})
	case "dport":
		m.DPort, _ = d.port(v, "dport")
	case "state":
		for _, item := range d.list(v, "state") {
			if s, ok := d.oneOf(item, "conntrack state", lab.ConnStates); ok {
				m.State = append(m.State, s)
			}
		}
	}
}

// matchFields are the matches NAT and firewall rules share.
var matchFields = []string{"source", "destination", "in", "out", "proto", "dport"}

// Fields lists the fields each part of a lab file may have, by the name
// docs/lab-format.md gives the part; a test keeps that page in step.
var Fields = map[string][]string{
	"lab":            {"name", "description", "machines", "nodes", "links", "checks"},
	"machine":        {"address"},
	"node":           {"machine", "interfaces", "routes", "rules", "sysctls", "nat", "firewall", "host", "run"},
	"interface":      {"kind", "addresses", "mac", "mtu", "master", "up", "bridge", "port", "neighbors", "macvlan", "vxlan", "tun", "tap", "vlan", "rate", "delay", "loss"},
	"bridge":         {"stp", "forward-delay", "hello-time", "max-age", "priority"},
	"port":           {"hairpin", "isolated", "learning", "flood", "mcast-flood", "bcast-flood"},
	"neighbor":       {"ip", "mac"},
	"vlan":           {"parent", "id"},
	"macvlan":        {"parent", "mode", "source-macs"},
	"vxlan":          {"vni", "remote", "group", "local", "dev", "port", "learning", "proxy", "l2miss", "l3miss", "fdb"},
	"fdb entry":      {"mac", "dst"},
	"tun and tap":    {"owner", "group"},
	"link":           {"endpoints", "mtu", "vni"},
	"route":          {"to", "via", "dev", "metric", "table"},
	"rule":           {"from", "to", "iif", "oif", "fwmark", "table", "priority"},
	"nat rule":       append([]string{"action", "to"}, matchFields...),
	"firewall chain": {"policy", "rules"},
	"firewall rule":  append([]string{"action", "state", "prefix"}, matchFields...),
	"process":        {"name", "command", "env", "dir", "ready"},
	"ready":          {"tcp", "udp", "timeout"},
	"check":          {"from", "ping", "to", "connect", "http", "address", "proto", "port", "listen", "expect", "seen-source", "timeout", "via", "nat", "dropped-at"},
}

func (d *decoder) natRule(v *yaml.Node, nodeWhat string) *lab.NATRule {
	r := &lab.NATRule{}
	r.Pos = d.pos(v)
	var to *yaml.Node
	ok := d.fields(v, "nat rule of "+nodeWhat, &r.Src, Fields["nat rule"], func(key string, v *yaml.Node) {
		switch key {
		case "action":
			r.Action, _ = d.oneOf(v, "nat action", lab.NATActions)
		case "to":
			to = v
		default:
			d.match(key, v, &r.Match)
		}
	})
	if !ok {
		return nil
	}
	if to != nil {
		d.natTarget(to, r)
	}
	return r
}

// natTarget reads a NAT rule's to: IP or IP:PORT ([IPv6]:PORT) for snat and
// dnat, PORT for redirect, or for dnat a list of IP or IP:PORT.
func (d *decoder) natTarget(v *yaml.Node, r *lab.NATRule) {
	if v.Kind == yaml.SequenceNode {
		if !d.natTargets(v, r) {
			r.MarkBroken("to")
		}
		return
	}
	switch r.Action {
	case lab.NATRedirect:
		if _, err := strconv.Atoi(v.Value); err != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
			d.diags.Hintf(d.pos(v), "write to: PORT, or use dnat to send to another address", "redirect to %q is not a port", clip(v.Value))
			return
		}
		r.ToPort, _ = d.port(v, "redirect port")
	case lab.NATSNAT, lab.NATDNAT:
		s, ok := d.str(v, "nat to")
		if !ok {
			return
		}
		if ap, ok := d.natAddr(v, s); ok {
			r.ToAddr, r.ToPort = ap.Addr(), ap.Port()
		}
	case lab.NATMasquerade:
		// Reported by validate: masquerade picks its own address.
	}
}

// natAddr parses one dnat or snat target, IP or IP:PORT; port 0 means
// the port is left unchanged.
func (d *decoder) natAddr(v *yaml.Node, s string) (netip.AddrPort, bool) {
	if a, err := parseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 0), true
	}
	ap, err := parseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		d.diags.Hintf(d.pos(v), "write IP or IP:PORT, like 192.168.31.10 or 192.168.31.10:80 ([2001:db8::1]:80 for IPv6)", "nat to %q is not a valid address", clip(s))
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// natTargets reads a dnat's list of targets, among which connections are
// spread. The targets must be alike (one family, all with a port or none)
// because they stand for one service.
func (d *decoder) natTargets(v *yaml.Node, r *lab.NATRule) bool {
	if r.Action != lab.NATDNAT {
		// masquerade takes no to at all, which validate reports.
		if r.Action != lab.NATMasquerade && slices.Contains(lab.NATActions, r.Action) {
			d.diags.Hintf(d.pos(v), "write one target, or use action: dnat to spread connections over several", "%s takes one to, not a list: only dnat spreads connections over several targets", r.Action)
		}
		return false
	}
	items := d.list(v, "nat to")
	if len(items) == 0 {
		if len(v.Content) == 0 {
			d.diags.Hintf(d.pos(v), "list at least one target, like [10.244.1.10:8080, 10.244.2.10:8080]", "dnat to is an empty list")
		}
		return false
	}
	ok, firstText := true, ""
	for _, item := range items {
		s, good := d.str(item, "nat to")
		if !good {
			ok = false
			continue
		}
		ap, good := d.natAddr(item, s)
		if !good {
			ok = false
			continue
		}
		if len(r.Targets) == 0 {
			firstText = s
		} else {
			first := r.Targets[0]
			switch {
			case ap.Addr().Is4() != first.Addr().Is4():
				d.diags.Hintf(d.pos(item), "use addresses of one family in a rule", "dnat target %s is not of the family of the first target, %s", clip(s), clip(firstText))
				ok = false
				continue
			case (ap.Port() == 0) != (first.Port() == 0):
				has, other := "a port", "none"
				if ap.Port() == 0 {
					has, other = "no port", "one"
				}
				d.diags.Hintf(d.pos(item), "give every target a port, or none", "dnat target %s has %s but the first target, %s, has %s", clip(s), has, clip(firstText), other)
				ok = false
				continue
			}
		}
		r.Targets = append(r.Targets, ap)
	}
	return ok
}

func (d *decoder) firewall(v *yaml.Node, nodeWhat string) *lab.Firewall {
	f := &lab.Firewall{}
	f.Pos = d.pos(v)
	d.fields(v, "firewall of "+nodeWhat, &f.Src, lab.FilterHooks, func(hook string, v *yaml.Node) {
		c := &lab.Chain{Hook: hook, Policy: lab.FilterAccept}
		c.Pos = d.pos(v)
		what := fmt.Sprintf("%s chain of %s", hook, nodeWhat)
		d.fields(v, what, &c.Src, Fields["firewall chain"], func(key string, v *yaml.Node) {
			switch key {
			case "policy":
				if s, ok := d.oneOf(v, "policy", []string{lab.FilterAccept, lab.FilterDrop}); ok {
					c.Policy = s
				}
			case "rules":
				for _, item := range d.list(v, "rules of "+what) {
					r := &lab.FilterRule{}
					r.Pos = d.pos(item)
					ok := d.fields(item, "rule of "+what, &r.Src, Fields["firewall rule"], func(key string, v *yaml.Node) {
						switch key {
						case "action":
							r.Action, _ = d.oneOf(v, "firewall action", lab.FilterActions)
						case "prefix":
							r.Prefix, _ = d.str(v, "log prefix")
						default:
							d.match(key, v, &r.Match)
						}
					})
					if ok {
						c.Rules = append(c.Rules, r)
					}
				}
			}
		})
		f.Chains = append(f.Chains, c)
	})
	return f
}

func (d *decoder) check(v *yaml.Node) *lab.Check {
	c := &lab.Check{}
	c.Pos = d.pos(v)
	ok := d.fields(v, "check", &c.Src, Fields["check"], func(key string, v *yaml.Node) {
		switch key {
		case "from":
			c.From, _ = d.str(v, "check from")
		case "ping":
			c.Ping, _ = d.addr(v, "ping")
		case "to":
			c.To, _ = d.str(v, "check to")
		case "connect":
			c.Connect, _ = d.connect(v)
		case "http":
			c.HTTP, _ = d.httpURL(v)
		case "address":
			c.Address, _ = d.addr(v, "check address")
		case "proto":
			c.Proto, _ = d.oneOf(v, "check proto", []string{"icmp", "tcp", "udp"})
		case "port":
			c.Port, _ = d.port(v, "check port")
		case "listen":
			c.Listen, _ = d.port(v, "check listen")
		case "expect":
			c.Expect, _ = d.oneOf(v, "expect", []string{lab.ExpectOK, lab.ExpectFail})
		case "seen-source":
			c.SeenSource, _ = d.addr(v, "seen-source")
		case "timeout":
			c.Timeout, _ = d.duration(v, "timeout", maxTimeout)
		case "via":
			c.ViaGiven = true
			for _, item := range d.list(v, "via") {
				if s, ok := d.str(item, "via node"); ok {
					c.Via = append(c.Via, s)
					c.ViaPos = append(c.ViaPos, d.pos(item))
				}
			}
		case "nat":
			c.NAT, _ = d.oneOf(v, "check nat", lab.PathNATs)
		case "dropped-at":
			c.DroppedAt, _ = d.str(v, "dropped-at")
		}
	})
	if !ok {
		return nil
	}
	return c
}

// connect reads a connect check's target, IP:PORT.
func (d *decoder) connect(v *yaml.Node) (netip.AddrPort, bool) {
	s, ok := d.str(v, "connect")
	if !ok {
		return netip.AddrPort{}, false
	}
	ap, err := parseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		d.diags.Hintf(d.pos(v), "write IP:PORT, like 192.0.2.10:80 ([2001:db8::10]:80 for IPv6)", "connect %q is not an address and port", clip(s))
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// httpURL reads an http check's URL: http or https, with a host. Whether
// the host is an IP or a node of the lab is validate's to say.
func (d *decoder) httpURL(v *yaml.Node) (string, bool) {
	s, ok := d.str(v, "http")
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		d.diags.Hintf(d.pos(v), "write a URL, like http://192.0.2.10/ or http://web:8080/health", "http %q is not a URL", clip(s))
	case u.Scheme != "http" && u.Scheme != "https":
		d.diags.Hintf(d.pos(v), "write http://HOST/... or https://HOST/...", "http %q: the scheme must be http or https", clip(s))
	case u.Hostname() == "":
		d.diags.Hintf(d.pos(v), "write a URL, like http://192.0.2.10/ or http://web:8080/health", "http %q has no host", clip(s))
	case u.User != nil:
		d.diags.Hintf(d.pos(v), "leave out the USER@ part", "http %q must not carry a user or password", clip(s))
	case u.Port() != "" && !validPort(u.Port()):
		d.diags.Hintf(d.pos(v), "a port is 1 to 65535", "http %q: port %q is out of range", clip(s), u.Port())
	default:
		return s, true
	}
	return "", false
}

// validPort reports whether s is a port number 1 to 65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}
