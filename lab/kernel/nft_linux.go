package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// nft opens an nftables connection inside a namespace (pure netlink: no
// nft binary).
func nftConn(c *nsConn) (*nftables.Conn, error) {
	conn, err := nftables.New(nftables.WithNetNSFd(int(c.fd)))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return conn, nil
}

func nftTable() *nftables.Table {
	return &nftables.Table{Name: state.NFTableName, Family: nftables.TableFamilyINet}
}

// NFTableSet replaces the node's netlab table with t in one atomic
// transaction: the old table is deleted and the new one built in the same
// batch, so a rule the kernel refuses leaves the old rules in place. A nil
// t deletes the table.
// Equivalent to: ip netns exec NETNS nft -f SCRIPT
func (k *Linux) NFTableSet(ctx context.Context, netnsName string, t *state.NFTable) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "NFTableSet"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	conn, err := nftConn(c)
	if err != nil {
		return err
	}
	exists, err := hasNFTable(conn)
	if err != nil {
		return err
	}
	if exists {
		conn.DelTable(nftTable())
	}
	if _, err := conn.ListTableOfFamily(probeTable, nftables.TableFamilyINet); err == nil {
		conn.DelTable(&nftables.Table{Name: probeTable, Family: nftables.TableFamilyINet})
		exists = true // there is something to flush
	}
	if t != nil {
		table := conn.AddTable(nftTable())
		for _, ch := range t.Chains {
			chain := conn.AddChain(nftChain(table, ch))
			for _, r := range ch.Rules {
				if err := addRule(conn, chain, r, ch.Hook, userdata.AppendString(nil, userdata.TypeComment, r.Tag)); err != nil {
					return fmt.Errorf("chain %s: rule %q: %w", ch.Name, r.Text(), err)
				}
			}
		}
	}
	if !exists && t == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := conn.Flush(); err != nil {
		if culprit := refusedRule(ctx, c, t); culprit != "" {
			return fmt.Errorf("nftables: the kernel refused %s, so no rule was changed: %w", culprit, err)
		}
		return fmt.Errorf("nftables transaction: %w", err)
	}
	return nil
}

// addRule adds a rule to chain, in the same batch as the anonymous set its
// protocol match looks up, if it has one.
func addRule(conn *nftables.Conn, chain *nftables.Chain, r *state.NFRule, hook string, userData []byte) error {
	exprs, err := ruleExprs(r, hook)
	if err != nil {
		return err
	}
	for _, e := range exprs {
		if l, ok := e.(*expr.Lookup); ok {
			set := &nftables.Set{Table: chain.Table, Anonymous: true, Constant: true, KeyType: nftables.TypeInetProto}
			if err := conn.AddSet(set, l4protoElements(r)); err != nil {
				return fmt.Errorf("set of protocols: %w", err)
			}
			l.SetName, l.SetID = set.Name, set.ID
		}
	}
	conn.AddRule(&nftables.Rule{Table: chain.Table, Chain: chain, Exprs: exprs, UserData: userData})
	return nil
}

// l4protoNumbers are the protocols a rule may match, by nft's names.
var l4protoNumbers = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "icmp": unix.IPPROTO_ICMP, "ipv6-icmp": unix.IPPROTO_ICMPV6}

// l4protoElements are the elements of the anonymous set a rule matching
// several protocols looks its packet's protocol up in, as nft makes it.
func l4protoElements(r *state.NFRule) []nftables.SetElement {
	var out []nftables.SetElement
	for _, p := range r.L4Protos() {
		out = append(out, nftables.SetElement{Key: []byte{l4protoNumbers[p]}})
	}
	return out
}

// probeTable is a scratch table for finding which rule the kernel refuses.
const probeTable = "netlab_probe"

