package labfile

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
)

// impairment reads one of an interface's rate, delay and loss.
func (d *decoder) impairment(key string, v *yaml.Node, m *lab.Impairment) {
	switch key {
	case "rate":
		s, ok := d.str(v, "rate")
		if !ok {
			return
		}
		r, err := lab.ParseRate(s)
		if err != nil {
			d.diags.Hintf(d.pos(v), "write a rate as tc does: 10mbit, 512kbit, 1gbit", "%v", err)
			return
		}
		m.Rate = r
	case "delay":
		m.Delay, _ = d.duration(v, "delay", lab.MaxDelay)
	case "loss":
		// 1%, 0.5% or a bare number of percent.
		if v.Kind != yaml.ScalarNode || isNull(v) {
			d.typeErr(v, "a percentage such as 1% or 0.5%", "loss")
			return
		}
		// Digits and a point alone: ParseFloat takes NaN, Inf, signs,
		// exponents and hex too, and a NaN passes every range check.
		num := strings.TrimSuffix(strings.TrimSpace(v.Value), "%")
		pct, err := strconv.ParseFloat(num, 64)
		if err != nil || !decimal(num) {
			d.diags.Hintf(d.pos(v), "write a percentage such as 1% or 0.5%", "loss %q is not a percentage", clip(v.Value))
			return
		}
		if pct < lab.MinLoss || pct > 100 {
			d.diags.Errorf(d.pos(v), "loss %s is out of range: use at least %s and at most 100%%", lab.LossText(pct), lab.LossText(lab.MinLoss))
			return
		}
		m.Loss = pct
	}
}

// vlan reads the settings of a vlan interface.
func (d *decoder) vlan(v *yaml.Node, what string) *lab.VLANOptions {
	o := &lab.VLANOptions{}
	o.Pos = d.pos(v)
	d.fields(v, "vlan options of "+what, &o.Src, Fields["vlan"], func(key string, v *yaml.Node) {
		switch key {
		case "parent":
			o.Parent, _ = d.str(v, "vlan parent")
		case "id":
			id, _ := d.integer(v, "vlan id", 1, 4094)
			o.ID = uint16(id)
		}
	})
	return o
}

// decimal reports whether s is a plain decimal number: digits, with at
// most one point between digits.
func decimal(s string) bool {
	whole, frac, point := strings.Cut(s, ".")
	digits := func(p string) bool {
		return p != "" && strings.Trim(p, "0123456789") == ""
	}
	return digits(whole) && (!point || digits(frac))
}
