package kerneltest

// Seed: ip(8) commands run by hand, to set up or change a test's kernel.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"netlab/lab/device"
	"netlab/lab/kernel"
	"netlab/lab/state"
)

// Seed runs ip(8) commands by hand, as someone at a shell would: to set up
// what a test needs (a foreign namespace, a link netlab did not make), or
// to change the kernel behind netlab's back (drift). Hand commands are not
// counted as writes, no fault applies to them, and unlike netlab's own
// deletes they fail on what is missing, so that a mistyped test fails.
// Each argument may hold several lines; empty lines and # comments are
// skipped. Seed stops at the first command that fails. It understands the
// vocabulary of lab/state's cmd.go (plan.Change.Cmds, String), and a
// little more:
//
//	ip netns add|del NETNS
//	touch /run/netns/NETNS  (a stub: the empty mount point an interrupted NetNSAdd leaves)
//	ip netns exec NETNS sysctl [-q] [-w] KEY=VALUE
//	ip netns exec NETNS nft ...  (a few edits of netlab's table: seed_nft.go)
//	ip netns exec NETNS [env [-C DIR] [KEY=VALUE...]] ARGV... &  (a process, as StartByHandEnv)
//	ip -n NETNS link add [name] NAME type KIND [peer name PEER [netns PEERNS]] [stp_state 0|1]
//	ip -n NETNS link set [dev] NAME [name NEW] [alias A] [address MAC] [mtu N]
//	                          [master M | nomaster] [up | down] [type bridge stp_state 0|1]
//	ip -n NETNS link del [dev] NAME
//	ip -n NETNS addr add|del PREFIX dev NAME [nodad]
//	ip [-6] -n NETNS route add|replace|del TO [via GW] [dev NAME] [metric N] [proto P]
//
// and the shell lines of processes and hosts files (seed_shell.go).
//
// A route added by hand has proto boot unless it says otherwise; a link
// made by hand has no alias until one is set.
func (f *Fake) Seed(lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var doc *hereDoc // a here-document being read, which may span lines
	// pending is a command whose single-quoted word goes on over the next
	// lines, as shellQuote writes an argument with newlines (a script of
	// a run: entry): the lines are one command, newlines and indentation
	// kept.
	var pending string
	for _, text := range lines {
		for line := range strings.Lines(text) {
			if doc != nil {
				if strings.TrimSpace(line) != hereDocEnd {
					doc.body.WriteString(strings.TrimSuffix(line, "\n") + "\n")
					continue
				}
				err := f.shellLocked(doc.args, doc.body.String())
				if err != nil {
					return fmt.Errorf("seed %q: %w", doc.line, err)
				}
				doc = nil
				continue
			}
			if pending != "" {
				line, pending = pending+line, ""
			}
			raw := line
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if head, ok := strings.CutSuffix(line, hereDocStart); ok && isShellLine(head) {
				args, err := shellWords(head)
				if err != nil {
					return fmt.Errorf("seed %q: %w", line, err)
				}
				doc = &hereDoc{line: line, args: args}
				continue
			}
			args, err := shellWords(line)
			if errors.Is(err, errOpenQuote) {
				pending = raw
				continue
			}
			if err == nil {
				if isShellLine(line) {
					err = f.shellLocked(args, "")
				} else {
					err = f.handLocked(args)
				}
			}
			if err != nil {
				return fmt.Errorf("seed %q: %w", line, err)
			}
		}
	}
	if doc != nil {
		return fmt.Errorf("seed %q: the here-document does not end", doc.line)
	}
	if pending != "" {
		return fmt.Errorf("seed %q: %w", strings.TrimSpace(pending), errOpenQuote)
	}
	return nil
}

// errOpenQuote is a single-quoted word that the line does not end.
var errOpenQuote = errors.New("unterminated '")

// MustSeed is Seed for tests: it fails tb if a command fails.
func (f *Fake) MustSeed(tb testing.TB, lines ...string) {
	tb.Helper()
	if err := f.Seed(lines...); err != nil {
		tb.Fatal(err)
	}
}

// shellWords splits a line as sh does, for the quoting shellQuote and
// ip(8) users write: '...', "..." and backslash.
func shellWords(line string) ([]string, error) {
	var words []string
	var b strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errOpenQuote
			}
			b.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				b.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New(`unterminated "`)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
			inWord = true
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	return words, nil
}

