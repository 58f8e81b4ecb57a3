package labfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"netlab/lab"
)

// run reads a node's run: the list of programs it runs, in file order.
func (d *decoder) run(v *yaml.Node, node, nodeWhat string) []*lab.Process {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
		d.diags.Hintf(d.pos(v), "give each program as an entry: - {name: NAME, command: ...}", "run of %s must be a list, not %s", nodeWhat, describe(v))
		return nil
	}
	var out []*lab.Process
	for _, item := range d.list(v, "run of "+nodeWhat) {
		if p := d.process(item, node, nodeWhat); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// process reads one entry of run. Whether the entry is complete and its
// values make sense (a name, a command, an absolute dir) is validate's to
// say; here only the form of each value is checked.
func (d *decoder) process(v *yaml.Node, node, nodeWhat string) *lab.Process {
	p := &lab.Process{Node: node}
	p.Pos = d.pos(v)
	what := "process of " + nodeWhat
	if name := plainName(v); name != "" {
		what = fmt.Sprintf("process %q of %s", clip(name), nodeWhat)
	}
	ok := d.fields(v, what, &p.Src, Fields["process"], func(key string, v *yaml.Node) {
		switch key {
		case "name":
			p.Name, _ = d.str(v, "process name")
		case "command":
			d.command(v, p)
		case "env":
			d.env(v, p, what)
		case "dir":
			p.Dir, _ = d.str(v, "dir")
		case "ready":
			p.Ready = d.ready(v, what)
		}
	})
	if !ok {
		return nil
	}
	return p
}

// plainName returns the name a run entry gives itself when it is written
// as a plain string in the entry, so that messages about the entry's other
// fields can say which process they are about; "" otherwise.
func plainName(v *yaml.Node) string {
	if v.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "name" && val.Kind == yaml.ScalarNode && val.ShortTag() == "!!str" {
			return val.Value
		}
	}
	return ""
}

// command reads a process's command: a string, which /bin/sh -c runs
// (Shell), or a list of arguments, exec'd as they are. A list item may be
// a number (sleep, 10): it is the text written.
func (d *decoder) command(v *yaml.Node, p *lab.Process) {
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str":
		p.Command, p.Shell = []string{v.Value}, true
	case v.Kind == yaml.SequenceNode:
		p.Command = []string{}
		for i, item := range d.list(v, "command") {
			p.SetField(lab.ArgField(i), d.pos(item))
			switch {
			case item.Kind == yaml.MappingNode:
				// [sh, -c, echo a: b] is a list whose third item is the
				// mapping {echo a: b}.
				d.diags.Hintf(d.pos(item), `quote the argument: ": " starts a mapping in YAML`, "argument %d of command must be a string, not %s", i+1, describe(item))
			case item.Kind != yaml.ScalarNode || isNull(item):
				d.typeErr(item, "a string", fmt.Sprintf("argument %d of command", i+1))
			default:
				p.Command = append(p.Command, item.Value)
			}
		}
	default:
		hint := "write a string, which /bin/sh -c runs, or a list, exec'd as it is: [PROGRAM, ARG, ...]"
		if v.Kind == yaml.ScalarNode && !isNull(v) {
			hint = "quote it"
		}
		d.diags.Hintf(d.pos(v), hint, "command must be a string or a list, not %s", describe(v))
	}
}

// env reads a process's extra environment: names to values, each value
// the text written, so that TZ: UTC and N: 1 both read as they look.
func (d *decoder) env(v *yaml.Node, p *lab.Process, what string) {
	d.entries(v, "env of "+what, "variable", func(key string, k, v *yaml.Node) {
		p.SetField(lab.EnvKeyField(key), d.pos(k))
		p.SetField(lab.EnvValueField(key), d.pos(v))
		if isNull(v) {
			d.diags.Hintf(d.pos(v), fmt.Sprintf(`write %s: "" for an empty value`, clip(key)), "env %q has no value", clip(key))
			return
		}
		val, ok := d.text(v, fmt.Sprintf("env %q", clip(key)))
		if !ok {
			return
		}
		if p.Env == nil {
			p.Env = make(map[string]string)
		}
		p.Env[key] = val
	})
}

// ready reads what up waits for once a process is started: {tcp: PORT} or
// {udp: PORT}, with an optional timeout. Of tcp and udp both written, the
// first is kept and validate reports the second.
func (d *decoder) ready(v *yaml.Node, what string) *lab.Ready {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		d.diags.Hintf(d.pos(v), fmt.Sprintf("write {tcp: %s} or {udp: %s}", v.Value, v.Value), "ready of %s must be a mapping, not %s", what, describe(v))
		return nil
	}
	r := &lab.Ready{}
	r.Pos = d.pos(v)
	ok := d.fields(v, "ready of "+what, &r.Src, Fields["ready"], func(key string, v *yaml.Node) {
		switch key {
		case "tcp", "udp":
			port, ok := d.port(v, "ready "+key+" port")
			if ok && r.Proto == "" {
				r.Proto, r.Port = key, port
			}
		case "timeout":
			r.Timeout, _ = d.anyDuration(v, "ready timeout")
		}
	})
	if !ok {
		return nil
	}
	return r
}