// refusedRule finds the first chain or rule of t that the kernel refuses,
// by trying each alone in a scratch table, deleted right after. The kernel
// checks a rule against its chain only when the transaction commits, so
// the scratch table must be committed; an accept rule in front of the
// probed one keeps every packet away from it. A scratch table left by a
// netlab killed in between is removed by the next NFTableSet.
func refusedRule(ctx context.Context, c *nsConn, t *state.NFTable) string {
	if t == nil {
		return ""
	}
	try := func(ch *state.NFChain, r *state.NFRule) error {
		conn, err := nftConn(c)
		if err != nil {
			return nil
		}
		table := conn.AddTable(&nftables.Table{Name: probeTable, Family: nftables.TableFamilyINet})
		probe := *ch
		probe.Policy = "accept"
		chain := conn.AddChain(nftChain(table, &probe))
		// An unconditional accept first: the kernel still checks the
		// probed rule, but no packet ever reaches it.
		conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
		if r != nil {
			if err := addRule(conn, chain, r, ch.Hook, nil); err != nil {
				return err
			}
		}
		err = conn.Flush()
		conn.DelTable(table)
		if derr := conn.Flush(); err == nil && derr != nil && !errors.Is(derr, unix.ENOENT) {
			return derr
		}
		return err
	}
	for _, ch := range t.Chains {
		if ctx.Err() != nil {
			return "" // the search is only for a better message
		}
		if err := try(ch, nil); err != nil {
			return fmt.Sprintf("chain %s (%s hook %s priority %d)", ch.Name, ch.Type, ch.Hook, ch.Priority)
		}
		for _, r := range ch.Rules {
			if ctx.Err() != nil {
				return ""
			}
			if err := try(ch, r); err != nil {
				where := ""
				if r.Origin != "" {
					where = r.Origin + ": "
				}
				return fmt.Sprintf("%srule %q in chain %s", where, r.Text(), ch.Name)
			}
		}
	}
	return ""
}

// ObserveNFT reads the netlab table of a namespace by name, or nil when
// it has none. Rules whose tags are in want are checked against it, as
// Observe does.
func ObserveNFT(netnsName string, want *state.NFTable) (*state.NFTable, error) {
	k := NewLinux()
	defer k.Close()
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, err
	}
	conn, err := nftConn(c)
	if err != nil {
		return nil, err
	}
	if ok, err := hasNFTable(conn); err != nil || !ok {
		return nil, err
	}
	return readNFTable(conn, want)
}

func hasNFTable(conn *nftables.Conn) (bool, error) {
	_, err := conn.ListTableOfFamily(state.NFTableName, nftables.TableFamilyINet)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return false, fmt.Errorf("nftables: list table: %w", err)
}

var hooks = map[string]*nftables.ChainHook{
	"prerouting":  nftables.ChainHookPrerouting,
	"input":       nftables.ChainHookInput,
	"forward":     nftables.ChainHookForward,
	"output":      nftables.ChainHookOutput,
	"postrouting": nftables.ChainHookPostrouting,
}

func nftChain(t *nftables.Table, c *state.NFChain) *nftables.Chain {
	policy := nftables.ChainPolicyAccept
	if c.Policy == "drop" {
		policy = nftables.ChainPolicyDrop
	}
	typ := nftables.ChainTypeFilter
	if c.Type == "nat" {
		typ = nftables.ChainTypeNAT
	}
	return &nftables.Chain{Name: c.Name, Table: t, Hooknum: hooks[c.Hook],
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(c.Priority)), Type: typ, Policy: &policy}
}

// readNFTable reads the node's netlab table, which exists. A rule whose
// tag names a rule of want is also compared, expression by expression,
// with what netlab compiles for that rule: one edited by hand that kept
// its comment is marked Modified, so the diff sees it.
func readNFTable(conn *nftables.Conn, want *state.NFTable) (*state.NFTable, error) {
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("nftables: list chains: %w", err)
	}
	wanted := make(map[string]*state.NFRule)
	hookOf := make(map[string]string)
	if want != nil {
		for _, ch := range want.Chains {
			for _, r := range ch.Rules {
				wanted[ch.Name+" "+r.Tag] = r
				hookOf[ch.Name] = ch.Hook
			}
		}
	}
	// setKeys reads the keys of a set of the table, which a rule looks up.
	setKeys := func(name string) ([][]byte, error) {
		set, err := conn.GetSetByName(nftTable(), name)
		if err != nil {
			return nil, err
		}
		elems, err := conn.GetSetElements(set)
		if err != nil {
			return nil, err
		}
		var keys [][]byte
		for _, e := range elems {
			keys = append(keys, e.Key)
		}
		return keys, nil
	}
	t := &state.NFTable{}
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != state.NFTableName {
			continue
		}
		sc := &state.NFChain{Name: ch.Name, Type: string(ch.Type), Policy: "accept"}
		if ch.Hooknum != nil {
			for name, h := range hooks {
				if *h == *ch.Hooknum {
					sc.Hook = name
				}
			}
		}
		if ch.Priority != nil {
			sc.Priority = int(*ch.Priority)
		}
		if ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
			sc.Policy = "drop"
		}
		rules, err := conn.GetRules(nftTable(), ch)
		if err != nil {
			return nil, fmt.Errorf("nftables: chain %s: list rules: %w", ch.Name, err)
		}
		for _, r := range rules {
			sr := &state.NFRule{}
			sr.Tag, _ = userdata.GetString(r.UserData, userdata.TypeComment)
			sr.Packets, sr.Bytes = ruleCounter(r)
			if def, ok := wanted[ch.Name+" "+sr.Tag]; ok {
				sr.Modified = !sameExprs(r.Exprs, def, hookOf[ch.Name], setKeys)
			}
			sc.Rules = append(sc.Rules, sr)
		}
		t.Chains = append(t.Chains, sc)
	}
	state.SortChains(t.Chains)
	return t, nil
}

