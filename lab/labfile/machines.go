package labfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
)

// machine reads one entry of machines: NAME: {address: ADDR}.
func (d *decoder) machine(name string, k, v *yaml.Node) *lab.Machine {
	m := &lab.Machine{Name: name}
	m.Pos = d.pos(k)
	d.fields(v, fmt.Sprintf("machine %q", name), &m.Src, Fields["machine"], func(key string, v *yaml.Node) {
		if key == "address" {
			m.Address, _ = d.addr(v, "machine address")
		}
	})
	return m
}
