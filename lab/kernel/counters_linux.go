package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"

	"netlab/lab/state"
)

// LinkCounters reads each namespace's links in one dump over the netlink
// socket of its open handle (conn), kept between calls: after the first
// call, a namespace costs a stat of its file (is it still the one mounted
// there?) and one dump.
func (k *Linux) LinkCounters(ctx context.Context, netns []string) (map[string][]LinkCounters, error) {
	out := make(map[string][]LinkCounters, len(netns))
	for _, name := range netns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := k.conn(name)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		links, err := retryDump("list links", c.h.LinkList)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
		ls := make([]LinkCounters, 0, len(links))
		for _, nl := range links {
			a := nl.Attrs()
			ls = append(ls, LinkCounters{
				Index: a.Index, Name: a.Name, MasterIndex: a.MasterIndex, MTU: a.MTU,
				Up: a.Flags&net.FlagUp != 0, OperState: a.OperState.String(), Stats: counters(a.Statistics),
			})
		}
		out[name] = ls
	}
	return out, nil
}

// gone reports whether err, of conn, says the namespace is not (or no
// longer) there: missing, or an empty mount point down left for a moment.
func gone(err error) bool {
	return err != nil && (errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotNetNS))
}

// counters is a link's counters as state keeps them.
func counters(st *netlink.LinkStatistics) state.Counters {
	if st == nil {
		return state.Counters{}
	}
	return state.Counters{
		RxPackets: st.RxPackets, TxPackets: st.TxPackets, RxBytes: st.RxBytes, TxBytes: st.TxBytes,
		RxDropped: st.RxDropped, TxDropped: st.TxDropped, RxErrors: st.RxErrors, TxErrors: st.TxErrors,
	}
}

// RuleCounters reads, in each namespace that has netlab's table, its
// chains and then each chain's rules, keeping only their tags and
// counters.
func (k *Linux) RuleCounters(ctx context.Context, netns []string) (map[string][]RuleCounter, error) {
	out := make(map[string][]RuleCounter, len(netns))
	for _, name := range netns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := k.conn(name)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rs, ok, err := ruleCounters(c)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
		if ok {
			out[name] = rs
		}
	}
	return out, nil
}

// ruleCounters reads the counters of the rules of netlab's table in the
// namespace of c; ok is false when it has no such table.
func ruleCounters(c *nsConn) (rs []RuleCounter, ok bool, err error) {
	conn, err := nftConn(c)
	if err != nil {
		return nil, false, err
	}
	if ok, err := hasNFTable(conn); err != nil || !ok {
		return nil, false, err
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, false, fmt.Errorf("nftables: list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != state.NFTableName {
			continue
		}
		rules, err := conn.GetRules(nftTable(), ch)
		if err != nil {
			return nil, false, fmt.Errorf("nftables: chain %s: list rules: %w", ch.Name, err)
		}
		for _, r := range rules {
			rc := RuleCounter{Chain: ch.Name}
			rc.Tag, _ = userdata.GetString(r.UserData, userdata.TypeComment)
			rc.Packets, rc.Bytes = ruleCounter(r)
			rs = append(rs, rc)
		}
	}
	return rs, true, nil
}

// ruleCounter is the value of a rule's counter expression.
func ruleCounter(r *nftables.Rule) (packets, bytes uint64) {
	for _, e := range r.Exprs {
		if ctr, ok := e.(*expr.Counter); ok {
			packets, bytes = ctr.Packets, ctr.Bytes
		}
	}
	return packets, bytes
}