// sameExprs reports whether a rule read from the kernel is the one netlab
// compiles for def, counter values aside. A set the rule looks up is
// compared by its keys, read with setKeys: the kernel names an anonymous
// set itself.
func sameExprs(got []expr.Any, def *state.NFRule, hook string, setKeys func(name string) ([][]byte, error)) bool {
	want, err := ruleExprs(def, hook)
	if err != nil || len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if _, ok := g.(*expr.Counter); ok {
			g = &expr.Counter{}
		}
		if _, ok := w.(*expr.Lookup); ok {
			l, ok := g.(*expr.Lookup)
			if !ok || l.SourceRegister != 1 || l.IsDestRegSet || l.Invert {
				return false
			}
			keys, err := setKeys(l.SetName)
			if err != nil || !sameKeys(keys, l4protoElements(def)) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(g, asDumped(w)) {
			return false
		}
	}
	return true
}

// sameKeys reports whether a set holds exactly the keys of want, in any
// order.
func sameKeys(keys [][]byte, want []nftables.SetElement) bool {
	if len(keys) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, w.Key) }) {
			return false
		}
	}
	return true
}

// asDumped is an expression as the kernel dumps it back after taking it:
// it fills in the defaults netlab leaves out (a range's upper register is
// its lower one, a port given marks the range as specified, log has level
// warning).
func asDumped(e expr.Any) expr.Any {
	switch e := e.(type) {
	case *expr.NAT:
		d := *e
		if d.RegAddrMin != 0 && d.RegAddrMax == 0 {
			d.RegAddrMax = d.RegAddrMin
		}
		if d.RegProtoMin != 0 {
			if d.RegProtoMax == 0 {
				d.RegProtoMax = d.RegProtoMin
			}
			d.Specified = true
		}
		return &d
	case *expr.Redir:
		d := *e
		if d.RegisterProtoMin != 0 {
			if d.RegisterProtoMax == 0 {
				d.RegisterProtoMax = d.RegisterProtoMin
			}
			d.Flags |= 0x2 // NF_NAT_RANGE_PROTO_SPECIFIED
		}
		return &d
	case *expr.Log:
		d := *e
		if d.Key&(1<<unix.NFTA_LOG_GROUP) == 0 && d.Key&(1<<unix.NFTA_LOG_LEVEL) == 0 {
			d.Key |= 1 << unix.NFTA_LOG_LEVEL
			d.Level = expr.LogLevelWarning
		}
		return &d
	}
	return e
}

