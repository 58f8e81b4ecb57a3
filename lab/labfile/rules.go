package labfile

import (
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
)

// rule reads one policy routing rule of a node.
func (d *decoder) rule(v *yaml.Node, nodeWhat string) *lab.Rule {
	r := &lab.Rule{}
	r.Pos = d.pos(v)
	ok := d.fields(v, "rule of "+nodeWhat, &r.Src, Fields["rule"], func(key string, v *yaml.Node) {
		switch key {
		case "from":
			r.From, _ = d.network(v, "rule from")
		case "to":
			r.To, _ = d.network(v, "rule to")
		case "iif":
			r.IIf, _ = d.str(v, "rule iif")
		case "oif":
			r.OIf, _ = d.str(v, "rule oif")
		case "fwmark":
			r.Mark, r.Mask, _ = d.fwmark(v)
		case "table":
			r.Table, _ = d.table(v, "rule table")
		case "priority":
			p, _ := d.integer(v, "rule priority", 0, math.MaxUint32)
			r.Priority = uint32(p)
		}
	})
	if !ok {
		return nil
	}
	return r
}

// table reads a routing table number: 1 to 2^32-2. 0 is the kernel's
// "unspecified" and 2^32-1 is reserved, so neither is a table a lab may
// name.
func (d *decoder) table(v *yaml.Node, what string) (uint32, bool) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Value == "0" {
		d.diags.Hintf(d.pos(v), "use a table from 1 to 4294967294, or main (254)",
			"%s 0 is not a table: the kernel reads 0 as \"unspecified\"", what)
		return 0, false
	}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == "main" {
		return lab.TableMain, true
	}
	t, ok := d.integer(v, what, 1, math.MaxUint32-1)
	return uint32(t), ok
}

// fwmark reads a firewall mark to match, N or N/MASK, each decimal or 0x
// hex, as ip rule writes it. A mark without a mask matches all 32 bits.
func (d *decoder) fwmark(v *yaml.Node) (mark, mask uint32, ok bool) {
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!str") {
		d.typeErr(v, "a mark, N or N/MASK", "rule fwmark")
		return 0, 0, false
	}
	bad := func() (uint32, uint32, bool) {
		d.diags.Hintf(d.pos(v), "write N or N/MASK, like 1 or 0x10/0xff (numbers up to 0xffffffff)",
			"rule fwmark %q is not a mark", clip(v.Value))
		return 0, 0, false
	}
	m, k, hasMask := strings.Cut(v.Value, "/")
	mark64, err := markUint(strings.TrimSpace(m))
	if err != nil {
		return bad()
	}
	mask64 := uint64(math.MaxUint32)
	if hasMask {
		if mask64, err = markUint(strings.TrimSpace(k)); err != nil {
			return bad()
		}
		if mask64 == 0 {
			d.diags.Hintf(d.pos(v), "use a mask with at least one bit set, or leave fwmark out",
				"rule fwmark %q has mask 0, which matches every packet", clip(v.Value))
			return 0, 0, false
		}
	}
	if uint64(mark64)&^mask64 != 0 {
		d.diags.Hintf(d.pos(v), "clear the mark's bits that the mask does not have",
			"rule fwmark %q has bits outside its mask", clip(v.Value))
		return 0, 0, false
	}
	return uint32(mark64), uint32(mask64), true
}

// markUint reads a 32-bit number as ip rule does (strtoul with base 0):
// hex after 0x, octal after a leading 0, else decimal; no sign, and not
// Go's 0b, 0o or underscores, which ParseUint's base 0 would take. The
// sysctl values of state (kernelInt) are read the same way, on the
// other side of the packages' layering.
func markUint(s string) (uint64, error) {
	digits, base := s, 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		digits, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		digits, base = s[1:], 8
	}
	if digits == "" || strings.ContainsAny(digits[:1], "+-") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(digits, base, 32)
}
