package labfile

import (
	"netlab/lab"
	"netlab/lab/device"
)

// setDefaults fills in what the file may leave out, after parsing:
//   - an interface named by a link end and declared without a kind is a veth;
//   - a link end not declared under the node's interfaces gets an
//     interface entry of its own, so every later stage sees one list
//     (added through the lab's index, which Parse made first);
//   - a check probes with ICMP (connect and http checks with TCP),
//     expects success and waits one second, and a TCP or UDP check to a
//     node probes the echo port.
func setDefaults(l *lab.Lab) {
	for _, lk := range l.Links {
		for _, e := range lk.Ends {
			n := l.Node(e.Node)
			if n == nil {
				continue // reported by validate
			}
			i := n.Interface(e.IfName)
			if i == nil {
				i = &lab.Interface{Node: n.Name, Name: e.IfName, Kind: device.Veth, Up: true}
				i.Pos = e.Pos
				n.AddInterface(i)
				continue
			}
			if i.Kind == "" && !i.Has("kind") {
				i.Kind = device.Veth
			}
		}
	}
	for _, c := range l.Checks {
		if c.Proto == "" && !c.Has("proto") {
			c.Proto = "icmp"
			if c.Has("connect") || c.Has("http") {
				c.Proto = "tcp"
			}
		}
		if c.Port == 0 && !c.Has("port") && c.Has("to") && (c.Proto == "tcp" || c.Proto == "udp") {
			c.Port = lab.DefaultCheckPort
		}
		if c.Expect == "" && !c.Has("expect") {
			c.Expect = lab.ExpectOK
		}
		if c.Timeout == 0 && !c.Has("timeout") {
			c.Timeout = lab.DefaultCheckTimeout
		}
	}
}
