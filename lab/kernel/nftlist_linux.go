package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// nftTableSummary is what Observe needs of a namespace's nftables tables
// before it reads any: whether netlab's own is there, and whether a
// trace table no live socket owns is (what the next plan sweeps).
type nftTableSummary struct {
	netlab, traceLeftover bool
}

// nftTablesHere lists the calling thread's namespace's tables in one
// dump over a socket of its own: most nodes have none of netlab's, and
// for those Observe needs no nftables connection (whose dial, with its
// poller registration and random source, cost more than the dump).
// Equivalent to: ip netns exec NETNS nft list tables
func nftTablesHere() (nftTableSummary, error) {
	var sum nftTableSummary
	req := nl.NewNetlinkRequest(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETTABLE, unix.NLM_F_DUMP)
	req.AddData(familyMsg{unix.AF_UNSPEC}) // nfgenmsg
	msgs, err := req.Execute(unix.NETLINK_NETFILTER, 0)
	if err != nil {
		return sum, fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, m := range msgs {
		if len(m) < 4 {
			continue
		}
		family := m[0] // nfgenmsg's
		attrs, err := nl.ParseRouteAttr(m[4:])
		if err != nil {
			return sum, fmt.Errorf("nftables: list tables: %w", err)
		}
		var name string
		var flags uint32
		for _, a := range attrs {
			switch a.Attr.Type &^ unix.NLA_F_NESTED {
			case unix.NFTA_TABLE_NAME:
				name = string(bytes.TrimRight(a.Value, "\x00"))
			case unix.NFTA_TABLE_FLAGS:
				if len(a.Value) == 4 {
					flags = binary.BigEndian.Uint32(a.Value)
				}
			}
		}
		sum.note(name, nftables.TableFamily(family), flags&nftTableFOwner != 0)
	}
	return sum, nil
}

// note counts a table of the namespace, owned when a live socket holds
// it (NFT_TABLE_F_OWNER).
func (s *nftTableSummary) note(name string, family nftables.TableFamily, owned bool) {
	switch {
	case name == state.NFTableName && family == nftables.TableFamilyINet:
		s.netlab = true
	case isTraceTable(name) && !owned:
		s.traceLeftover = true
	}
}
