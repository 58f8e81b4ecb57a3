package labfile

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
	"netlab/lab/diag"
)

// maxNodes bounds how many YAML nodes one file may expand to, counting each
// use of an alias again. It stops an alias bomb ("billion laughs") from
// turning a small file into a huge walk.
const maxNodes = 1_000_000

// decoder walks a yaml.Node tree, recording every problem with the position
// of the offending key or value.
type decoder struct {
	file  string
	diags diag.List
	seen  int // YAML nodes visited, against maxNodes
	over  bool

	// expanding holds the mappings whose entries pairs is collecting, to
	// catch a merge key that refers back to its own mapping
	// (x: &a {<<: *a}), which would otherwise expand forever.
	expanding map[*yaml.Node]bool
}

func (d *decoder) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

// resolve follows an alias to the node it names and counts the visit.
// It returns nil once the file has expanded past maxNodes.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			return nil
		}
		n = n.Alias
	}
	d.seen++
	if d.seen > maxNodes {
		if !d.over {
			d.over = true
			d.diags.Hintf(d.pos(n), "expand fewer aliases", "file expands to more than %d YAML nodes", maxNodes)
		}
		return nil
	}
	return n
}

// describe names a YAML node's type as a user thinks of it.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "a number"
		case "!!float":
			return "a decimal number"
		}
		return fmt.Sprintf("the string %q", clip(n.Value))
	}
	return "an unsupported YAML value"
}

// clip shortens a user's value for quoting in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func (d *decoder) typeErr(n *yaml.Node, want, what string) {
	var hint string
	switch {
	case want == "a list" && n.Kind == yaml.ScalarNode && !isNull(n) && len(n.Value) <= 40 && plainWord(n.Value):
		hint = fmt.Sprintf("write it as a list: [%s]", n.Value)
	case want == "a list" && n.Kind == yaml.MappingNode:
		hint = `put it in a list, [{...}], or start it with "- "`
	case want == "a mapping" && n.Kind == yaml.SequenceNode:
		hint = "write NAME: VALUE entries, without \"- \""
	}
	if hint != "" {
		d.diags.Hintf(d.pos(n), hint, "%s must be %s, not %s", what, want, describe(n))
		return
	}
	d.diags.Errorf(d.pos(n), "%s must be %s, not %s", what, want, describe(n))
}

// plainWord reports whether s can be quoted back to the user in a hint as
// it is: printable ASCII, without spaces, commas or brackets.
func plainWord(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' || strings.ContainsRune(",[]{}", r) {
			return false
		}
	}
	return s != ""
}

// pair is one key and its value in a mapping, after merge keys are expanded.
type pair struct{ key, value *yaml.Node }

// pairs returns the entries of a mapping in file order, expanding YAML merge
// keys (<<) in place. As the merge key type defines, a key written in the
// mapping itself overrides a merged one, and of merged mappings the first
// wins, so {<<: *base, mtu: 9000} is the usual way to vary a base. It
// reports a value that is not a mapping, and returns false. An explicit
// null (an empty section) is an empty mapping.
func (d *decoder) pairs(n *yaml.Node, what string) ([]pair, bool) {
	at := n // an alias, for a merged value: where to report a cycle
	n = d.resolve(n)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, "a mapping", what)
		return nil, false
	}
	if d.expanding[n] {
		d.diags.Hintf(d.pos(at), "merge another mapping", "%s is the mapping it is merged into", what)
		return nil, false
	}
	if d.expanding == nil {
		d.expanding = make(map[*yaml.Node]bool)
	}
	d.expanding[n] = true
	defer delete(d.expanding, n)
	var out []pair
	var own map[string]bool // keys written in n itself, once n has a <<
	mergedKeys := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			return out, false
		}
		if k.ShortTag() != "!!merge" {
			out = append(out, pair{k, v})
			continue
		}
		merged, ok := d.merge(v, what)
		if !ok {
			continue
		}
		if own == nil {
			own = ownKeys(n)
		}
		for _, p := range merged {
			if p.key.Kind == yaml.ScalarNode {
				if own[p.key.Value] || mergedKeys[p.key.Value] {
					continue // overridden
				}
				mergedKeys[p.key.Value] = true
			}
			out = append(out, p)
		}
	}
	return out, true
}

