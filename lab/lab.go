// Package lab is the desired-state model of a lab: the nodes, interfaces,
// links, routes, sysctls, netfilter rules and checks that a lab file
// declares. It is pure data: loading lives in labfile, the rules a valid lab
// obeys in validate, and nothing here touches the kernel.
package lab

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"netlab/lab/device"
	"netlab/lab/diag"
)

// Src records where an object stands in its file: Pos is the object itself
// (its key, for a map entry), Fields the value of each field that was set,
// keyed by the field's YAML name, and Bad the fields whose value could not
// be loaded (already reported, so that validation does not report them
// again as missing).
type Src struct {
	Pos    diag.Pos
	Fields map[string]diag.Pos
	Bad    map[string]bool
}

// At returns the position of a field's value, or of the object when the
// field was not written in the file.
func (s Src) At(field string) diag.Pos {
	if p, ok := s.Fields[field]; ok {
		return p
	}
	return s.Pos
}

// Has reports whether the field was written in the file.
func (s Src) Has(field string) bool {
	_, ok := s.Fields[field]
	return ok
}

// Broken reports whether the field was written but could not be loaded.
func (s Src) Broken(field string) bool { return s.Bad[field] }

// Usable reports whether the field was written and loaded without error.
func (s Src) Usable(field string) bool { return s.Has(field) && !s.Bad[field] }

// MarkBroken records that a field's value could not be loaded.
func (s *Src) MarkBroken(field string) {
	if s.Bad == nil {
		s.Bad = make(map[string]bool)
	}
	s.Bad[field] = true
}

// SetField records the position of a field's value.
func (s *Src) SetField(field string, p diag.Pos) {
	if s.Fields == nil {
		s.Fields = make(map[string]diag.Pos)
	}
	s.Fields[field] = p
}

// Lab is one lab file.
type Lab struct {
	Src
	File        string // the path it was loaded from, as shown to users
	Name        string
	Description string
	Nodes       []*Node // in file order
	Links       []*Link
	Checks      []*Check
	// Machines are the hosts a lab spread over several of them runs on
	// (machines:), in file order; none for a lab of one machine.
	Machines []*Machine

	ends  *linkEnds        // LinkOf's index, made by Index; nil for none
	nodes *nameIndex[Node] // Node's index, made by Index; nil for none
}

// nameIndex is a lookup by name of a slice of T that had n elements when
// it was made: the first element of each name, as a scan finds it. A
// slice that has grown since is scanned instead.
type nameIndex[T any] struct {
	n  int
	of map[string]*T
}

// makeIndex indexes items by name, the first of each name.
func makeIndex[T any](items []*T, name func(*T) string) *nameIndex[T] {
	ix := &nameIndex[T]{n: len(items), of: make(map[string]*T, len(items))}
	for _, it := range items {
		if _, dup := ix.of[name(it)]; !dup {
			ix.of[name(it)] = it
		}
	}
	return ix
}

// lookup finds name in ix when it is current for items (ok), or reports
// that items must be scanned.
func (ix *nameIndex[T]) lookup(items []*T, name string) (it *T, ok bool) {
	if ix == nil || ix.n != len(items) {
		return nil, false
	}
	return ix.of[name], true
}