// words is the rest of a command being parsed.
type words []string

func (w *words) next() (string, bool) {
	if len(*w) == 0 {
		return "", false
	}
	s := (*w)[0]
	*w = (*w)[1:]
	return s, true
}

// value returns the argument of a keyword.
func (w *words) value(keyword string) (string, error) {
	s, ok := w.next()
	if !ok {
		return "", fmt.Errorf("%s needs a value", keyword)
	}
	return s, nil
}

// eachPair calls fn for each KEYWORD VALUE pair left in w, stopping at
// the first error.
func (w *words) eachPair(fn func(kw, v string) error) error {
	for {
		kw, ok := w.next()
		if !ok {
			return nil
		}
		v, err := w.value(kw)
		if err != nil {
			return err
		}
		if err := fn(kw, v); err != nil {
			return err
		}
	}
}

func (f *Fake) handLocked(args []string) error {
	w := words(args)
	tool, _ := w.next()
	if tool == "touch" && len(w) == 1 && strings.HasPrefix(w[0], kernel.NetNSDir+"/") {
		// The stub an interrupted NetNSAdd leaves.
		name := strings.TrimPrefix(w[0], kernel.NetNSDir+"/")
		if f.netns[name] != nil || f.stubs[name] || strings.Contains(name, "/") {
			return fmt.Errorf("%s: %w", w[0], unix.EEXIST)
		}
		f.stubs[name] = true
		return nil
	}
	if tool != "ip" && tool != "bridge" && tool != "tc" {
		return errors.New("not an ip, bridge or tc command")
	}
	var netns string
	v6 := false
	for len(w) > 0 && strings.HasPrefix(w[0], "-") {
		opt, _ := w.next()
		switch opt {
		case "-n", "-netns":
			var err error
			if netns, err = w.value(opt); err != nil {
				return err
			}
		case "-6":
			v6 = true
		case "-4":
		default:
			return fmt.Errorf("unknown option %s", opt)
		}
	}
	object, _ := w.next()
	if object == "netns" && tool == "ip" {
		return f.handNetNSLocked(w)
	}
	if netns == "" {
		netns = state.HostNetNS // no -n: the machine's own namespace
	}
	ns, err := f.netnsLocked(netns)
	if err != nil {
		return err
	}
	verb, _ := w.next()
	if tool == "tc" {
		if object != "qdisc" {
			return fmt.Errorf("unknown tc object %q", object)
		}
		return handQdisc(ns, verb, w)
	}
	if tool == "bridge" {
		if object != "fdb" {
			return fmt.Errorf("unknown bridge object %q", object)
		}
		return handFDB(ns, verb, w)
	}
	switch object {
	case "tuntap":
		return f.handTuntapLocked(ns, verb, w)
	case "link", "l":
		return f.handLinkLocked(ns, verb, w)
	case "addr", "address", "a":
		return handAddr(ns, verb, w)
	case "route", "r":
		return handRoute(ns, verb, v6, w)
	case "rule", "ru":
		return handRule(ns, verb, v6, w)
	case "neigh", "neighbor", "n":
		return handNeigh(ns, verb, w)
	}
	return fmt.Errorf("unknown object %q", object)
}

func (f *Fake) handNetNSLocked(w words) error {
	verb, _ := w.next()
	name, ok := w.next()
	if !ok {
		return errors.New("netns needs a name")
	}
	switch verb {
	case "add":
		if f.netns[name] != nil {
			return fmt.Errorf("namespace %s: %w", name, unix.EEXIST)
		}
		f.addNetNSLocked(name)
		return nil
	case "del", "delete":
		ns, err := f.netnsLocked(name)
		if err != nil {
			return err
		}
		f.delNetNSLocked(ns)
		return nil
	case "exec":
		ns, err := f.netnsLocked(name)
		if err != nil {
			return err
		}
		if n := len(w); n > 0 && w[n-1] == "&" {
			return f.handProcessLocked(ns, w[:n-1])
		}
		s, _ := w.next()
		if s == "nft" {
			return handNFT(ns, w)
		}
		if s != "sysctl" {
			return errors.New("ip netns exec runs only sysctl, nft, and commands in the background (&) here")
		}
		for len(w) > 0 && strings.HasPrefix(w[0], "-") {
			w.next()
		}
		kv, _ := w.next()
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("sysctl %q: want KEY=VALUE", kv)
		}
		return ns.setSysctl(key, value)
	}
	return fmt.Errorf("unknown netns command %q", verb)
}

