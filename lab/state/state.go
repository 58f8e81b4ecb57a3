// Package state is the flat model of what netlab manages in the kernel:
// namespaces, links, addresses, routes and sysctls, each with an identity
// (node, kind, name) and the attributes netlab manages. The same type holds
// the desired state, built from a lab file, and the observed state, read
// from the kernel, so that a diff is one pure function over two values.
package state

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"netlab/lab/device"
	"netlab/lab/name"
)

// RouteProtocol marks the routes netlab adds (rtm_protocol). `ip route`
// shows it as "proto 78"; routes added by hand show "proto boot" and are
// never taken for netlab's.
const RouteProtocol = 78

// NetNSName is the kernel name of a node's namespace: LAB.NODE. Lab and
// node names never contain a dot, so the split is unambiguous and two labs
// never share a namespace, even when one name is a prefix of the other.
func NetNSName(lab, node string) string { return lab + "." + node }

// HostNetNS stands, where a namespace name is expected, for the machine's
// root namespace: the namespace of a node with host: true. It cannot be a
// name NetNSName makes (those hold a dot), and the kernel package opens
// the root namespace for it (that of PID 1), never a file of that name.
const HostNetNS = ":host"

// SplitNetNSName undoes NetNSName; ok is false for names that cannot be
// netlab's: both parts must pass the name rule, so a file planted in
// /run/netns under a name no lab file allows (LAB.HX, LAB.a b) is never
// taken for a node, nor used to build a path.
func SplitNetNSName(netnsName string) (lab, node string, ok bool) {
	lab, node, ok = strings.Cut(netnsName, ".")
	if !ok || name.Problem(lab) != "" || name.Problem(node) != "" {
		return "", "", false
	}
	return lab, node, true
}

// NodeMarker is the alias netlab sets on the lo of each namespace it
// creates. A namespace without it is never netlab's, whatever its name.
func NodeMarker(lab, node string) string { return "netlab:" + lab + ":" + node }

// TempLinkPrefix starts the temporary name a link has between its creation
// and its marking (see kernel.LinkAdd). The prefix is reserved: inside a
// lab's namespaces, a link of that name is a leftover of an interrupted up.
const TempLinkPrefix = "nlnew"

// LinkMarker is the alias netlab sets on each link it creates: the lab and,
// for a veth, the peer end as NODE:IFNAME.
func LinkMarker(lab, peer string) string {
	if peer == "" {
		return "netlab:" + lab
	}
	return "netlab:" + lab + ":" + peer
}

// ParseLinkMarker reads a link alias; ok is false when it is not netlab's.
func ParseLinkMarker(alias string) (lab, peer string, ok bool) {
	rest, ok := strings.CutPrefix(alias, "netlab:")
	if !ok || rest == "" {
		return "", "", false
	}
	lab, peer, _ = strings.Cut(rest, ":")
	return lab, peer, lab != ""
}

// State is the kernel objects of one lab.
type State struct {
	Lab   string
	Nodes map[string]*Node
	// OrphanHosts are, in an observed state, the hosts files of nodes
	// the lab wants whose namespace does not exist, by node: left by an
	// interrupted down, or put there by someone else (Foreign).
	OrphanHosts map[string]*HostsFile `json:",omitempty"`
}

// New returns an empty state of a lab.
func New(lab string) *State { return &State{Lab: lab, Nodes: make(map[string]*Node)} }