// ruleExprs compiles a rule into nftables expressions, in the order and
// form nft itself produces for the rule's text in an inet table, so that
// `nft list table` shows the rule as netlab's plan printed it.
func ruleExprs(r *state.NFRule, hook string) ([]expr.Any, error) {
	var out []expr.Any
	cmpEq := func(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }
	// A rule with an address matches its family first: nft adds the
	// check in front of an address match by itself, and Text writes it
	// ("meta nfproto") for a rule that only translates to an address.
	fam := r.Family()
	if fam != "" {
		nfproto := byte(unix.NFPROTO_IPV4)
		if fam == "ip6" {
			nfproto = unix.NFPROTO_IPV6
		}
		out = append(out, &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, cmpEq([]byte{nfproto}))
	}
	addrMatch := func(p netip.Prefix, src bool) {
		off, size := uint32(16), uint32(4)
		if p.Addr().Is6() {
			off, size = 24, 16
		}
		if src {
			off -= size
		}
		network := p.Masked().Addr().AsSlice()
		switch {
		case p.Bits()%8 == 0:
			// A whole number of bytes: nft loads just those and compares.
			n := uint32(p.Bits() / 8)
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
				cmpEq(network[:n]))
		default:
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: prefixMask(p), Xor: make([]byte, size)},
				cmpEq(network))
		}
	}
	if r.Source.IsValid() {
		addrMatch(r.Source, true)
	}
	if r.Destination.IsValid() {
		addrMatch(r.Destination, false)
	}
	if r.LocalDst {
		out = append(out, &expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			cmpEq(binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)))
	}
	if r.In != "" {
		out = append(out, &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, cmpEq(ifname(r.In)))
	}
	if r.Out != "" {
		out = append(out, &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmpEq(ifname(r.Out)))
	}
	if r.Proto != "" {
		out = append(out, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1})
		if protos := r.L4Protos(); len(protos) == 1 {
			out = append(out, cmpEq([]byte{l4protoNumbers[protos[0]]}))
		} else {
			// The set itself, l4protoElements, is added with the rule.
			out = append(out, &expr.Lookup{SourceRegister: 1})
		}
		if r.DPort != 0 {
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				cmpEq(binary.BigEndian.AppendUint16(nil, r.DPort)))
		}
	}
	if len(r.State) > 0 {
		var bits uint32
		for _, s := range r.State {
			bits |= ctStateBits[s]
		}
		out = append(out, &expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
	}
	if r.RandomMod > 0 {
		out = append(out, &expr.Numgen{Register: 1, Modulus: r.RandomMod, Type: unix.NFT_NG_RANDOM},
			cmpEq(make([]byte, 4)))
	}
	out = append(out, &expr.Counter{})
	switch r.Action {
	case "accept":
		out = append(out, &expr.Verdict{Kind: expr.VerdictAccept})
	case "drop":
		out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
	case "reject":
		// As nft does: an ICMP of the family the rule matched, or
		// ICMPX (either family) when it matched no address.
		switch {
		case (r.Source.IsValid() || r.Destination.IsValid()) && fam == "ip6":
			out = append(out, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 4}) // ICMPV6_PORT_UNREACH
		case r.Source.IsValid() || r.Destination.IsValid():
			out = append(out, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}) // ICMP_PORT_UNREACH
		default:
			out = append(out, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH})
		}
	case "log":
		l := &expr.Log{}
		if r.LogPrefix != "" {
			l.Key = 1 << unix.NFTA_LOG_PREFIX
			l.Data = []byte(r.LogPrefix)
		}
		out = append(out, l)
	case "count":
	case "masquerade":
		out = append(out, &expr.Masq{})
	case "snat", "dnat":
		n := &expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1}
		if r.Action == "dnat" {
			n.Type = expr.NATTypeDestNAT
		}
		if r.ToAddr.Is6() {
			n.Family = unix.NFPROTO_IPV6
		}
		out = append(out, &expr.Immediate{Register: 1, Data: r.ToAddr.AsSlice()})
		if r.ToPort != 0 {
			out = append(out, &expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, r.ToPort)})
			n.RegProtoMin = 2
		}
		out = append(out, n)
	case "redirect":
		out = append(out, &expr.Immediate{Register: 1, Data: binary.BigEndian.AppendUint16(nil, r.ToPort)},
			&expr.Redir{RegisterProtoMin: 1})
	default:
		return nil, fmt.Errorf("unknown action %q", r.Action)
	}
	return out, nil
}

// conntrack state bits (NF_CT_STATE_*_BIT).
var ctStateBits = map[string]uint32{"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}

// ifname is an interface name as nft compares it: padded with NULs to
// IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

func prefixMask(p netip.Prefix) []byte {
	n := p.Addr().BitLen() / 8
	mask := make([]byte, n)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return mask
}