// Node returns the node with the given name, or nil. A loaded lab
// answers from an index (Index): the planner and the validator ask it of
// every link end, and a 1000-node lab would be scanned a thousand times.
func (l *Lab) Node(name string) *Node {
	if n, ok := l.nodes.lookup(l.Nodes, name); ok {
		return n
	}
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// NodeNames lists the lab's node names, sorted: what an error naming an
// unknown node offers instead.
func (l *Lab) NodeNames() []string {
	names := make([]string, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names
}

// LinkOf returns the link that has the end node:ifname, or nil. The MTU
// rules, the validator and the planner ask it of every interface, so a
// loaded lab answers from an index of its links' ends (Index): a
// lookup per interface, not a scan of every link (a 1000-node lab has
// 1000 links). A lab without one, or changed since, is scanned.
func (l *Lab) LinkOf(node, ifname string) *Link {
	if ends := l.ends; ends != nil && ends.links == len(l.Links) {
		return ends.of[[2]string{node, ifname}]
	}
	for _, lk := range l.Links {
		for _, e := range lk.Ends {
			if e.Node == node && e.IfName == ifname {
				return lk
			}
		}
	}
	return nil
}

// Index makes the lab's lookups by name (Node, Node.Interface, LinkOf)
// answer from maps. The loader calls it once the lab is whole, before
// the lab is shared: the lookups only read the maps. A node, interface or
// link added afterwards makes its list scanned again; a name changed in
// place after Index is not seen, so nothing renames a loaded lab's parts.
func (l *Lab) Index() {
	l.nodes = makeIndex(l.Nodes, func(n *Node) string { return n.Name })
	for _, n := range l.Nodes {
		n.ifaces = makeIndex(n.Interfaces, func(i *Interface) string { return i.Name })
	}
	l.indexLinks()
}

// indexLinks makes LinkOf's index of the lab's links.
func (l *Lab) indexLinks() {
	ends := &linkEnds{links: len(l.Links), of: make(map[[2]string]*Link, 2*len(l.Links))}
	for _, lk := range l.Links {
		for _, e := range lk.Ends {
			key := [2]string{e.Node, e.IfName}
			if _, dup := ends.of[key]; !dup { // the first link of an end, as the scan finds it
				ends.of[key] = lk
			}
		}
	}
	l.ends = ends
}

// linkEnds is LinkOf's index: the link of each end, node and interface
// name, for a lab of that many links.
type linkEnds struct {
	links int
	of    map[[2]string]*Link
}

// Node is one network namespace (or, with Host, the machine's own).
type Node struct {
	Src
	Name       string
	Host       bool
	Machine    string       // the machine it runs on (machine:), or "" in a lab without machines
	Interfaces []*Interface // in file order; lo is implicit and never listed here
	Routes     []*Route
	Rules      []*Rule // policy routing rules (rules:), in file order
	Sysctls    []*Sysctl
	NAT        []*NATRule
	Firewall   *Firewall  // nil when the node has no filter rules
	Run        []*Process // the programs it runs (run:), in file order

	ifaces *nameIndex[Interface] // Interface's index, made by Lab.Index
}

// Process returns the node's process of that name, or nil.
func (n *Node) Process(name string) *Process {
	for _, p := range n.Run {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Process is one long-lived program a node runs, as a container runs its
// entrypoint: started by up, stopped by down.
type Process struct {
	Src
	Node string // the node that runs it
	Name string // unique within the node: 1 to 32 of a-z 0-9 - _
	// Command is what runs: with Shell, one string given to /bin/sh -c
	// (the file gave a string); otherwise the argv, exec'd as it is (the
	// file gave a list).
	Command []string
	Shell   bool
	Env     map[string]string // extra environment variables
	Dir     string            // working directory; "" means /
	Ready   *Ready            // nil: up does not wait for a port
}

// Ready is what up waits for before a process counts as started: a socket
// listening on Port inside the node.
type Ready struct {
	Src
	Proto   string        // "tcp" (a listener) or "udp" (a bound socket)
	Port    uint16        // 1 to 65535
	Timeout time.Duration // how long up waits; 0 means DefaultReadyTimeout
}

// DefaultReadyTimeout is how long up waits for a ready port when the file
// gives no timeout.
const DefaultReadyTimeout = 5 * time.Second

// MaxReadyTimeout bounds a ready timeout: up waits for a service to start,
// not for ever, and a typo such as 1h must not hang it.
const MaxReadyTimeout = 10 * time.Minute

// ArgField, EnvKeyField and EnvValueField name the positions a process's
// Src records beyond its fields: each argument of a command written as a
// list, and the name and the value of each env variable.
func ArgField(i int) string           { return "command[" + strconv.Itoa(i) + "]" }
func EnvKeyField(key string) string   { return "env key " + key }
func EnvValueField(key string) string { return "env value " + key }

// Interface returns the interface with the given name, or nil; from the
// lab's index (Lab.Index) when there is one, since a bridge node of a
// star has an interface per leaf.
func (n *Node) Interface(name string) *Interface {
	if i, ok := n.ifaces.lookup(n.Interfaces, name); ok {
		return i
	}
	for _, i := range n.Interfaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// AddInterface appends i to n's interfaces, keeping n's index (made by
// Lab.Index) current: the loader adds the interfaces that only a link
// names, and a hub whose ports are all implicit would be scanned again.
func (n *Node) AddInterface(i *Interface) {
	n.Interfaces = append(n.Interfaces, i)
	if ix := n.ifaces; ix != nil && ix.n == len(n.Interfaces)-1 {
		if _, dup := ix.of[i.Name]; !dup {
			ix.of[i.Name] = i
		}
		ix.n++
	}
}

// Kinds lists every kind a lab file may name, in the order the docs use.
var Kinds = []device.Kind{device.Veth, device.Bridge, device.MACVLAN, device.VXLAN, device.Tun, device.Tap, device.VLAN}

// Interface is one network device of a node.
type Interface struct {
	Src
	Node      string // the node that lists it
	Name      string
	Kind      device.Kind // after loading: the kind written, or veth for a link end
	Addresses []Address
	MAC       net.HardwareAddr // nil: the kernel picks one
	MTU       int              // 0: the kernel's default (for vxlan: underlay minus 50)
	Master    string           // a bridge of the same node, or ""
	Up        bool             // true unless the file says up: false
	Neighbors []*Neighbor      // permanent ARP/NDP entries, in file order

	Bridge  *BridgeOptions
	Port    *PortOptions // bridge port flags; only with a bridge Master
	MACVLAN *MACVLANOptions
	VXLAN   *VXLANOptions
	Tun     *TunOptions  // for kind tun and tap
	VLAN    *VLANOptions // for kind vlan

	// Egress is the impairment of what the interface sends: rate, delay,
	// loss (fields of the interface itself).
	Egress Impairment
}

// Ref is the interface's NODE:IFNAME, as links write it.
func (i *Interface) Ref() string { return i.Node + ":" + i.Name }

// Address is one address of an interface, with the prefix length of its
// subnet (192.168.31.1/24, not 192.168.31.0/24).
type Address struct {
	Prefix netip.Prefix
	Pos    diag.Pos
}

// BridgeOptions are the settings of a Linux bridge. The STP timers and
// the priority are 0 when the file does not give them: the kernel's
// defaults (DefaultForwardDelay, ...) then hold.
type BridgeOptions struct {
	Src
	STP          bool
	ForwardDelay time.Duration // 2s to 30s
	HelloTime    time.Duration // 1s to 10s
	MaxAge       time.Duration // 6s to 40s
	Priority     *uint16       // nil: the kernel's 32768
}

// The kernel's STP defaults for a new bridge (br_dev_setup), and the
// ranges it takes with STP on (br_set_forward_delay and the others).
const (
	DefaultForwardDelay = 15 * time.Second
	DefaultHelloTime    = 2 * time.Second
	DefaultMaxAge       = 20 * time.Second
	DefaultPriority     = 32768
	MinForwardDelay     = 2 * time.Second
	MaxForwardDelay     = 30 * time.Second
	MinHelloTime        = 1 * time.Second
	MaxHelloTime        = 10 * time.Second
	MinMaxAge           = 6 * time.Second
	MaxMaxAge           = 40 * time.Second
)

// PortOptions are the flags of a bridge port (IFLA_BRPORT_*), nil each
// when the file does not give it: the kernel's default then holds
// (hairpin and isolated off, learning and the floods on).
type PortOptions struct {
	Src
	Hairpin    *bool
	Isolated   *bool
	Learning   *bool
	Flood      *bool // unknown unicast
	McastFlood *bool
	BcastFlood *bool
}

// Neighbor is a permanent neighbour entry of an interface: ARP for an
// IPv4 address, NDP for IPv6.
type Neighbor struct {
	Src
	IP  netip.Addr
	MAC net.HardwareAddr
}

// MACVLAN modes, as the kernel names them.
const (
	MACVLANBridge   = "bridge"
	MACVLANPrivate  = "private"
	MACVLANVEPA     = "vepa"
	MACVLANPassthru = "passthru"
	MACVLANSource   = "source"
)

// MACVLANModes lists the valid modes.
var MACVLANModes = []string{MACVLANBridge, MACVLANPrivate, MACVLANVEPA, MACVLANPassthru, MACVLANSource}

// MACVLANOptions are the settings of a MACVLAN device.
type MACVLANOptions struct {
	Src
	ParentNode string // the node that owns the parent; the listing node if the file named no node
	Parent     string // the parent's interface name
	Mode       string // one of MACVLANModes; bridge by default
	SourceMACs []net.HardwareAddr
}

// DefaultVXLANPort is the IANA-assigned VXLAN port (Linux's own default is
// the older 8472).
const DefaultVXLANPort = 4789

// VXLANOptions are the settings of a VXLAN tunnel endpoint.
type VXLANOptions struct {
	Src
	VNI      uint32
	Remote   netip.Addr // unicast peer, or invalid
	Group    netip.Addr // multicast group, or invalid
	Local    netip.Addr // source address, or invalid
	Dev      string     // underlay interface of the same node, or ""
	Port     uint16
	Learning bool // true unless the file says learning: false
	Proxy    bool // answer ARP and NDP from the fdb's neighbours
	L2Miss   bool // tell user space of a destination MAC missing from the fdb
	L3Miss   bool // tell user space of a destination IP missing from the neighbours
	FDB      []FDBEntry
}

// FDBEntry is a static forwarding entry of a VXLAN: frames for MAC go to Dst.
// The all-zero MAC floods to Dst (head-end replication).
type FDBEntry struct {
	Src
	MAC net.HardwareAddr
	Dst netip.Addr
}

// VLANOptions are the settings of an 802.1Q VLAN device.
type VLANOptions struct {
	Src
	Parent string // an interface of the same node
	ID     uint16 // 1 to 4094
}

// TunOptions are the settings of a persistent tun or tap device.
type TunOptions struct {
	Src
	Owner *uint32 // user allowed to attach, or nil for root only
	Group *uint32
}

// Link is a veth pair; between nodes on two machines, a VXLAN device at
// each end (see CrossLink).
type Link struct {
	Src
	Ends [2]LinkEnd
	MTU  int    // 0: unset; applies to both ends
	VNI  uint32 // a cross-machine link's VNI (vni:); 0: derived (LinkVNI)
}

// LinkEnd is one end of a veth pair, NODE:IFNAME.
type LinkEnd struct {
	Pos    diag.Pos
	Node   string
	IfName string
}

func (e LinkEnd) String() string { return e.Node + ":" + e.IfName }

// Far is the end of the link that is not node:ifname.
func (lk *Link) Far(node, ifname string) LinkEnd {
	if e := lk.Ends[0]; e.Node != node || e.IfName != ifname {
		return e
	}
	return lk.Ends[1]
}

// Route is a static route in a node.
type Route struct {
	Src
	To     netip.Prefix // 0.0.0.0/0 or ::/0 for "default"
	Via    netip.Addr   // gateway, or invalid for a device route
	Dev    string
	Metric uint32
	Table  uint32 // routing table; 0 when not written, which is main (254)
}

// IsDefault reports whether the route is a default route.
func (r *Route) IsDefault() bool { return r.To.Bits() == 0 }

// Sysctl is one net.* key set inside a node's namespace.
type Sysctl struct {
	Src
	Key   string // dotted, e.g. net.ipv4.ip_forward
	Value string
}

// NAT actions.
const (
	NATMasquerade = "masquerade"
	NATSNAT       = "snat"
	NATDNAT       = "dnat"
	NATRedirect   = "redirect"
)

// NATActions lists the valid NAT actions.
var NATActions = []string{NATMasquerade, NATSNAT, NATDNAT, NATRedirect}

// Match is what a NAT or filter rule selects. Zero fields match anything.
type Match struct {
	Source      netip.Prefix
	Destination netip.Prefix
	In          string
	Out         string
	Proto       string // tcp, udp, icmp, or ""
	DPort       uint16
	State       []string // conntrack states; filter rules only
}

// NATRule is one rule of a node's nat section.
type NATRule struct {
	Src
	Action string
	Match
	ToAddr netip.Addr // snat/dnat target address, or invalid
	ToPort uint16     // dnat target port or redirect port, 0 for unchanged
	// Targets are a dnat's targets when to: is a list, in file order (port
	// 0 for unchanged); ToAddr and ToPort are then unset. Connections are
	// spread over them at random, as kube-proxy spreads a Service's.
	Targets []netip.AddrPort
}

// Firewall actions.
const (
	FilterAccept = "accept"
	FilterDrop   = "drop"
	FilterReject = "reject"
	FilterLog    = "log"
	FilterCount  = "count"
)

// FilterActions lists the valid firewall rule actions.
var FilterActions = []string{FilterAccept, FilterDrop, FilterReject, FilterLog, FilterCount}

// ConnStates lists the conntrack states a rule may match.
var ConnStates = []string{"new", "established", "related", "invalid", "untracked"}

// Firewall is a node's filter rules, one chain per hook.
type Firewall struct {
	Src
	Chains []*Chain // in file order; at most one per hook
}

// Chain returns the chain at the given hook, or nil.
func (f *Firewall) Chain(hook string) *Chain {
	if f == nil {
		return nil
	}
	for _, c := range f.Chains {
		if c.Hook == hook {
			return c
		}
	}
	return nil
}

// FilterHooks lists the chains a firewall may have.
var FilterHooks = []string{"input", "forward", "output"}

// Chain is the rules of one filter hook.
type Chain struct {
	Src
	Hook   string // input, forward or output
	Policy string // accept (the default) or drop
	Rules  []*FilterRule
}

// FilterRule is one firewall rule.
type FilterRule struct {
	Src
	Action string
	Match
	Prefix string // log prefix
}

// Check expectations.
const (
	ExpectOK   = "ok"
	ExpectFail = "fail"
)

// DefaultCheckTimeout is how long a probe waits for its answer.
const DefaultCheckTimeout = time.Second

// DefaultCheckPort is the port a tcp or udp check probes (echo).
const DefaultCheckPort = 7

// Check is one reachability probe run by `netlab check`. Exactly one of
// Ping, To, Connect and HTTP says what it probes.
type Check struct {
	Src
	From       string
	Ping       netip.Addr     // ICMP echo target, or invalid
	To         string         // a node that runs a responder
	Connect    netip.AddrPort // a TCP connection to whatever listens there, no responder; or invalid
	HTTP       string         // a URL (http or https) to GET, no responder; or ""
	Address    netip.Addr     // with To: the address to probe, or invalid for the node's first
	Proto      string         // icmp, tcp or udp
	Port       uint16         // with tcp or udp: the port the probe dials
	Listen     uint16         // with To: the port the responder listens on, when a NAT rule changes it; 0 for Port
	Expect     string         // ok or fail
	SeenSource netip.Addr
	Timeout    time.Duration
	// A path check (Via, NAT or DroppedAt given) traces its probe
	// (lab/trace) and asserts the request's way: Via, the nodes it
	// crosses between From and its target, in order (an empty list
	// given: none); NAT, the translations it undergoes (none, snat,
	// dnat, or both); DroppedAt, the node that drops it (with expect:
	// fail).
	Via       []string
	ViaGiven  bool       // via: was given (an empty list asserts a direct path)
	ViaPos    []diag.Pos // where each node of Via is written
	NAT       string
	DroppedAt string
}

// PathNATs lists the values of a path check's nat: the translations the
// request undergoes on its way.
var PathNATs = []string{"none", "snat", "dnat", "both"}

// IsPath reports whether the check asserts the probe's path: it runs as
// a trace.
func (c *Check) IsPath() bool { return c.ViaGiven || c.NAT != "" || c.DroppedAt != "" }

// ListenPort is the port the responder of a tcp or udp check listens on:
// Listen, or Port when Listen is not given.
func (c *Check) ListenPort() uint16 {
	if c.Listen != 0 {
		return c.Listen
	}
	return c.Port
}