// NodeNames returns the node names, sorted.
func (s *State) NodeNames() []string {
	names := make([]string, 0, len(s.Nodes))
	for n := range s.Nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Node is one namespace.
type Node struct {
	Name  string
	NetNS string // kernel namespace name
	Host  bool   // the machine's root namespace
	// Foreign is set in an observed state when a namespace of the lab's
	// name exists without netlab's marker: someone else's, never touched.
	Foreign bool
	Links   map[string]*Link
	Routes  []Route
	// Rules are the node's policy routing rules: desired, those of the
	// file; observed, every rule but the kernel's own defaults (see Rule).
	Rules   []Rule
	Sysctls map[string]string
	// NFT is the node's netlab nftables table, nil when it has none.
	NFT *NFTable
	// Procs are the node's processes, by name: desired, those the file
	// declares; observed, the running processes that carry the lab's
	// marker for this node (the first of each name, not its children).
	Procs map[string]*Process
	// Others are, in an observed state, the other processes running in
	// the namespace, started by hand (netlab exec ... &); Name is empty
	// and Argv is the command line /proc shows.
	Others []*Process
	// Hosts is the node's /etc/netns/LAB.NODE/hosts, nil when it has none
	// (a host: true node never has one).
	Hosts *HostsFile
	// TraceLeftover is set in an observed state when the namespace holds
	// a trace table (kernel.TraceTablePrefix) that no running trace owns:
	// left by a netlab trace that could not remove it. It is not the
	// lab's: plan never shows it as drift, and removes it (Plan).
	TraceLeftover bool
}

// NewNode returns an empty node.
func NewNode(name, netns string) *Node {
	return &Node{Name: name, NetNS: netns, Links: make(map[string]*Link), Sysctls: make(map[string]string), Procs: make(map[string]*Process)}
}

// LinkNames returns the node's link names, sorted.
func (n *Node) LinkNames() []string {
	names := make([]string, 0, len(n.Links))
	for l := range n.Links {
		names = append(names, l)
	}
	sort.Strings(names)
	return names
}

// Link is one network device.
//
// In a desired state, an empty MAC means "the kernel's choice" and is not
// compared; a zero MTU means the kernel's default, which DefaultMTU holds
// (see KindMTU) and which is compared. Index, Alias, Owned and Stats are
// observed only. Fields are omitted from JSON when zero: the last-applied
// record of a 1000-node star holds 2000 links, most of each zero.
type Link struct {
	Name   string      `json:",omitzero"`
	Kind   device.Kind `json:",omitzero"` // one of lab/device's, or any other kind the kernel reports
	Peer   string      `json:",omitzero"` // veth: the other end, NODE:IFNAME
	Master string      `json:",omitzero"`
	MTU    int         `json:",omitzero"`
	MAC    string      `json:",omitzero"`
	Up     bool        `json:",omitzero"`
	STP    bool        `json:",omitzero"` // bridge only
	// STPSettings are a bridge's timers and priority: desired when STP
	// is on, observed for every bridge.
	STPSettings *STPSettings `json:",omitzero"`
	// BridgePort are a bridge port's flags: desired for every interface with
	// a master, observed for every port of a bridge.
	BridgePort *PortFlags `json:",omitzero"`
	// PortState is, observed, a bridge port's STP state (PortStates).
	PortState string `json:",omitzero"`
	// Neighbors are the link's permanent neighbour entries: desired, the
	// file's; observed, those that carry RouteProtocol (netlab's).
	Neighbors []Neighbor     `json:",omitzero"`
	Addrs     []netip.Prefix `json:",omitzero"`
	Device                   // the settings of a macvlan, vxlan, tun or tap
	// Egress is the impairment of what the link sends: netlab's root
	// qdisc (EgressHandle), zero for none.
	Egress Impairment `json:",omitzero"`
	// OtherQdisc is, observed, a root qdisc netlab did not make ("tbf
	// 8001:"), or "": shown by status, never compared.
	OtherQdisc string `json:",omitzero"`

	Owned bool   `json:",omitzero"` // observed: carries this lab's marker
	Alias string `json:",omitzero"` // observed
	Index int    `json:",omitzero"` // observed ifindex
	// PeerIndex is a veth's peer ifindex (IFLA_LINK), observed; with the
	// marker it ties the two ends of a pair together.
	PeerIndex int      `json:",omitzero"`
	OperState string   `json:",omitzero"`
	Stats     Counters `json:",omitzero"`
	// Learned are the MAC addresses a bridge learned on this port, sorted
	// (observed only, for status: the bridge's forwarding database).
	Learned []string `json:",omitzero"`

	// DefaultMTU is, in a desired state, the MTU the kernel gives the link
	// when MTU is 0: netlab does not send it, but expects it (WantMTU).
	DefaultMTU int `json:",omitzero"`
}

// ToMachine reports whether the link is the vxlan of a link to another
// machine: its socket in the machine's own namespace (UnderlayNetNS),
// unicast to the other machine's address, Remote.
func (l *Link) ToMachine() bool {
	return l.Kind == device.VXLAN && l.UnderlayNetNS == HostNetNS && l.Remote.IsValid()
}

// Device holds the settings of the kinds beyond veth and bridge. Only the
// fields of the link's kind are set; the rest stay zero.
type Device struct {
	// MACVLAN. Parent is NODE:IFNAME; an observed link's claim (from its
	// marker) is cleared by ResolveParents when the kernel disagrees.
	Parent     string   `json:",omitzero"`
	Mode       string   `json:",omitzero"` // bridge, private, vepa, passthru or source
	SourceMACs []string `json:",omitzero"` // source mode: the senders it accepts, sorted
	// ParentNetNS is the namespace of the parent, where the macvlan is
	// made (desired only; the observer leaves it empty).
	ParentNetNS string `json:",omitzero"`
	// ParentIndex and ParentNetNSID are observed: IFLA_LINK and
	// IFLA_LINK_NETNSID (-1 when the parent is in the same namespace).
	ParentIndex   int `json:",omitzero"`
	ParentNetNSID int `json:",omitzero"`

	// VXLAN. Remote is the unicast peer, Group the multicast group; one is
	// set. Dev is the underlay interface of the same node, or "".
	VNI      uint32     `json:",omitzero"`
	Port     uint16     `json:",omitzero"`
	Remote   netip.Addr `json:",omitzero"`
	Group    netip.Addr `json:",omitzero"`
	Local    netip.Addr `json:",omitzero"`
	Dev      string     `json:",omitzero"`
	Learning bool       `json:",omitzero"`
	Proxy    bool       `json:",omitzero"`
	L2Miss   bool       `json:",omitzero"`
	L3Miss   bool       `json:",omitzero"`
	// UnderlayNetNS is, desired, the namespace a vxlan is made in and
	// keeps its UDP socket in when that is not the node's: HostNetNS, the
	// machine's own, for a link between two machines. Observed, it is
	// HostNetNS when the kernel reports the vxlan's socket in another
	// namespace than the device (IFLA_LINK_NETNSID), else "".
	UnderlayNetNS string `json:",omitzero"`
	// FDB are the static entries with a destination, sorted; the
	// kernel's own for Remote or Group (KernelFDB) among them.
	FDB []FDBEntry `json:",omitzero"`

	// VLAN: the parent, an interface of the same node, and the 802.1Q id.
	VLANParent string `json:",omitzero"`
	VLANID     uint16 `json:",omitzero"`

	// tun and tap: the user and group allowed to attach (TUNSETOWNER,
	// TUNSETGROUP), nil when not set. 0 is an owner like any other: root.
	// With neither set the kernel lets any process that can open
	// /dev/net/tun in the namespace attach (see docs/lab-format.md).
	TunOwner *uint32 `json:",omitzero"`
	TunGroup *uint32 `json:",omitzero"`
}

// IDText writes a tun or tap owner or group: the number, or (none).
func IDText(id *uint32) string {
	if id == nil {
		return "(none)"
	}
	return fmt.Sprint(*id)
}

// FDBEntry is a static forwarding entry of a VXLAN.
type FDBEntry struct {
	MAC string
	Dst netip.Addr
}

func (e FDBEntry) String() string { return e.MAC + " dst " + e.Dst.String() }

// SortFDB orders forwarding entries for stable output and comparison.
func SortFDB(es []FDBEntry) {
	slices.SortFunc(es, func(a, b FDBEntry) int {
		if c := strings.Compare(a.MAC, b.MAC); c != 0 {
			return c
		}
		return a.Dst.Compare(b.Dst)
	})
}

// ResolveParents checks each macvlan's claimed parent (from its marker)
// against the kernel: the parent's ifindex, and whether it lies in the
// same namespace. A claim that does not hold is cleared, so a macvlan
// whose parent was replaced shows as needing a replacement.
func ResolveParents(s *State) {
	for _, nodeName := range s.NodeNames() {
		for _, l := range s.Nodes[nodeName].Links {
			if l.Kind != device.MACVLAN || l.Parent == "" {
				continue
			}
			pn, pi, ok := strings.Cut(l.Parent, ":")
			parentNode := s.Nodes[pn]
			if !ok || parentNode == nil {
				l.Parent = ""
				continue
			}
			p := parentNode.Links[pi]
			sameNS := pn == nodeName
			if p == nil || p.Index != l.ParentIndex || sameNS != (l.ParentNetNSID < 0) {
				l.Parent = ""
			}
		}
	}
}

// Counters are a link's packet counters.
type Counters struct {
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxDropped uint64 `json:"rx_dropped"`
	TxDropped uint64 `json:"tx_dropped"`
	RxErrors  uint64 `json:"rx_errors"`
	TxErrors  uint64 `json:"tx_errors"`
}

// Route is a route of a routing table. Its identity is (To, Metric,
// Table).
type Route struct {
	To     netip.Prefix
	Via    netip.Addr
	Dev    string
	Metric uint32
	// Table is the routing table, 0 for main (254): a route of main is
	// always written with 0, so that main's keys and texts stay as they
	// were before tables.
	Table uint32
	Owned bool // observed: carries RouteProtocol
}

// Key is a route's identity within a node.
func (r Route) Key() string {
	if r.Table != 0 {
		return fmt.Sprintf("%s metric %d table %d", r.To, r.Metric, r.Table)
	}
	return fmt.Sprintf("%s metric %d", r.To, r.Metric)
}

// SortAddrs orders a link's addresses for stable output and comparison.
func SortAddrs(addrs []netip.Prefix) {
	slices.SortFunc(addrs, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
}

// SortRoutes orders routes by destination then metric.
func SortRoutes(rs []Route) {
	slices.SortFunc(rs, func(a, b Route) int {
		if c := a.To.Addr().Compare(b.To.Addr()); c != 0 {
			return c
		}
		if a.To.Bits() != b.To.Bits() {
			return a.To.Bits() - b.To.Bits()
		}
		if a.Metric != b.Metric {
			return int(a.Metric) - int(b.Metric)
		}
		return cmp.Compare(a.Table, b.Table)
	})
}

// ResolvePeers checks each veth's claimed peer (from its marker) against
// the kernel's view: the two ends must name each other and each must point
// at the other's ifindex. A claim that does not hold is cleared, so a
// pair re-wired by hand shows as broken rather than as the lab's.
func ResolvePeers(s *State) {
	for _, nodeName := range s.NodeNames() {
		n := s.Nodes[nodeName]
		for _, l := range n.Links {
			if l.Kind != device.Veth || l.Peer == "" {
				continue
			}
			if !peerHolds(s, nodeName, l) {
				l.Peer = ""
			}
		}
	}
}

func peerHolds(s *State, nodeName string, l *Link) bool {
	pn, pi, ok := strings.Cut(l.Peer, ":")
	if !ok {
		return false
	}
	peerNode := s.Nodes[pn]
	if peerNode == nil {
		return false
	}
	p := peerNode.Links[pi]
	if p == nil || p.Kind != device.Veth || !p.Owned {
		return false
	}
	backRef := nodeName + ":" + l.Name
	return (p.Peer == backRef || p.Peer == "") && p.Index == l.PeerIndex && p.PeerIndex == l.Index
}