// ownKeys returns the scalar keys written in a mapping, not merged into it.
func ownKeys(n *yaml.Node) map[string]bool {
	keys := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		for depth := 0; k != nil && k.Kind == yaml.AliasNode && depth <= 100; depth++ {
			k = k.Alias
		}
		if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
			keys[k.Value] = true
		}
	}
	return keys
}

// merge expands the value of a << key: one mapping or a list of them.
func (d *decoder) merge(v *yaml.Node, what string) ([]pair, bool) {
	if !strings.HasPrefix(what, "merged value of ") {
		what = "merged value of " + what
	}
	r := d.resolve(v)
	if r == nil {
		return nil, false
	}
	if r.Kind == yaml.SequenceNode {
		// Merged mappings are kept whole here; pairs drops the keys that
		// an earlier mapping or the mapping itself already has.
		var out []pair
		for _, m := range r.Content {
			ps, ok := d.pairs(m, what)
			if !ok {
				return out, false
			}
			out = append(out, ps...)
		}
		return out, true
	}
	return d.pairs(v, what) // v, not r: report a cycle at the alias
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// keyName returns a mapping key as a string; keys must be plain scalars.
func (d *decoder) keyName(k *yaml.Node, what string) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		d.diags.Errorf(d.pos(k), "key in %s must be a name, not %s", what, describe(k))
		return "", false
	}
	return k.Value, true
}

// fields walks a mapping whose keys are field names, calling set for each
// known field. Unknown fields are reported with the nearest known name, and
// a field given twice is reported at its second place. The position of each
// value is recorded in src.
func (d *decoder) fields(n *yaml.Node, what string, src *lab.Src, known []string, set func(key string, v *yaml.Node)) bool {
	ps, ok := d.pairs(n, what)
	if !ok {
		return false
	}
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		key, ok := d.keyName(p.key, what)
		if !ok {
			continue
		}
		if !contains(known, key) {
			d.unknownField(p.key, key, what, known)
			continue
		}
		if seen[key] {
			d.diags.Hintf(d.pos(p.key), "remove one of them", "field %q is given twice in %s", key, what)
			continue
		}
		seen[key] = true
		v := d.resolve(p.value)
		if v == nil {
			return false
		}
		src.SetField(key, d.pos(v))
		before := len(d.diags)
		set(key, v)
		if len(d.diags) > before {
			src.MarkBroken(key)
		}
	}
	return true
}

func (d *decoder) unknownField(k *yaml.Node, key, what string, known []string) {
	if near := nearest(key, known); near != "" {
		d.diags.Hintf(d.pos(k), fmt.Sprintf("did you mean %q?", near), "unknown field %q in %s", key, what)
		return
	}
	d.diags.Hintf(d.pos(k), "valid fields are "+strings.Join(known, ", "), "unknown field %q in %s", key, what)
}

// entries walks a mapping whose keys are names chosen by the user (nodes,
// interfaces, sysctls), reporting a name given twice.
func (d *decoder) entries(n *yaml.Node, what, entry string, each func(name string, k, v *yaml.Node)) {
	ps, ok := d.pairs(n, what)
	if !ok {
		return
	}
	first := make(map[string]*yaml.Node, len(ps))
	for _, p := range ps {
		name, ok := d.keyName(p.key, what)
		if !ok {
			continue
		}
		if prev, dup := first[name]; dup {
			d.diags.Hintf(d.pos(p.key), fmt.Sprintf("the first is at line %d: rename or remove one", prev.Line), "%s %q is defined twice in %s", entry, name, what)
			continue
		}
		first[name] = p.key
		v := d.resolve(p.value)
		if v == nil {
			return
		}
		each(name, p.key, v)
	}
}

// list returns the items of a sequence, each alias resolved.
func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, "a list", what)
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		c = d.resolve(c)
		if c == nil {
			return out
		}
		out = append(out, c)
	}
	return out
}