func (f *Fake) handLinkLocked(ns *fakeNetNS, verb string, w words) error {
	name, ok := w.next()
	if ok && (name == "dev" || name == "name") {
		// The explicit form state's cmd.go writes for a name that could
		// read as a keyword: "link set dev up", "link add name h".
		name, ok = w.next()
	}
	if !ok {
		return errors.New("link needs a name")
	}
	if (verb == "add" || verb == "a") && name == "link" {
		// ip link add link PARENT name NAME type vlan id N
		parent, _ := w.next()
		if kw, _ := w.next(); kw != "name" {
			return errors.New("write link add link PARENT name NAME")
		}
		if name, ok = w.next(); !ok {
			return errors.New("link needs a name")
		}
		w = append(words{"link", parent}, w...)
	}
	switch verb {
	case "add", "a":
		return f.handLinkAddLocked(ns, name, w)
	case "del", "delete", "d":
		fl := ns.byName(name)
		if fl == nil {
			return fmt.Errorf("link %s: %w", name, unix.ENODEV)
		}
		if fl.kind == device.Loopback {
			return fmt.Errorf("link %s: %w", name, unix.EOPNOTSUPP)
		}
		f.delLinkLocked(ns, fl)
		return nil
	case "set", "s":
		fl := ns.byName(name)
		if fl == nil {
			return fmt.Errorf("link %s: %w", name, unix.ENODEV)
		}
		var s linkSet
		for {
			kw, ok := w.next()
			if !ok {
				break
			}
			switch kw {
			case "up", "down":
				up := kw == "up"
				s.up = &up
			case "nomaster":
				none := ""
				s.master = &none
			case "name", "alias", "address", "master":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				switch kw {
				case "name":
					s.name = &v
				case "alias":
					s.alias = &v
				case "address":
					s.mac = &v
				case "master":
					s.master = &v
				}
			case "mtu":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				var mtu int
				if _, err := fmt.Sscan(v, &mtu); err != nil {
					return fmt.Errorf("mtu %q: %w", v, unix.EINVAL)
				}
				s.mtu = &mtu
			case "type":
				kind, _ := w.next()
				if kind == bridgeSlave {
					if err := f.linkSetLocked(ns, fl, s); err != nil {
						return err
					}
					return handBridgeSlaveSet(ns, fl, w)
				}
				switch device.Kind(kind) {
				case device.Bridge:
					if err := f.linkSetLocked(ns, fl, s); err != nil {
						return err
					}
					return handBridgeSet(fl, w)
				case device.MACVLAN:
					if fl.kind != device.MACVLAN {
						return fmt.Errorf("link %s is a %s: %w", fl.name, fl.kind, unix.EOPNOTSUPP)
					}
					return handMACVLANSet(fl, w)
				default:
					return fmt.Errorf("link set type %s: only bridge and macvlan are understood", kind)
				}
			case "stp_state":
				v, err := w.value(kw)
				if err != nil {
					return err
				}
				stp := v != "0"
				s.stp = &stp
			default:
				return fmt.Errorf("link set: unknown argument %q", kw)
			}
		}
		return f.linkSetLocked(ns, fl, s)
	}
	return fmt.Errorf("unknown link command %q", verb)
}

