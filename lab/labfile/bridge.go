package labfile

import (
	"go.yaml.in/yaml/v3"

	"netlab/lab"
)

// bridgeOption reads one field of a bridge's options. The timers' ranges
// are validate's to check, with the other STP rules.
func (d *decoder) bridgeOption(b *lab.BridgeOptions, key string, v *yaml.Node) {
	switch key {
	case "stp":
		b.STP, _ = d.boolean(v, "stp")
	case "forward-delay":
		b.ForwardDelay, _ = d.anyDuration(v, "forward-delay")
	case "hello-time":
		b.HelloTime, _ = d.anyDuration(v, "hello-time")
	case "max-age":
		b.MaxAge, _ = d.anyDuration(v, "max-age")
	case "priority":
		if p, ok := d.integer(v, "bridge priority", 0, 65535); ok {
			u := uint16(p)
			b.Priority = &u
		}
	}
}

// portFlag is the field of p that a port flag of the file sets.
func portFlag(p *lab.PortOptions, key string) **bool {
	switch key {
	case "hairpin":
		return &p.Hairpin
	case "isolated":
		return &p.Isolated
	case "learning":
		return &p.Learning
	case "flood":
		return &p.Flood
	case "mcast-flood":
		return &p.McastFlood
	}
	return &p.BcastFlood
}