// str returns a scalar as text. Numbers and booleans are refused, so that
// `master: 0` or `kind: yes` is reported rather than quietly read as a name.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.typeErr(n, "a string", what)
		return "", false
	}
	return n.Value, true
}

// text returns any scalar but null as text: for values such as a sysctl
// that may be written as a number or a string.
func (d *decoder) text(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.typeErr(n, "a number or string", what)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.typeErr(n, "true or false", what)
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.typeErr(n, "true or false", what)
		return false, false
	}
	return b, true
}

// integer returns a whole number in [lo, hi], reporting the range otherwise.
func (d *decoder) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			d.diags.Hintf(d.pos(n), "remove the quotes", "%s must be a whole number, not %s", what, describe(n))
			return 0, false
		}
		d.typeErr(n, "a whole number", what)
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		// 0o17 and other forms strconv does not take: let yaml decide.
		if derr := n.Decode(&v); derr != nil {
			d.diags.Hintf(d.pos(n), fmt.Sprintf("use a number from %d to %d", lo, hi), "%s %s is out of range", what, clip(n.Value))
			return 0, false
		}
	}
	if v < lo || v > hi {
		d.diags.Errorf(d.pos(n), "%s %d is out of range %d-%d", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

// port reads a TCP or UDP port, 1-65535, written as a number.
func (d *decoder) port(n *yaml.Node, what string) (uint16, bool) {
	v, ok := d.integer(n, what, 1, math.MaxUint16)
	return uint16(v), ok
}

// prefix reads an address with its prefix length, as an interface carries
// it: 192.168.31.1/24 or 2001:db8::1/64.
func (d *decoder) prefix(n *yaml.Node, what string) (netip.Prefix, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return netip.Prefix{}, false
	}
	if strings.Contains(s, "%") {
		d.diags.Hintf(d.pos(n), "leave out the %ZONE part", "%s %q must not carry a zone", what, clip(s))
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		hint := "write it as ADDRESS/LENGTH, like 192.168.31.1/24 or 2001:db8::1/64"
		addr, _, hasLength := strings.Cut(s, "/")
		if a, aerr := netip.ParseAddr(addr); aerr == nil {
			switch {
			case !hasLength && a.Is4():
				hint = "add the prefix length, like " + s + "/24"
			case !hasLength:
				hint = "add the prefix length, like " + s + "/64"
			case a.Is4():
				hint = "the prefix length of an IPv4 address is 0 to 32"
			default:
				hint = "the prefix length of an IPv6 address is 0 to 128"
			}
		}
		d.diags.Hintf(d.pos(n), hint, "%s %q is not a valid CIDR", what, clip(s))
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), true
}

// network reads a CIDR used as a match or route destination. Host bits
// are allowed and cleared, as ip(8) does.
func (d *decoder) network(n *yaml.Node, what string) (netip.Prefix, bool) {
	p, ok := d.prefix(n, what)
	if !ok {
		return p, false
	}
	return p.Masked(), true
}

// addr reads a single IP address.
func (d *decoder) addr(n *yaml.Node, what string) (netip.Addr, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		hint := "write an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1"
		if _, perr := netip.ParsePrefix(s); perr == nil {
			hint = "leave out the prefix length"
		} else if err == nil {
			hint = "leave out the %ZONE part"
		}
		d.diags.Hintf(d.pos(n), hint, "%s %q is not a valid IP address", what, clip(s))
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// mac reads an Ethernet MAC address.
func (d *decoder) mac(n *yaml.Node, what string) (net.HardwareAddr, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return nil, false
	}
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		d.diags.Hintf(d.pos(n), "write six hex bytes, like 02:00:00:00:00:01", "%s %q is not a valid MAC address", what, clip(s))
		return nil, false
	}
	return m, true
}

// oneOf reads a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, what string, choices []string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if contains(choices, s) {
		return s, true
	}
	hint := "use one of " + strings.Join(choices, ", ")
	if near := nearest(s, choices); near != "" {
		hint = fmt.Sprintf("did you mean %q?", near)
	}
	d.diags.Hintf(d.pos(n), hint, "%s %q is not valid", what, clip(s))
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