func (f *Fake) handLinkAddLocked(ns *fakeNetNS, name string, w words) error {
	var kind device.Kind
	var peerName, peerNS, lower string
	stp := false
	stpSet, stpGiven := defaultSTP, false
	dev := state.Device{Learning: true, Port: state.VXLANKernelPort} // the kernel's defaults
	for {
		kw, ok := w.next()
		if !ok {
			break
		}
		if kw == "nolearning" || kw == "learning" {
			dev.Learning = kw == "learning"
			continue
		}
		if flag := map[string]*bool{"proxy": &dev.Proxy, "l2miss": &dev.L2Miss, "l3miss": &dev.L3Miss}[kw]; flag != nil {
			*flag = true
			continue
		}
		v, err := w.value(kw)
		if err != nil {
			return err
		}
		switch kw {
		case "link":
			lower = v
		case "mode":
			dev.Mode = v
		case "id":
			if kind == device.VLAN {
				if _, err := fmt.Sscan(v, &dev.VLANID); err != nil || dev.VLANID == 0 || dev.VLANID > 4094 {
					return fmt.Errorf("id %q: %w", v, unix.EINVAL)
				}
				continue
			}
			if _, err := fmt.Sscan(v, &dev.VNI); err != nil {
				return fmt.Errorf("id %q: %w", v, unix.EINVAL)
			}
		case "dstport":
			if _, err := fmt.Sscan(v, &dev.Port); err != nil {
				return fmt.Errorf("dstport %q: %w", v, unix.EINVAL)
			}
		case "remote", "group", "local":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
			}
			*map[string]*netip.Addr{"remote": &dev.Remote, "group": &dev.Group, "local": &dev.Local}[kw] = a
		case "dev":
			dev.Dev = v
		case "type":
			kind = device.Kind(v)
		case "peer":
			if v != "name" {
				return errors.New("write peer name PEER")
			}
			if peerName, err = w.value("peer name"); err != nil {
				return err
			}
		case "netns":
			peerNS = v
		case "stp_state":
			stp = v != "0"
		case "forward_delay", "hello_time", "max_age", "priority":
			if _, err := stpTimer(&stpSet, kw, v); err != nil {
				return err
			}
			stpGiven = true
		default:
			return fmt.Errorf("link add: unknown argument %q", kw)
		}
	}
	if kind == "" || kind == device.Loopback {
		return fmt.Errorf("link add %s: kind %q: %w", name, kind, unix.EINVAL)
	}
	if peerNS == "1" {
		peerNS = state.HostNetNS // ip takes a PID: PID 1's is the root namespace
	}
	if kind == device.MACVLAN || kind == device.VXLAN || kind == device.VLAN {
		return f.handUpperAddLocked(ns, name, kind, lower, peerNS, dev)
	}
	a, err := newLink(ns, &state.Link{Name: name, STP: stp}, kind)
	if err != nil {
		return err
	}
	if stpGiven {
		a.stpSettings = &stpSet
	}
	if kind != device.Veth {
		f.addLinkLocked(ns, a, "", false)
		return nil
	}
	if peerName == "" {
		return errors.New("link add type veth needs peer name PEER")
	}
	pns := ns
	if peerNS != "" {
		if pns, err = f.netnsLocked(peerNS); err != nil {
			return err
		}
	}
	if pns == ns && peerName == name {
		return fmt.Errorf("link %s: peer has the same name: %w", name, unix.EEXIST)
	}
	b, err := newLink(pns, &state.Link{Name: peerName}, device.Veth)
	if err != nil {
		return err
	}
	f.addVethLocked(ns, a, "", false, pns, b, "", false)
	return nil
}

// handUpperAddLocked makes a macvlan on lower (in ns) placed in the
// namespace netnsArg names, or a vxlan in ns, as ip link add does.
func (f *Fake) handUpperAddLocked(ns *fakeNetNS, name string, kind device.Kind, lower, netnsArg string, dev state.Device) error {
	target := ns
	if netnsArg != "" {
		var err error
		if target, err = f.netnsLocked(netnsArg); err != nil {
			return err
		}
	}
	l := &state.Link{Name: name, Kind: kind, Device: dev}
	if kind == device.MACVLAN {
		if lower == "" {
			return fmt.Errorf("link add %s type macvlan needs link PARENT: %w", name, unix.EINVAL)
		}
		if l.Mode == "" {
			l.Mode = "vepa" // the kernel's default mode
		}
		_, node, _ := state.SplitNetNSName(ns.name)
		l.Parent, l.ParentNetNS = node+":"+lower, ns.name
		l.Port, l.Learning = 0, false
	}
	if kind == device.VXLAN && target != ns {
		// Made in ns, placed in target: its socket stays in ns, as a
		// link between machines has it (lowerLocked reads this).
		l.UnderlayNetNS = ns.name
	}
	if kind == device.VLAN {
		if lower == "" || l.VLANID == 0 {
			return fmt.Errorf("link add %s type vlan needs link PARENT and id N: %w", name, unix.EINVAL)
		}
		l.VLANParent = lower
		l.Port, l.Learning = 0, false
	}
	a, err := newLink(target, l, kind)
	if err != nil {
		return err
	}
	if err := f.lowerLocked(target, a, l); err != nil {
		return err
	}
	f.addLinkLocked(target, a, "", false)
	return nil
}

// handMACVLANSet changes a macvlan as `ip link set NAME type macvlan`
// does: mode MODE, or macaddr set|flush.
func handMACVLANSet(fl *fakeLink, w words) error {
	kw, _ := w.next()
	switch kw {
	case "mode":
		m, err := w.value(kw)
		if err != nil {
			return err
		}
		fl.dev.Mode = m
		return nil
	case "macaddr":
		op, _ := w.next()
		switch op {
		case "flush":
			fl.dev.SourceMACs = nil
		case "set":
			fl.dev.SourceMACs = nil
			for {
				m, ok := w.next()
				if !ok {
					break
				}
				mac, err := parseMAC(m)
				if err != nil {
					return err
				}
				fl.dev.SourceMACs = append(fl.dev.SourceMACs, mac)
			}
			slices.Sort(fl.dev.SourceMACs)
		default:
			return fmt.Errorf("macaddr %q: only set and flush are understood", op)
		}
		return nil
	}
	return fmt.Errorf("link set type macvlan %q: only mode and macaddr are understood", kw)
}

// handTuntapLocked is `ip tuntap add dev NAME mode tun|tap [user U] [group G]`.
func (f *Fake) handTuntapLocked(ns *fakeNetNS, verb string, w words) error {
	if verb != "add" {
		return fmt.Errorf("tuntap %q: only add is understood", verb)
	}
	var name, mode string
	var dev state.Device
	err := w.eachPair(func(kw, v string) error {
		switch kw {
		case "dev":
			name = v
		case "mode":
			mode = v
		case "user", "group":
			var id uint32
			if _, err := fmt.Sscan(v, &id); err != nil {
				return fmt.Errorf("%s %q: %w", kw, v, unix.EINVAL)
			}
			if kw == "user" {
				dev.TunOwner = &id
			} else {
				dev.TunGroup = &id
			}
		default:
			return fmt.Errorf("tuntap add: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if k := device.Kind(mode); k != device.Tun && k != device.Tap {
		return fmt.Errorf("tuntap add: mode %q: %w", mode, unix.EINVAL)
	}
	a, err := newLink(ns, &state.Link{Name: name, Kind: device.Kind(mode)}, device.Kind(mode))
	if err != nil {
		return err
	}
	a.dev = dev
	f.addLinkLocked(ns, a, "", false)
	return nil
}

// handFDB is `bridge fdb append|del MAC dev NAME dst IP [via DEV]` on a vxlan.
func handFDB(ns *fakeNetNS, verb string, w words) error {
	mac, err := w.value("fdb " + verb)
	if err != nil {
		return err
	}
	if mac, err = normalMAC(mac); err != nil {
		return err
	}
	var name string
	var dst netip.Addr
	err = w.eachPair(func(kw, v string) error {
		var err error
		switch kw {
		case "dev":
			name = v
		case "dst":
			if dst, err = netip.ParseAddr(v); err != nil {
				return fmt.Errorf("dst %q: %w", v, unix.EINVAL)
			}
		case "via":
			// The underlay device of the entry, which the fake does not
			// keep: the kernel's own entry has the vxlan's dev.
		default:
			return fmt.Errorf("fdb: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fl := ns.byName(name)
	if fl == nil {
		return fmt.Errorf("fdb dev %s: %w", name, unix.ENODEV)
	}
	if fl.kind != device.VXLAN || !dst.IsValid() {
		return fmt.Errorf("fdb on %s: only vxlan entries with dst are understood: %w", name, unix.EOPNOTSUPP)
	}
	e := state.FDBEntry{MAC: mac, Dst: dst}
	switch verb {
	case "append", "add":
		if !slices.Contains(fl.dev.FDB, e) {
			fl.dev.FDB = append(fl.dev.FDB, e)
			state.SortFDB(fl.dev.FDB)
		}
	case "del":
		fl.dev.FDB = slices.DeleteFunc(fl.dev.FDB, func(x state.FDBEntry) bool { return x == e })
	default:
		return fmt.Errorf("fdb %q: only append and del are understood", verb)
	}
	return nil
}

// normalMAC parses any MAC, the all-zero one included.
func normalMAC(s string) (string, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return "", fmt.Errorf("mac %q: %w", s, unix.EINVAL)
	}
	return mac.String(), nil
}

func handAddr(ns *fakeNetNS, verb string, w words) error {
	s, _ := w.next()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return err
	}
	var dev string
	for {
		kw, ok := w.next()
		if !ok {
			break
		}
		switch kw {
		case "dev":
			if dev, err = w.value(kw); err != nil {
				return err
			}
		case "nodad":
		default:
			return fmt.Errorf("addr: unknown argument %q", kw)
		}
	}
	fl := ns.byName(dev)
	if fl == nil {
		return fmt.Errorf("addr %s: dev %q: %w", p, dev, unix.ENODEV)
	}
	switch verb {
	case "add", "a":
		return addAddr(ns, dev, p)
	case "del", "delete", "d":
		if !slices.Contains(fl.addrs, p) {
			return fmt.Errorf("addr %s dev %s: %w", p, dev, unix.EADDRNOTAVAIL)
		}
		delAddr(ns, dev, p)
		return nil
	}
	return fmt.Errorf("unknown addr command %q", verb)
}

func handRoute(ns *fakeNetNS, verb string, v6 bool, w words) error {
	to, _ := w.next()
	r := state.Route{}
	proto := unix.RTPROT_BOOT
	err := w.eachPair(func(kw, v string) error {
		var err error
		switch kw {
		case "via":
			if r.Via, err = netip.ParseAddr(v); err != nil {
				return err
			}
		case "dev":
			r.Dev = v
		case "metric":
			if _, err := fmt.Sscan(v, &r.Metric); err != nil {
				return fmt.Errorf("metric %q: %w", v, unix.EINVAL)
			}
		case "table":
			if _, err := fmt.Sscan(v, &r.Table); err != nil || r.Table == 0 {
				return fmt.Errorf("table %q: %w", v, unix.EINVAL)
			}
			if r.Table == 254 {
				r.Table = 0
			}
		case "proto":
			var ok bool
			if proto, ok = protoNames[v]; !ok {
				if _, err := fmt.Sscan(v, &proto); err != nil {
					return fmt.Errorf("proto %q: %w", v, unix.EINVAL)
				}
			}
		default:
			return fmt.Errorf("route: unknown argument %q", kw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case to == "default" && (v6 || r.Via.Is6()):
		r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	case to == "default":
		r.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case strings.Contains(to, "/"):
		p, err := netip.ParsePrefix(to)
		if err != nil {
			return err
		}
		r.To = p
	default:
		a, err := netip.ParseAddr(to)
		if err != nil {
			return err
		}
		r.To = netip.PrefixFrom(a, a.BitLen())
	}
	metric := state.RouteMetric(r.To, r.Metric)
	exists := slices.ContainsFunc(ns.routes, func(old *fakeRoute) bool {
		return old.to == r.To && old.table == r.Table && (old.metric == metric || (r.Metric == 0 && verb != "add" && verb != "replace"))
	})
	switch verb {
	case "add", "a":
		if exists {
			return fmt.Errorf("route %s: %w", r.Key(), unix.EEXIST)
		}
		return ns.replaceRoute(r, proto)
	case "replace":
		return ns.replaceRoute(r, proto)
	case "del", "delete", "d":
		if !exists {
			return fmt.Errorf("route %s: %w", r.Key(), unix.ESRCH)
		}
		ns.delRoute(r)
		return nil
	}
	return fmt.Errorf("unknown route command %q", verb)
}

// handProcessLocked starts a process by hand, as a shell runs
// "[env [-C DIR] KEY=VALUE...] ARGV... &" in the namespace: a
// NETLAB_PROCESS value is its marker (state.ProcessCmd writes a
// declared process so).
func (f *Fake) handProcessLocked(ns *fakeNetNS, w words) error {
	var env []string
	dir := ""
	if len(w) > 0 && w[0] == "env" {
		w.next()
		if len(w) > 1 && w[0] == "-C" {
			dir = w[1]
			w = w[2:]
		}
		for len(w) > 0 && strings.Contains(w[0], "=") && !strings.HasPrefix(w[0], "=") {
			kv, _ := w.next()
			env = append(env, kv)
		}
	}
	if len(w) == 0 {
		return errors.New("no command to run")
	}
	marker := ""
	var declared []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, state.ProcessEnv+"="); ok {
			marker = v
		} else {
			declared = append(declared, kv)
		}
	}
	p := f.newProcLocked(ns, 1, w, env, marker)
	p.declEnv, p.dir = declared, dir
	return nil
}
